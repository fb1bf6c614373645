"""Funnels on hand-built event logs, each worked out by hand in the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from core.common.errors import ConfigError
from core.journeys.funnels import (
    ALL_USERS,
    NO_GROUP,
    FunnelSpec,
    Step,
    dropped_at,
    funnel,
)

T0 = pd.Timestamp("2024-03-01 10:00:00", tz="UTC")
MIN, HOUR, DAY = pd.Timedelta(minutes=1), pd.Timedelta(hours=1), pd.Timedelta(days=1)


def log(*rows: tuple) -> pd.DataFrame:
    """Events from (user, offset from T0, event[, page]) tuples, in the order given."""
    return pd.DataFrame({
        "user_id": [r[0] for r in rows],
        "ts": [T0 + r[1] for r in rows],
        "event": [r[2] for r in rows],
        "page": [r[3] if len(r) > 3 else "" for r in rows],
    })


def spec(*events: str, order: str = "ordered", window: pd.Timedelta = 7 * DAY) -> FunnelSpec:
    return FunnelSpec(tuple(Step(e) for e in events), window=window, order=order)


VCB = ("view", "cart", "buy")


def test_equal_timestamps_count_as_in_order():
    # The cart row comes first in the file but has the view's timestamp.
    events = log(("a", 0 * MIN, "cart"), ("a", 0 * MIN, "view"), ("a", HOUR, "buy"))
    result = funnel(events, spec(*VCB))
    assert result.reached.to_dict() == {"a": 3}
    assert result.step_times.loc["a"].tolist() == [0.0, 3600.0]


def test_repeated_steps_use_the_first_occurrence_after_the_previous_step():
    events = log(("b", 0 * MIN, "view"), ("b", 1 * MIN, "view"), ("b", 2 * MIN, "cart"),
                 ("b", 3 * MIN, "cart"), ("b", 4 * MIN, "buy"))
    result = funnel(events, spec(*VCB))
    # Both entries reach step 3; the earliest is kept: view 0 -> cart 2 -> buy 4 minutes.
    assert result.reached["b"] == 3
    assert result.step_times.loc["b"].tolist() == [120.0, 120.0]


def test_steps_out_of_order_count_in_any_order_only():
    events = log(("c", 0 * MIN, "cart"), ("c", 1 * MIN, "view"), ("c", 2 * MIN, "buy"))
    ordered = funnel(events, spec(*VCB))
    assert ordered.reached["c"] == 1          # no cart after the view
    anyorder = funnel(events, spec(*VCB, order="any"))
    assert anyorder.reached["c"] == 3          # all three within the window from the cart
    assert anyorder.step_times.loc["c"].tolist() == [60.0, 60.0]
    assert "any" in anyorder.convention.lower()
    assert list(anyorder.steps["label"]) == ["1 of 3 steps", "2 of 3 steps", "3 of 3 steps"]


def test_any_order_window_starts_at_the_earliest_step_of_the_window():
    # buy, then cart 8 days later, then view one hour after that: the best window starts
    # at the cart (cart + view), not at the buy (8 days is outside a 7-day window).
    events = log(("d", 0 * DAY, "buy"), ("d", 8 * DAY, "cart"), ("d", 8 * DAY + HOUR, "view"))
    result = funnel(events, spec(*VCB, order="any"))
    assert result.reached["d"] == 2
    assert result.step_times.loc["d"].tolist()[0] == 3600.0


def test_conversion_window_edge_is_inclusive():
    events = log(("on", 0 * DAY, "view"), ("on", 7 * DAY, "cart"),
                 ("over", 0 * DAY, "view"), ("over", 7 * DAY + pd.Timedelta(seconds=1), "cart"))
    result = funnel(events, spec("view", "cart"))
    assert result.reached.to_dict() == {"on": 2, "over": 1}


def test_a_later_entry_that_goes_further_wins():
    events = log(("f", 0 * DAY, "view"), ("f", 1 * DAY, "cart"),
                 ("f", 20 * DAY, "view"), ("f", 20 * DAY + HOUR, "cart"),
                 ("f", 20 * DAY + 2 * HOUR, "buy"))
    result = funnel(events, spec(*VCB))
    assert result.reached["f"] == 3
    # Times come from the later entry, not from the day-0 view.
    assert result.step_times.loc["f"].tolist() == [3600.0, 3600.0]


def test_window_counts_from_the_entry_not_from_the_previous_step():
    events = log(("g", 0 * DAY, "view"), ("g", 4 * DAY, "cart"), ("g", 8 * DAY, "buy"))
    assert funnel(events, spec(*VCB)).reached["g"] == 2


def test_the_same_event_twice_needs_two_events():
    events = log(("one", 0 * MIN, "view"),
                 ("two", 0 * MIN, "view"), ("two", 0 * MIN, "view"))
    result = funnel(events, spec("view", "view"))
    assert result.reached.to_dict() == {"one": 1, "two": 2}


def test_property_filters():
    events = log(("h", 0 * MIN, "view", "home"), ("h", 1 * MIN, "view", "shoes"),
                 ("i", 0 * MIN, "view", "shoes"), ("i", 1 * MIN, "view", "home"))
    shoes_after_home = FunnelSpec((Step("view", (("page", "home"),)),
                                   Step("view", (("page", "shoes"),))))
    result = funnel(events, shoes_after_home)
    assert result.reached.to_dict() == {"h": 2, "i": 1}
    assert result.steps["label"].tolist() == ["view (page = home)", "view (page = shoes)"]


def test_step_table_by_hand():
    events = log(
        ("a", 0 * MIN, "view"), ("a", 1 * MIN, "cart"), ("a", 3 * MIN, "buy"),
        ("b", 0 * MIN, "view"), ("b", 3 * MIN, "cart"),
        ("c", 0 * MIN, "view"),
        ("d", 0 * MIN, "view"), ("d", 5 * MIN, "cart"), ("d", 6 * MIN, "buy"),
        ("e", 0 * MIN, "cart"),                     # never entered
    )
    result = funnel(events, spec(*VCB))
    table = result.steps.set_index("step")
    assert table["users"].tolist() == [4, 3, 2]
    assert table["dropped"].tolist() == [0, 1, 1]
    assert table["conversion_from_previous"].tolist() == pytest.approx([1, 3 / 4, 2 / 3])
    assert table["conversion_from_first"].tolist() == pytest.approx([1, 3 / 4, 1 / 2])
    assert table.at[2, "median_s"] == 180.0         # 60, 180, 300 seconds
    assert table.at[2, "q1_s"] == 120.0 and table.at[2, "q3_s"] == 240.0
    assert table.at[3, "median_s"] == 90.0          # 120 and 60 seconds
    assert np.isnan(table.at[1, "median_s"])
    assert "e" not in result.reached.index
    assert set(table["group"]) == {ALL_USERS}
    assert result.test is None and result.pairwise.empty
    assert list(dropped_at(result, 2)) == ["c"]
    assert list(dropped_at(result, 3)) == ["b"]
    with pytest.raises(ConfigError, match="2 to 3"):
        dropped_at(result, 1)


def _group_log(counts: dict[str, tuple[int, int]]) -> tuple[pd.DataFrame, pd.Series]:
    """Users per group: (converted, not converted) of a view -> buy funnel."""
    rows, groups = [], {}
    for group, (converted, not_converted) in counts.items():
        for i in range(converted + not_converted):
            user = f"{group}{i}"
            groups[user] = group
            rows.append((user, 0 * MIN, "view"))
            if i < converted:
                rows.append((user, MIN, "buy"))
    return log(*rows), pd.Series(groups)


def test_group_split_and_chi_square_match_scipy_on_the_hand_counts():
    events, groups = _group_log({"Cluster 1": (4, 2), "Cluster 2": (1, 4)})
    result = funnel(events, spec("view", "buy"), groups)
    last = result.steps[result.steps["step"] == 2].set_index("group")
    assert last["users"].to_dict() == {"Cluster 1": 4, "Cluster 2": 1}
    expected = stats.chi2_contingency([[4, 2], [1, 4]])
    assert result.test.statistic == pytest.approx(expected.statistic)
    assert result.test.p_value == pytest.approx(expected.pvalue)
    assert result.test.dof == 1 and result.test.n == 11
    assert result.test.table.loc["Cluster 1"].tolist() == [4, 2]
    assert "chi_square_small_expected" in [n.code for n in result.notices]
    # Pooled two-proportion z-test by hand.
    p1, p2, pooled = 4 / 6, 1 / 5, 5 / 11
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / 6 + 1 / 5))
    pair = result.pairwise.iloc[0]
    assert (pair["group_a"], pair["group_b"]) == ("Cluster 1", "Cluster 2")
    assert pair["z"] == pytest.approx(z)
    assert pair["p_value"] == pytest.approx(2 * stats.norm.sf(z))
    assert pair["p_holm"] == pytest.approx(pair["p_value"])


def test_three_groups_holm_and_users_without_a_group():
    events, groups = _group_log({"Cluster 1": (30, 10), "Cluster 2": (10, 30),
                                 "Cluster 3": (20, 20)})
    extra = log(("nobody", 0 * MIN, "view"))
    result = funnel(pd.concat([events, extra], ignore_index=True), spec("view", "buy"),
                    groups)
    assert result.group_labels == ["Cluster 1", "Cluster 2", "Cluster 3", NO_GROUP]
    assert result.groups["nobody"] == NO_GROUP
    assert "ungrouped_users" in [n.code for n in result.notices]
    assert len(result.pairwise) == 6
    holm = multipletests(result.pairwise["p_value"], method="holm")[1]
    assert result.pairwise["p_holm"].to_numpy() == pytest.approx(holm)
    expected = stats.chi2_contingency([[30, 10], [10, 30], [20, 20], [0, 1]])
    assert result.test.statistic == pytest.approx(expected.statistic)


def test_an_event_not_in_the_data_lists_the_events_there_are():
    events = log(("a", 0 * MIN, "view"), ("a", MIN, "cart"))
    with pytest.raises(ConfigError, match=r"'checkout'.*Events there are: 'cart', 'view'"):
        funnel(events, spec("view", "checkout"))
    with pytest.raises(ConfigError, match="column"):
        funnel(events, FunnelSpec((Step("view", (("colour", "red"),)), Step("cart"))))


def test_zero_entrants_is_a_notice_not_an_error():
    events = log(("a", 0 * MIN, "view", "home"), ("a", MIN, "cart"))
    result = funnel(events, FunnelSpec((Step("view", (("page", "shoes"),)), Step("cart"))))
    assert result.entrants == 0
    codes = [n.code for n in result.notices]
    assert "no_entrants" in codes and "step_never_happens" in codes
    assert result.steps["users"].tolist() == [0, 0]


def test_spec_validation_and_json_round_trip():
    with pytest.raises(ConfigError, match="2 to 8 steps"):
        FunnelSpec((Step("view"),))
    with pytest.raises(ConfigError, match="2 to 8 steps"):
        FunnelSpec(tuple(Step(f"e{i}") for i in range(9)))
    with pytest.raises(ConfigError, match="positive"):
        FunnelSpec((Step("a"), Step("b")), window=pd.Timedelta(0))
    with pytest.raises(ConfigError, match="any-order"):
        FunnelSpec((Step("a"), Step("a")), order="any")
    original = FunnelSpec((Step("view", (("page", "home"),)), Step("buy")),
                          window=pd.Timedelta(hours=36), order="any")
    import json
    assert FunnelSpec.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_unsorted_frame_gives_the_same_funnel():
    events = log(("a", 0 * MIN, "view"), ("b", 0 * MIN, "view"), ("a", MIN, "cart"),
                 ("b", 2 * DAY, "cart"), ("a", 2 * MIN, "buy"))
    shuffled = events.sample(frac=1, random_state=3).reset_index(drop=True)
    assert funnel(shuffled, spec(*VCB)).reached.sort_index().to_dict() == {"a": 3, "b": 2}


def test_sample_funnel_step_one_equals_paths_start_users():
    from core.data.sample.generator import generate_sample
    from core.data.sessions import sessionize
    from core.journeys.paths import paths

    sample = generate_sample(n_users=500, days=30, seed=1)
    events = sessionize(sample.events)
    personas = sample.personas.set_index("user_id")["persona"]
    result = funnel(events, spec("product_view", "add_to_cart", "checkout", "purchase"),
                    personas)
    path = paths(events, start="product_view", steps=5, groups=personas)
    viewers = events.loc[events["event"] == "product_view", "user_id"].nunique()
    assert result.overall.at[0, "users"] == path.users == viewers
    assert result.steps.groupby("step")["users"].sum().iloc[0] == viewers
    assert (np.diff(result.overall["users"]) <= 0).all()
