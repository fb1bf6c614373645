"""How users move between personas, explained: stayed, moved, new, dormant, returning and
only-between counts that add up to every user, checked against the event log directly;
and the history of re-clusterings recorded when the clusters are made."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.sample import generate_sample
from core.personas import charts as persona_charts
from core.personas.migration import NOT_ACTIVE, compare, movement
from core.personas.state import history_table
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig, suggest_log
from core.workspace import actions
from core.workspace import personas as ws_personas
from core.workspace.store import Workspace

USERS = 800
DAYS = 120  # two windows of 45 days leave 30 days between them


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))


def _cluster(ws: Workspace, k: int = 5, seed: int = 0) -> None:
    chosen = ws.feature_info.selected
    logs = tuple(suggest_log(ws.features, chosen)[1])
    actions.cluster_into(ws, PreprocessConfig(features=tuple(chosen), log_features=logs),
                         ClusterConfig(k=k, random_state=seed))


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERSONA_LENS_HOME", str(tmp_path_factory.mktemp("home")))
    events = generate_sample(n_users=USERS, days=DAYS, seed=11).events
    ws = Workspace()
    actions.load_sample_into(ws, events, USERS, DAYS, 11)
    _cluster(ws)
    mp.undo()
    return ws


def test_compare_by_hand_counts_each_category():
    before = pd.Series(["A", "A", "B", "B", "B"], index=["u1", "u2", "u3", "u4", "u6"])
    after = pd.Series(["A", "B", "B", "C", "A"], index=["u1", "u2", "u3", "u5", "u6"])
    table = compare(before, after, missing=NOT_ACTIVE).table
    move = movement(table, "period", days=10, total=8)
    assert (move.stayed, move.moved, move.new, move.dormant, move.between) == (2, 2, 1, 1, 2)
    assert move.total == 8 == move.stayed + move.moved + move.new + move.dormant + move.between
    assert move.moves.to_dict("records") == [{"From": "A", "To": "B", "Users": 1},
                                             {"From": "B", "To": "A", "Users": 1}]
    assert move.sentence().startswith(
        "Of 8 users: 2 stayed in their persona, 2 moved to another persona, 1 is new in the "
        "last 10 days (no events in the first 10), 1 was dormant (no events in the last 10 "
        "days) and 2 were active only between the two windows.")
    categories = move.categories()
    assert categories["Users"].sum() == 8 and categories["Share"].sum() == pytest.approx(1)


def test_period_categories_add_up_and_match_the_event_log(clustered):
    ws = clustered
    result = ws_personas.period_migration(ws, days=45)
    move = result.movement
    events = ws.events
    ts = pd.to_datetime(events["ts"], utc=True)
    first, last = ts.min(), ts.max()
    early = set(events.loc[ts < first + pd.Timedelta(days=45), "user_id"])
    late_start = last - pd.Timedelta(days=45)
    late = set(events.loc[ts >= late_start, "user_id"])
    middle = set(events.loc[(ts >= first + pd.Timedelta(days=45)) & (ts < late_start),
                            "user_id"])
    everyone = set(events["user_id"])
    assert move.total == len(everyone)
    assert move.stayed + move.moved + move.new + move.dormant + move.between == move.total
    assert move.stayed + move.moved == len(early & late)
    assert move.new == len(late - early)
    assert move.dormant == len(early - late)
    assert move.between == len(everyone - early - late) > 0
    assert move.returning == len((early & late) - middle)
    assert 0 <= move.returning_same <= move.returning
    assert move.sentence().startswith(f"Of {len(everyone):,} users: {move.stayed:,} stayed")
    assert "came back after a gap" in move.sentence()
    # The moves are the off-diagonal persona pairs of the table.
    assert move.moves["Users"].sum() == move.moved
    # The Sankey has a "New" and a "Dormant" node and both columns hold the same users.
    fig = persona_charts.sankey(result.table, result.before_name, result.after_name,
                                incoming=move.incoming, outgoing=move.outgoing)
    node = fig.data[0].node
    n_left = len(result.table.index)
    left, right = node.label[:n_left], node.label[n_left:]
    assert any(label.startswith("New: no events in the first 45 days") for label in left)
    assert any(label.startswith("Dormant: no events in the last 45 days") for label in right)
    values = pd.Series(fig.data[0].link.value)
    sources, targets = pd.Series(fig.data[0].link.source), pd.Series(fig.data[0].link.target)
    assert values.groupby(sources).sum().sum() == values.groupby(targets).sum().sum() == \
        move.total - move.between


def test_windows_without_a_gap_say_why_returning_users_are_not_counted(clustered):
    result = ws_personas.period_migration(clustered, days=60)  # 2 × 60 covers 120 days
    move = result.movement
    assert move.returning is None and move.between == 0
    assert "cannot be told apart" in move.returning_note
    assert move.stayed + move.moved + move.new + move.dormant == move.total


def test_reclustering_records_the_history_without_opening_personas(clustered):
    ws = Workspace.from_json({**clustered.to_json(), "id": "a1b2c3d4e5f6"})
    for name in ("events", "features", "clusters"):
        ws.set_frame(name, clustered.frame(name))
    assert len(ws.personas.history) == 1 and ws.personas.history[0]["first"]
    before = ws.persona_labels()
    _cluster(ws, k=4, seed=3)  # no refresh_personas: the Clustering page's action only
    _cluster(ws, k=6, seed=1)
    history = ws.personas.history
    assert [e["run"]["name"] for e in history] == ["Run 1", "Run 2", "Run 3"]
    assert history[1]["run"]["settings"] == "K-Means, k = 4, seed 3"
    assert history[2]["personas"] == 6 and history[2]["users"] == len(ws.clusters)
    assert ws_personas.personas_fresh(ws)
    # Re-matching what is already matched adds nothing.
    ws_personas.refresh_personas(ws)
    assert len(Workspace.load(ws.id).personas.history) == 3
    table = history_table(ws.personas)
    assert table["Run"].tolist() == ["Run 3", "Run 2", "Run 1"]
    # The re-run view compares the last two clusterings and explains the movement.
    result = ws_personas.rerun_migration(ws)
    move = result.movement
    assert move.total == len(ws.clusters) and move.new == move.dormant == 0
    assert move.stayed == history[2]["stayed"]
    assert move.moved == history[2]["moved"]
    assert "do not leave and come back" in move.returning_note
    # The history's first entry counted against the labels before any re-run.
    assert history[1]["stayed"] + history[1]["moved"] == len(before)
