"""Labels after a cutoff on a hand-made log, the windows the data cannot label, and
features that no event after the cutoff can change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError, DataError
from core.data.sessions import sessionize
from core.features.table import FeatureConfig
from core.predict import LabelSpec, check_window, events_before, label_users
from core.predict.labels import check_balance
from core.predict.propensity import features_at

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _log(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    """(user, day offset, event) rows as canonical events."""
    return pd.DataFrame({"user_id": [r[0] for r in rows],
                         "ts": [T0 + pd.Timedelta(days=r[1]) for r in rows],
                         "event": [r[2] for r in rows]})


# a: active before and after the cutoff (day 10); b: before only; c: after only;
# d: before, then a purchase on day 12; e: last seen on day 2 (long before the cutoff).
LOG = _log([("a", 1, "page_view"), ("a", 9.5, "page_view"), ("a", 11, "page_view"),
            ("b", 8, "page_view"), ("c", 11, "page_view"), ("d", 9, "page_view"),
            ("d", 12, "purchase"), ("e", 2, "page_view"), ("a", 30, "page_view")])


def test_churn_and_conversion_by_hand():
    spec = LabelSpec("churn", "2026-01-11", 7)
    churn = label_users(LOG, spec, spec.cutoff_ts)
    # Population: users with an event before day 10 (a, b, d, e); c is new after it.
    assert churn.to_dict() == {"a": 0, "b": 1, "d": 0, "e": 1}
    recent = LabelSpec("churn", "2026-01-11", 7, active_within_days=5)
    assert label_users(LOG, recent, recent.cutoff_ts).to_dict() == {"a": 0, "b": 1, "d": 0}
    conversion = LabelSpec("conversion", "2026-01-11", 7, ("purchase",))
    assert label_users(LOG, conversion, conversion.cutoff_ts).to_dict() == \
        {"a": 0, "b": 0, "d": 1, "e": 0}
    # A one-day window on day 12: a has events on days 11 and 30, none in it.
    short = LabelSpec("churn", "2026-01-13", 1)
    assert label_users(LOG, short, short.cutoff_ts)["a"] == 1


def test_an_event_exactly_at_the_cutoff_is_in_the_label_window_not_the_features():
    log = _log([("a", 0, "page_view"), ("a", 10, "purchase")])
    spec = LabelSpec("conversion", "2026-01-11", 3, ("purchase",))
    assert label_users(log, spec, spec.cutoff_ts).to_dict() == {"a": 1}
    assert len(events_before(log, spec.cutoff_ts)) == 1


def test_windows_the_data_cannot_label_are_refused():
    with pytest.raises(ConfigError, match="past the data's last event"):
        check_window(LabelSpec("churn", "2026-01-25", 14), LOG)
    with pytest.raises(ConfigError, match="not after the data's first event"):
        check_window(LabelSpec("churn", "2026-01-05", 7), LOG)
    with pytest.raises(ConfigError, match="count as converting"):
        check_window(LabelSpec("conversion", "2026-01-20", 7), LOG)
    with pytest.raises(ConfigError, match="not a date"):
        check_window(LabelSpec("churn", "someday", 7), LOG)
    check_window(LabelSpec("churn", "2026-01-20", 7), LOG)


def test_too_few_of_a_class_is_a_clear_message():
    with pytest.raises(DataError, match="at least 10 of each"):
        check_balance(pd.Series([1] * 30 + [0] * 3), "test")


def _sessionized(events: pd.DataFrame) -> pd.DataFrame:
    return sessionize(events.sort_values(["user_id", "ts"]).reset_index(drop=True), 30)


def test_no_event_after_the_cutoff_changes_the_features():
    rng = np.random.default_rng(0)
    n = 600
    base = pd.DataFrame({
        "user_id": [f"u{i % 40}" for i in range(n)],
        "ts": T0 + pd.to_timedelta(rng.uniform(0, 20, n), unit="D"),
        "event": rng.choice(["page_view", "product_view", "add_to_cart", "purchase"], n),
        "revenue": np.where(rng.random(n) < 0.2, rng.uniform(5, 50, n), np.nan)})
    cutoff = T0 + pd.Timedelta(days=12)
    config = FeatureConfig(event_roles={"add_to_cart": ["add_to_cart"],
                                        "purchase": ["purchase"]})
    before = features_at(_sessionized(base), cutoff, config)
    # Many more events after the cutoff, for the same users and for new ones.
    extra = pd.DataFrame({"user_id": [f"u{i % 60}" for i in range(400)],
                          "ts": cutoff + pd.to_timedelta(rng.uniform(0, 8, 400), unit="D"),
                          "event": rng.choice(["purchase", "page_view"], 400),
                          "revenue": rng.uniform(100, 500, 400)})
    after = features_at(_sessionized(pd.concat([base, extra], ignore_index=True)), cutoff,
                        config)
    pd.testing.assert_frame_equal(before.sort_index(), after.sort_index())
    assert set(before.index) == set(base.loc[base["ts"] < cutoff, "user_id"])


def test_a_copy_of_a_feature_is_used_once():
    from core.predict.propensity import duplicate_columns, model_features

    table = pd.DataFrame({"purchases": [1.0, 2, np.nan, 4], "count_purchase": [1.0, 2, np.nan, 4],
                          "sessions": [3.0, 1, 2, 5], "almost": [1.0, 2, 3, 4]})
    assert duplicate_columns(table) == {"count_purchase": "purchases"}
    assert model_features(table, ()) == ["purchases", "sessions", "almost"]
    assert model_features(table, ("count_purchase",)) == ["count_purchase"]
