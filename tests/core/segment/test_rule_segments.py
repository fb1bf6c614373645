"""Rule-based segments on a hand-built feature table (memberships checked by eye)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.segment.rule_segments import Condition, SegmentRule, bucket_presets, evaluate, presets

FEATURES = pd.DataFrame(
    {"sessions": [12, 2, 5, 30], "purchases": [0, 1, 7, 2],
     "days_since_last_event": [0.5, 10.0, 1.5, 4.0], "rfm_segment": ["Champions", "Lost",
                                                                    "At risk", "Champions"],
     "aov": [np.nan, 20.0, 30.0, 40.0]},
    index=pd.Index(["a", "b", "c", "d"], name="user_id"))


def members(rule: SegmentRule) -> list[str]:
    mask = rule.mask(FEATURES)
    return list(mask[mask].index)


def test_operators():
    assert members(SegmentRule("x", (Condition("sessions", ">", 10),))) == ["a", "d"]
    assert members(SegmentRule("x", (Condition("sessions", "<=", 5),))) == ["b", "c"]
    assert members(SegmentRule("x", (Condition("sessions", "between", 5, 12),))) == ["a", "c"]
    assert members(SegmentRule("x", (Condition("rfm_segment", "==", "Champions"),))) == [
        "a", "d"]
    assert members(SegmentRule("x", (Condition("rfm_segment", "!=", "Champions"),))) == [
        "b", "c"]
    # Missing values never match, not even "< anything".
    assert members(SegmentRule("x", (Condition("aov", "<", 100),))) == ["b", "c", "d"]


def test_and_or_not():
    busy, buyer = Condition("sessions", ">", 4), Condition("purchases", ">=", 2)
    assert members(SegmentRule("x", (busy, buyer))) == ["c", "d"]
    assert members(SegmentRule("x", (busy, buyer), combine="or")) == ["a", "c", "d"]
    assert members(SegmentRule("x", (busy, buyer), negate=True)) == ["a", "b"]
    assert SegmentRule("x", (busy, buyer), negate=True).text() == \
        "NOT (sessions > 4 AND purchases >= 2)"


def test_exclusive_by_priority_and_overlap():
    busy = SegmentRule("Busy", (Condition("sessions", ">", 4),), priority=1)
    buyers = SegmentRule("Buyers", (Condition("purchases", ">=", 2),), priority=5)
    overlapping = evaluate(FEATURES, [busy, buyers])
    assert overlapping.sizes().to_dict() == {"Busy": 3, "Buyers": 2}
    assert overlapping.overlap().loc["Busy", "Buyers"] == 2  # c and d
    exclusive = evaluate(FEATURES, [busy, buyers], exclusive=True)
    # c and d match both: Buyers wins on priority; a is Busy only; b matches nothing.
    assert exclusive.exclusive.to_dict() == {"a": "Busy", "b": "Unsegmented",
                                             "c": "Buyers", "d": "Buyers"}


def test_small_segments_warned_and_bad_rules_refused():
    rare = SegmentRule("Rare", (Condition("sessions", ">", 25),))
    result = evaluate(FEATURES, [rare], small_share=0.3)
    assert result.warnings and "'Rare' holds 1 users (25.0%)" in result.warnings[0]
    with pytest.raises(ConfigError, match="Unknown feature 'nope'"):
        SegmentRule("x", (Condition("nope", ">", 1),)).mask(FEATURES)
    with pytest.raises(ConfigError, match="text: compare it with == or !="):
        SegmentRule("x", (Condition("rfm_segment", ">", 1),)).mask(FEATURES)
    with pytest.raises(ConfigError, match="upper bound"):
        SegmentRule("x", (Condition("sessions", "between", 5, 1),)).mask(FEATURES)
    with pytest.raises(ConfigError, match="unique name"):
        evaluate(FEATURES, [rare, rare])
    with pytest.raises(ConfigError, match="damaged"):
        SegmentRule.from_dict({"name": "x"})


def test_round_trip_and_presets():
    rule = SegmentRule("Busy buyers", (Condition("sessions", ">", 4),
                                       Condition("purchases", "between", 1, 5)),
                       combine="or", priority=3)
    assert SegmentRule.from_dict(rule.to_dict()) == rule
    # The others need features this table lacks (cart rates, session lengths...);
    # frequent buyers count purchases over a window of the event log, or, without one,
    # need purchases_per_30_days.
    assert [r.name for r in presets(FEATURES)] == ["High engagement", "Frequent buyers",
                                                   "At risk"]
    assert [r.name for r in presets(FEATURES, windows=False)] == ["High engagement", "At risk"]
    buckets = evaluate(FEATURES.assign(sessions_per_week=[1.0, 6, 16, 5]),
                       bucket_presets(FEATURES.assign(sessions_per_week=1.0)))
    assert buckets.sizes()["Sessions/week 5-15"] == 2  # 6 and 5 (bounds included)
    assert buckets.sizes()["Active > 72 h ago"] == 2  # b (10 d) and d (4 d)


def test_rule_from_edited_rows():
    from core.segment.rule_segments import rule_from_rows

    rows = [{"feature": "sessions", "operator": ">", "value": "4", "upper": None},
            {"feature": None, "operator": None, "value": "", "upper": None},  # blank row
            {"feature": "rfm_segment", "operator": "==", "value": "Champions",
             "upper": float("nan")}]
    rule = rule_from_rows("Busy champions", rows, priority=2)
    assert rule.conditions[0].value == 4.0 and rule.conditions[1].value == "Champions"
    assert members(rule) == ["a", "d"]
    with pytest.raises(ConfigError, match="Condition 1 is incomplete"):
        rule_from_rows("x", [{"feature": "sessions", "operator": ">", "value": ""}])
    with pytest.raises(ConfigError, match="at least one condition"):
        rule_from_rows("x", [])
    with pytest.raises(ConfigError, match="name"):
        rule_from_rows(" ", rows)
