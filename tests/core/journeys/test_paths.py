"""Paths on hand-built event logs, each worked out by hand in the test."""

from __future__ import annotations

import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.journeys.funnels import ALL_USERS
from core.journeys.paths import LEFT, NOT_STARTED, OTHER, paths

T0 = pd.Timestamp("2024-03-01 10:00:00", tz="UTC")


def log(journeys: dict[str, list[str]], sessions: dict[str, list[int]] | None = None
        ) -> pd.DataFrame:
    """One event a minute per user, in the order given."""
    rows = []
    for user, events in journeys.items():
        for i, event in enumerate(events):
            rows.append({"user_id": user, "ts": T0 + pd.Timedelta(minutes=i), "event": event,
                         "session_id": (sessions or {}).get(user, [1] * len(events))[i]})
    return pd.DataFrame(rows)


JOURNEYS = {
    "u1": ["home", "view", "view", "cart", "buy"],
    "u2": ["home", "search", "view"],
    "u3": ["home"],
    "u4": ["search", "home", "view"],
    "u5": ["view"],                       # never at home
}
GROUPS = pd.Series({"u1": "A", "u2": "A", "u3": "B", "u4": "B"})


def nodes_of(result, column: int) -> dict[str, int]:
    part = result.nodes[result.nodes["column"] == column]
    return dict(zip(part["label"], part["users"], strict=True))


def test_every_column_sums_to_the_users_who_did_the_start_event():
    result = paths(log(JOURNEYS), start="home", steps=3, top=1)
    assert result.users == 4
    assert result.nodes.groupby("column")["users"].sum().tolist() == [4, 4, 4, 4]
    assert result.links.groupby("source_column")["users"].sum().tolist() == [4, 4, 4]
    assert "users_without_event" in [n.code for n in result.notices]


def test_other_and_left_by_hand():
    result = paths(log(JOURNEYS), start="home", steps=3, top=1)
    # Collapsed: u1 home view cart buy; u2 home search view; u3 home; u4 (search) home view.
    assert nodes_of(result, 0) == {"home": 4}
    assert nodes_of(result, 1) == {"view": 2, OTHER: 1, LEFT: 1}
    # cart and view tie at one user each: cart comes first by name, view becomes other.
    assert nodes_of(result, 2) == {"cart": 1, OTHER: 1, LEFT: 2}
    assert nodes_of(result, 3) == {"buy": 1, LEFT: 3}
    links = {(r.source_column, r.source, r.target): r.users for r in result.links.itertuples()}
    assert links[(0, "home", "view")] == 2
    assert links[(0, "home", OTHER)] == 1 and links[(0, "home", LEFT)] == 1
    assert links[(1, "view", "cart")] == 1 and links[(1, "view", LEFT)] == 1
    assert links[(1, OTHER, OTHER)] == 1 and links[(1, LEFT, LEFT)] == 1
    assert links[(2, LEFT, LEFT)] == 2          # once left, left in every later column
    assert (1, LEFT, "cart") not in links


def test_collapse_repeats_off_keeps_the_second_view():
    result = paths(log(JOURNEYS), start="home", steps=3, top=3, collapse_repeats=False)
    # u1: view view cart; u2: search view (left); u4: view (left) (left).
    assert nodes_of(result, 2) == {"view": 2, LEFT: 2}
    assert nodes_of(result, 3) == {"cart": 1, LEFT: 3}


def test_step_matrix_shares_by_hand_and_difference():
    result = paths(log(JOURNEYS), start="home", steps=3, top=1, groups=GROUPS)
    matrix = result.step_matrix[ALL_USERS]
    # Rows: the events in a step's top (buy, cart, view), then other, then left.
    assert list(matrix.index) == ["buy", "cart", "view", OTHER, LEFT]
    assert list(matrix.columns) == [1, 2, 3]
    assert matrix[1].tolist() == [0, 0, 0.5, 0.25, 0.25]
    # Step 2: u1 cart, u2 view (its own row here, though "other" in the Sankey).
    assert matrix[2].tolist() == [0, 0.25, 0.25, 0, 0.5]
    assert (matrix.sum() == 1).all()
    assert result.step_counts[ALL_USERS][1].tolist() == [0, 0, 2, 1, 1]
    a, b = result.step_matrix["A"], result.step_matrix["B"]
    assert a[1].tolist() == [0, 0, 0.5, 0.5, 0]      # u1 view, u2 search
    assert b[1].tolist() == [0, 0, 0.5, 0, 0.5]      # u3 left, u4 view
    diff = result.difference("A", "B")
    assert diff[1].tolist() == [0, 0, 0, 0.5, -0.5]
    assert diff[3].tolist() == [0.5, 0, 0, 0, -0.5]
    assert result.group_sizes.to_dict() == {"A": 2, "B": 2}
    with pytest.raises(ConfigError, match="no group 'C'"):
        result.difference("A", "C")


def test_to_end_mode_by_hand():
    result = paths(log(JOURNEYS), end="view", steps=2, top=3)
    # First view: u1 (home) view; u2 home search view; u4 search home view; u5 view.
    assert result.users == 4
    assert nodes_of(result, 2) == {"view": 4}
    assert nodes_of(result, 1) == {"home": 2, "search": 1, NOT_STARTED: 1}
    assert nodes_of(result, 0) == {NOT_STARTED: 2, "home": 1, "search": 1}
    assert list(result.step_matrix[ALL_USERS].columns) == [-2, -1]
    assert result.nodes.groupby("column")["users"].sum().tolist() == [4, 4, 4]


def test_within_session_stops_at_the_session_end():
    events = log({"u1": ["home", "view", "view", "cart"]}, {"u1": [1, 1, 2, 2]})
    across = paths(events, start="home", steps=2)
    assert nodes_of(across, 2) == {"cart": 1}        # view view collapsed, then cart
    within = paths(events, start="home", steps=2, within_session=True)
    assert nodes_of(within, 1) == {"view": 1} and nodes_of(within, 2) == {LEFT: 1}


def test_arguments_are_checked():
    events = log(JOURNEYS)
    with pytest.raises(ConfigError, match="exactly one"):
        paths(events)
    with pytest.raises(ConfigError, match="exactly one"):
        paths(events, start="home", end="buy")
    with pytest.raises(ConfigError, match="Events there are: 'buy', 'cart'"):
        paths(events, start="checkout")
    with pytest.raises(ConfigError, match="1 to 10"):
        paths(events, start="home", steps=0)
    with pytest.raises(ConfigError, match="session_id"):
        paths(events.drop(columns="session_id"), start="home", within_session=True)


def test_sample_every_column_sums_to_the_start_users():
    from core.data.sample.generator import generate_sample
    from core.data.sessions import sessionize

    sample = generate_sample(n_users=500, days=30, seed=1)
    events = sessionize(sample.events)
    personas = sample.personas.set_index("user_id")["persona"]
    for kwargs in ({"start": "product_view"}, {"end": "purchase"},
                   {"start": "page_view", "within_session": True, "collapse_repeats": False}):
        result = paths(events, steps=5, groups=personas, **kwargs)
        sums = result.nodes.groupby("column")["users"].sum()
        assert (sums == result.users).all() and len(sums) == 6
        for matrix in result.step_matrix.values():
            assert matrix.sum().round(9).eq(1).all()


def test_charts_escape_names_and_line_up_columns():
    from core.journeys.flow_charts import (
        difference_heatmap,
        funnel_chart,
        paths_sankey,
        step_matrix_heatmap,
        time_to_convert_chart,
    )
    from core.journeys.funnels import FunnelSpec, Step, funnel

    journeys = {u: [("<b>home</b>" if e == "home" else e) for e in events]
                for u, events in JOURNEYS.items()}
    events = log(journeys)
    groups = pd.Series({"u1": "<i>A</i>", "u2": "<i>A</i>", "u3": "B", "u4": "B"})
    result = paths(events, start="<b>home</b>", steps=3, top=2, groups=groups)
    sankey = paths_sankey(result)
    node = sankey.data[0].node
    assert "&lt;b&gt;home&lt;/b&gt;<br>4" in node.label
    # One x per column, and the invisible edge node that keeps the last labels right.
    real = len(result.nodes)
    assert len(set(node.x[:real])) == 4 and node.x[real:] == (0.999,)
    assert node.label[real:] == ("",) and node.color[real:] == ("rgba(0,0,0,0)",)
    heat = step_matrix_heatmap(result.step_matrix["<i>A</i>"], "<i>A</i>",
                               result.step_counts["<i>A</i>"])
    assert heat.layout.title.text == "&lt;i&gt;A&lt;/i&gt;"
    assert heat.data[0].text[2][0] == "50%"
    diff = difference_heatmap(result.difference("<i>A</i>", "B"))
    assert diff.data[0].zmid == 0
    spec = FunnelSpec((Step("<b>home</b>"), Step("view"), Step("cart")))
    funnel_result = funnel(events, spec, groups)
    bars = funnel_chart(funnel_result)
    assert [bar.name for bar in bars.data] == ["&lt;i&gt;A&lt;/i&gt;", "B"]
    assert bars.data[0].x[0] == "1. &lt;b&gt;home&lt;/b&gt;"
    assert bars.data[0].marker.color != bars.data[1].marker.color
    assert len(time_to_convert_chart(funnel_result).data) == 2
