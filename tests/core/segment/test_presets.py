"""Presets against this data's distribution: shares that say nothing are flagged and the
percentile-based version is the data's own quantiles (checked with numpy.quantile)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.segment.rule_segments import (
    BROAD_PRESET_SHARE,
    Condition,
    SegmentRule,
    check_bucket_table,
    check_preset,
    default_operator,
    draft_rule,
    percentile_buckets,
    percentile_rule,
    percentile_threshold,
    preset_checks,
    readable,
)

RNG = np.random.default_rng(7)
N = 2_000
FEATURES = pd.DataFrame({
    "revenue": RNG.lognormal(3, 1, N),                   # continuous
    "purchases": RNG.poisson(1.2, N),                    # whole numbers, many ties
    "sessions": RNG.poisson(6, N) + 1,
    "days_since_last_event": RNG.exponential(12, N),
    "sessions_per_week": RNG.gamma(2, 0.6, N),
    "purchases_per_30_days": RNG.gamma(1, 0.5, N),
    "rfm_segment": RNG.choice(["Champions", "Lost"], N),
}, index=pd.Index([f"u{i}" for i in range(N)], name="user_id"))


def share(rule: SegmentRule) -> float:
    return float(rule.mask(FEATURES).mean())


def test_percentile_threshold_is_numpys_quantile():
    revenue = FEATURES["revenue"]
    assert percentile_threshold(revenue, 0.10) == np.quantile(revenue, 0.90)
    assert percentile_threshold(revenue, 0.25, "bottom") == np.quantile(revenue, 0.25)
    # Missing values are not users with a value: the quantile is of the known ones.
    gappy = revenue.where(revenue.index.str.endswith("7"))
    assert percentile_threshold(gappy, 0.10) == np.quantile(gappy.dropna(), 0.90)
    # A count is cut at a whole number that selects the same users.
    purchases = FEATURES["purchases"]
    assert percentile_threshold(purchases, 0.10) == np.ceil(np.quantile(purchases, 0.90))
    assert percentile_threshold(purchases, 0.3, "bottom") == np.floor(
        np.quantile(purchases, 0.3))
    with pytest.raises(ConfigError, match="no values"):
        percentile_threshold(pd.Series([np.nan, np.nan], name="x"), 0.1)


def test_a_preset_matching_no_one_is_flagged_with_the_top_ten_percent():
    heavy = SegmentRule("Heavy buyers", (Condition("revenue", ">=", 1e9),))
    check = check_preset(heavy, FEATURES)
    assert check.shares == (0.0,) and check.flagged == ("Heavy buyers",)
    assert check.message() == ("'Heavy buyers' (revenue >= 1e+09) matches 0 % of users "
                               "in this data.")
    (better,) = check.suggestion
    (condition,) = better.conditions
    assert condition.operator == ">="
    assert condition.value == readable(np.quantile(FEATURES["revenue"], 0.90))
    assert better.name == "Heavy buyers"
    assert check.suggestion_shares[0] == pytest.approx(0.10, abs=0.005)
    assert check.offer().startswith("top 10 %: revenue >= ")


def test_a_preset_matching_most_users_is_flagged_and_a_fitting_one_is_not():
    broad = SegmentRule("Anyone", (Condition("sessions", ">", 3),))
    assert share(broad) > BROAD_PRESET_SHARE
    check = check_preset(broad, FEATURES)
    assert check.flagged == ("Anyone",)
    assert f"matches {share(broad) * 100:.0f} % of users" in check.message()
    (condition,) = check.suggestion[0].conditions
    # sessions >= p90, or > p90 where the tie at p90 overshoots 10 % by more.
    assert condition.value == np.ceil(np.quantile(FEATURES["sessions"], 0.90))
    assert condition.operator in (">=", ">")
    fitting = SegmentRule("Some", (Condition("revenue", ">", float(
        np.quantile(FEATURES["revenue"], 0.8))),))
    assert check_preset(fitting, FEATURES).flagged == ()
    assert check_preset(fitting, FEATURES).message() is None


def test_below_becomes_the_bottom_share():
    recent = SegmentRule("Recent", (Condition("days_since_last_event", "<", -1),))
    check = check_preset(recent, FEATURES)
    (condition,) = check.suggestion[0].conditions
    assert condition.operator == "<="
    assert condition.value == readable(np.quantile(FEATURES["days_since_last_event"], 0.10))
    assert check.suggestion_kind == "bottom 10 %"


def test_ties_take_the_strict_operator_when_it_comes_closer():
    # 95 % of users have no coupon: the 90th percentile is 0 and ">= 0" is everyone.
    coupons = pd.DataFrame({"coupons": [0] * 95 + [1, 2, 3, 4, 5]})
    rule = SegmentRule("Coupon users", (Condition("coupons", ">", 50),))
    (condition,) = percentile_rule(rule, coupons).conditions
    assert (condition.operator, condition.value) == (">", 0)


def test_several_conditions_move_together():
    at_risk = SegmentRule("At risk", (Condition("sessions", ">", 0),
                                      Condition("days_since_last_event", ">", 0),
                                      Condition("rfm_segment", "==", "Champions")))
    better = percentile_rule(at_risk, FEATURES)
    assert share(better) == pytest.approx(0.10, abs=0.02)
    assert better.conditions[2] == at_risk.conditions[2]  # text comparisons stay
    # Both thresholds sit at the same percentile of their own feature.
    tails = [float((FEATURES[c.feature] >= c.value).mean()) for c in better.conditions[:2]]
    assert tails[0] == pytest.approx(tails[1], abs=0.06)
    negated = SegmentRule("Not", (Condition("sessions", ">", 3),), negate=True)
    assert percentile_rule(negated, FEATURES) is None
    assert percentile_rule(SegmentRule("Text", (Condition("rfm_segment", "==", "Lost"),)),
                           FEATURES) is None


def test_bucket_tables_offer_terciles():
    table = [SegmentRule("low", (Condition("sessions_per_week", "<", 5),)),
             SegmentRule("mid", (Condition("sessions_per_week", "between", 5, 15),)),
             SegmentRule("high", (Condition("sessions_per_week", ">", 15),))]
    check = check_bucket_table("Sessions/week", table, FEATURES)
    # 5-15 sessions a week is under 1 % here, more than 15 none, under 5 nearly all.
    assert check.flagged == ("low", "mid", "high")
    low, high = np.quantile(FEATURES["sessions_per_week"], [1 / 3, 2 / 3])
    rules = percentile_buckets(FEATURES, "Sessions/week")
    assert rules[0].conditions[0].value == readable(low)
    assert rules[2].conditions[0].value == readable(high)
    assert [round(s, 2) for s in check.suggestion_shares] == [0.33, 0.33, 0.33]
    assert sum(check.suggestion_shares) == pytest.approx(1.0)


def test_preset_checks_cover_the_presets_and_bucket_tables():
    names = [c.name for c in preset_checks(FEATURES, windows=False)]
    assert "Frequent buyers" in names and "Sessions/week" in names
    assert "Time since last activity" in names


def test_default_operator_and_draft_rule():
    assert default_operator(FEATURES, "revenue") == ">="
    assert default_operator(FEATURES, "rfm_segment") == "=="
    rows = [{"feature": "sessions", "operator": ">=", "value": "5"},
            {"feature": "revenue", "operator": None, "value": ""},
            {"feature": None, "operator": None, "value": ""}]
    rule, incomplete = draft_rule(rows)
    assert rule.conditions == (Condition("sessions", ">=", 5.0),) and incomplete == [2]
    assert draft_rule(rows[2:]) == (None, [])
