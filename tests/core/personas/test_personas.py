"""Personas: profiles worked out by hand, suggested names, matching across re-runs,
edits, snapshots and migration."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.data.sample import generate_sample
from core.personas.matching import MATCH_THRESHOLD, match
from core.personas.migration import NOT_ACTIVE, compare
from core.personas.naming import preferred_content, suggest_names
from core.personas.profiles import (
    ClusterProfiles,
    Trait,
    describe_difference,
    feature_label,
    profile_clusters,
)
from core.personas.state import from_snapshot, snapshot
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig, suggest_log
from core.workspace import actions
from core.workspace import personas as ws_personas
from core.workspace.personas import period_migration, rerun_migration
from core.workspace.store import Workspace

SAMPLE_USERS = 3000


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))


def _cluster(ws: Workspace, k: int = 6, seed: int = 0) -> None:
    chosen = ws.feature_info.selected
    logs = tuple(suggest_log(ws.features, chosen)[1])
    actions.cluster_into(ws, PreprocessConfig(features=tuple(chosen), log_features=logs),
                          ClusterConfig(k=k, random_state=seed))


def _sample_workspace(seed: int) -> tuple[Workspace, pd.Series]:
    sample = generate_sample(n_users=SAMPLE_USERS, days=90, seed=seed)
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, SAMPLE_USERS, 90, seed)
    return ws, sample.personas.set_index("user_id")["persona"]


@pytest.fixture(scope="module")
def sample_base(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERSONA_LENS_HOME", str(tmp_path_factory.mktemp("home")))
    ws, truth = _sample_workspace(42)
    _cluster(ws)
    mp.undo()
    return ws, truth


@pytest.fixture
def sample_ws(sample_base):
    """A fresh copy of the clustered sample workspace for each test."""
    base, truth = sample_base
    ws = Workspace.from_json({**base.to_json(), "id": uuid.uuid4().hex[:12]})
    for name in ("events", "features", "clusters"):
        ws.set_frame(name, base.frame(name))
    ws.save()
    return ws, truth


# profiles --------------------------------------------------------------------------------
def _tiny() -> tuple[pd.DataFrame, pd.Series]:
    # Two-valued features, so winsorising at the 1st/99th percentiles changes nothing and
    # every number below can be worked out by hand.
    features = pd.DataFrame({
        "sessions": [1.0, 1, 1, 1, 5, 5, 5, 5],
        "revenue": [0.0, 0, 0, 0, 30, 30, 30, 10],
        "weekend_share": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1],
    }, index=pd.Index([f"u{i}" for i in range(8)], name="user_id"))
    labels = pd.Series(["Cluster 1"] * 4 + ["Cluster 2"] * 4, index=features.index)
    return features, labels


def test_profile_by_hand():
    features, labels = _tiny()
    prof = profile_clusters(features, labels)
    assert prof.labels == ["Cluster 1", "Cluster 2"]
    assert prof.sizes.tolist() == [4, 4]
    assert prof.share_users.tolist() == [0.5, 0.5]
    assert prof.share_revenue.tolist() == [0.0, 1.0]  # revenue 0 vs 100 of 100
    assert prof.means.at["Cluster 2", "revenue"] == 25.0
    assert prof.medians.at["Cluster 2", "revenue"] == 30.0
    # sessions: everyone's mean 3, sd 2 -> Cluster 1 is (1 - 3) / 2 = -1 sd.
    assert prof.z.at["Cluster 1", "sessions"] == pytest.approx(-1.0)
    assert prof.z.at["Cluster 2", "sessions"] == pytest.approx(1.0)
    top = prof.traits["Cluster 2"][0]
    assert top.feature in ("sessions", "revenue")
    assert "1.7× more sessions than average (5.0 vs 3.0)" in \
        [t.text for t in prof.traits["Cluster 2"]]


def test_noise_is_not_a_persona_and_no_revenue_is_said():
    features, labels = _tiny()
    labels.iloc[0] = "Noise"
    prof = profile_clusters(features.drop(columns="revenue"), labels)
    assert prof.labels == ["Cluster 1", "Cluster 2"]
    assert prof.sizes.tolist() == [3, 4]
    assert prof.share_revenue is None
    assert [n.code for n in prof.notices] == ["no_revenue"]


@pytest.mark.parametrize(("cluster", "everyone", "z", "text"), [
    (6.8, 2.0, 2.0, "3.4× more sessions than average (6.8 vs 2.0)"),
    (0.4, 2.0, -1.0, "80% fewer sessions than average (0.40 vs 2.0)"),
    (0.0, 2.0, -1.0, "no sessions (average 2.0)"),
    (2.4, 2.0, 0.3, "sessions 0.3 sd above average (2.4 vs 2.0)"),
])
def test_differences_in_words(cluster, everyone, z, text):
    assert describe_difference("sessions", z, cluster, everyone) == text


def test_feature_labels():
    assert feature_label("mean_session_duration_s") == "mean session duration (s)"
    assert feature_label("count_video_play") == "video play events"


# names ---------------------------------------------------------------------------------
def _profiles_from_z(z: pd.DataFrame) -> ClusterProfiles:
    sizes = pd.Series(100, index=z.index)
    means = z + 10
    return ClusterProfiles(
        sizes=sizes, share_users=sizes / sizes.sum(), share_revenue=None, means=means,
        medians=means, z=z, everyone_mean=pd.Series(10.0, index=z.columns),
        everyone_median=pd.Series(10.0, index=z.columns),
        traits={label: [Trait(f, float(z.at[label, f]), 0, 0, f) for f in z.columns]
                for label in z.index})


def test_suggested_names_follow_the_signature_and_are_unique():
    z = pd.DataFrame({
        "revenue": [2.0, -0.3, -0.3, 0.1], "purchases": [2.0, -0.4, -0.5, 0.1],
        "days_since_last_event": [-0.5, 1.8, -0.4, 0.1],
        "cart_abandonment_rate": [-0.8, 0.0, 1.2, 0.1], "cart_adds": [0.5, -0.5, 1.5, 0.1],
    }, index=["Cluster 1", "Cluster 2", "Cluster 3", "Cluster 4"])
    names = suggest_names(_profiles_from_z(z))
    assert names["Cluster 1"].name == "High-value repeat buyers"
    assert names["Cluster 2"].name == "Dormant"
    assert names["Cluster 3"].name == "Cart abandoners"
    # Nothing fits Cluster 4 by 0.3 sd: it is named after its top feature.
    assert names["Cluster 4"].archetype is None
    assert names["Cluster 4"].name == "Big spenders"  # revenue, its top trait
    again = suggest_names(_profiles_from_z(z))
    assert {k: v.name for k, v in again.items()} == {k: v.name for k, v in names.items()}
    taken = suggest_names(_profiles_from_z(z), taken={"dormant"})
    assert taken["Cluster 2"].name == "Dormant 2"


def test_an_extreme_name_goes_to_the_most_extreme_cluster_only():
    # Cluster 1 fits "Dormant" best by the sum of fits, but Cluster 2 is the more
    # lapsed one: a name that claims the extreme must go to it or to nobody.
    z = pd.DataFrame({"days_since_last_event": [1.0, 1.6], "revenue": [-0.2, 2.5],
                      "purchases": [-0.2, 2.0]}, index=["Cluster 1", "Cluster 2"])
    names = suggest_names(_profiles_from_z(z))
    assert names["Cluster 1"].name != "Dormant"
    assert "Dormant" not in [n.name for n in names.values()] or \
        names["Cluster 2"].name == "Dormant"


def test_features_without_meaning_here_name_no_one():
    labels = pd.Series(["Cluster 1"] * 50 + ["Cluster 2"] * 50,
                       index=[f"u{i}" for i in range(100)])
    features = pd.DataFrame({
        "revenue": [100.0] * 50 + [5.0] * 50,
        "night_share": [0.0] * 100,  # date-only data: no time of day
        "mean_scroll_depth": [np.nan] * 80 + [50.0] * 20,  # mostly missing
    }, index=labels.index)
    profiles = profile_clusters(features, labels)
    assert profiles.described == ["revenue"]
    assert all(t.feature == "revenue" for traits in profiles.traits.values() for t in traits)
    events = pd.DataFrame({"user_id": labels.index, "event": "purchase"})
    assert preferred_content(events, labels) == {}  # one event type says nothing


def test_sample_personas_get_the_planted_names(sample_ws):
    ws, truth = sample_ws
    ws_personas.refresh_personas(ws)
    names = ws.persona_labels()
    planted = pd.crosstab(names, truth.reindex(names.index)).idxmax(axis=0)
    assert planted["loyal_high_value"] == "High-value repeat buyers"
    assert planted["cart_abandoner"] == "Cart abandoners"
    assert planted["content_explorer"] == "Content explorers"
    assert planted["new_visitor"] == "New visitors"
    assert planted["dormant"] == "Dormant"
    assert len(set(ws.personas.names.values())) == len(ws.personas.names)


# matching ------------------------------------------------------------------------------
def test_match_by_hand():
    previous = {"A": {"x": 0.0, "y": 0.0}, "B": {"x": 2.0, "y": 2.0}}
    current = pd.DataFrame({"x": [2.1, 0.0, -3.0], "y": [1.9, 0.1, 3.0]},
                           index=["Cluster 1", "Cluster 2", "Cluster 3"])
    found = {m.label: m for m in match(previous, current)}
    assert found["Cluster 1"].previous == "B"
    assert found["Cluster 1"].distance == pytest.approx(0.1)  # sqrt((0.01 + 0.01) / 2)
    assert found["Cluster 2"].previous == "A"
    assert found["Cluster 3"].is_new


def test_names_persist_across_a_rerun_with_another_seed(sample_ws):
    ws, _ = sample_ws
    ws_personas.refresh_personas(ws)
    chosen = {label: f"Persona {i}" for i, label in enumerate(ws.personas.names)}
    for label, name in chosen.items():
        ws_personas.update_persona(ws, label, name=name)
    before = ws.persona_labels()
    _cluster(ws, seed=7)
    # Cluster numbers are only an order of sizes: renumber them to be sure the names
    # follow the users' behaviour, not the labels.
    shuffled = {f"Cluster {i}": f"Cluster {7 - i}" for i in range(1, 7)}
    ws.set_frame("clusters", ws.clusters.assign(cluster=ws.clusters["cluster"].map(shuffled)))
    assert not ws_personas.personas_fresh(ws)
    refresh = ws_personas.refresh_personas(ws)
    assert refresh.new == [] and refresh.retired == []
    assert sorted(refresh.kept) == sorted(chosen.values())
    after = ws.persona_labels()
    assert (after == before.reindex(after.index)).mean() >= 0.98
    assert all(d < MATCH_THRESHOLD for d in (m.distance for m in refresh.matches))


def test_names_persist_on_new_data(sample_ws):
    ws, truth = sample_ws
    ws_personas.refresh_personas(ws)
    ws_personas.update_persona(ws, "Cluster 1", name="Sleepers")
    named = ws.persona_labels()
    planted_of = pd.crosstab(truth.reindex(named.index), named).idxmax(axis=0)
    fresh, new_truth = _sample_workspace(seed=9)  # other users, other behaviour draws
    fresh.personas = ws.personas
    _cluster(fresh, seed=3)
    refresh = ws_personas.refresh_personas(fresh)
    assert refresh.new == []
    named_again = fresh.persona_labels()
    again = pd.crosstab(new_truth.reindex(named_again.index), named_again).idxmax(axis=0)
    assert again.to_dict() == planted_of.to_dict()
    assert "Sleepers" in set(named_again)


def test_a_new_cluster_is_marked_new_and_edits_are_kept(sample_ws):
    ws, _ = sample_ws
    ws_personas.refresh_personas(ws)
    ws_personas.update_persona(ws, "Cluster 2", action="Call them.", traits="one\n\n two ")
    kept_name = ws.personas.names["Cluster 2"]
    members = set(ws.clusters.index[ws.clusters["cluster"] == "Cluster 2"])
    _cluster(ws, k=7)
    refresh = ws_personas.refresh_personas(ws)
    assert len(refresh.new) >= 1 and len(refresh.kept) + len(refresh.new) == 7
    assert all(ws.personas.personas[m.label]["new"] for m in refresh.matches if m.is_new)
    names = ws.personas.names
    assert len(set(names.values())) == 7
    label = next(k for k, v in names.items() if v == kept_name)
    persona = ws.personas.personas[label]
    assert persona["action"] == "Call them." and persona["traits"] == ["one", "two"]
    assert persona["description"]  # not edited: rewritten from the new data
    moved = set(ws.clusters.index[ws.clusters["cluster"] == label])
    assert len(moved & members) >= 0.9 * len(members)


def test_refresh_state_survives_a_reload(sample_ws):
    ws, _ = sample_ws
    ws_personas.refresh_personas(ws)
    ws_personas.update_persona(ws, "Cluster 1", name="Sleepers")
    again = Workspace.load(ws.id)
    assert ws_personas.personas_fresh(again)
    assert again.persona_labels().value_counts()["Sleepers"] == \
        (ws.clusters["cluster"] == "Cluster 1").sum()


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "  "}, "Give the persona a name"),
    ({"name": "x" * 81}, "under 80"),
    ({"colour": "red"}, "Cannot edit colour"),
])
def test_bad_edits_are_refused(sample_ws, changes, message):
    ws, _ = sample_ws
    ws_personas.refresh_personas(ws)
    with pytest.raises(ConfigError, match=message):
        ws_personas.update_persona(ws, "Cluster 1", **changes)


def test_duplicate_names_are_refused(sample_ws):
    ws, _ = sample_ws
    ws_personas.refresh_personas(ws)
    other = ws.personas.names["Cluster 2"]
    with pytest.raises(ConfigError, match="already called"):
        ws_personas.update_persona(ws, "Cluster 1", name=f" {other.lower()} ")
    with pytest.raises(ConfigError, match="no persona for"):
        ws_personas.update_persona(ws, "Cluster 99", name="Anyone")


def test_without_clusters_refresh_says_what_to_do(sample_ws):
    ws, _ = sample_ws
    actions.forget_clusters(ws)
    with pytest.raises(ConfigError, match="Clustering page"):
        ws_personas.refresh_personas(ws)


# snapshots and migration ---------------------------------------------------------------
def test_snapshot_round_trip():
    labels = pd.Series(["Cluster 2", "Cluster 10", "Noise", "Cluster 2"],
                       index=["a", "b", "c", "d"])
    snap = snapshot(labels)
    assert snap["labels"] == ["Cluster 2", "Cluster 10", "Noise"]
    assert from_snapshot(snap, labels.index).tolist() == labels.tolist()
    assert from_snapshot(snap, pd.Index(["a", "b", "c", "e"])) is None


def test_compare_by_hand():
    before = pd.Series(["A", "A", "B", "B"], index=["u1", "u2", "u3", "u4"])
    after = pd.Series(["A", "B", "B", "C"], index=["u1", "u2", "u3", "u5"])
    result = compare(before, after, missing=NOT_ACTIVE)
    assert result.users == 5
    assert result.stayed == 2  # u1 in A, u3 in B
    assert result.table.at["B", NOT_ACTIVE] == 1  # u4
    assert result.table.at[NOT_ACTIVE, "C"] == 1  # u5
    flows = result.flows.set_index(["source", "target"])["users"]
    assert flows.sum() == 5 and flows[("A", "B")] == 1


def test_rerun_migration_counts_the_same_users(sample_ws):
    ws, _ = sample_ws
    ws_personas.refresh_personas(ws)
    assert rerun_migration(ws) is None  # nothing earlier yet
    before = ws.persona_labels()
    _cluster(ws, k=5)
    ws_personas.refresh_personas(ws)
    result = rerun_migration(ws)
    after = ws.persona_labels()
    assert result.users == len(after)
    assert result.stayed == int((before.reindex(after.index) == after).sum())


def test_period_migration_assigns_both_windows(sample_ws):
    ws, truth = sample_ws
    ws_personas.refresh_personas(ws)
    result = period_migration(ws, days=45)
    names = set(ws.personas.names.values())
    assert set(result.table.index) <= names | {NOT_ACTIVE}
    assert set(result.table.columns) <= names | {NOT_ACTIVE}
    # Planted new visitors only arrive in the last 14 days: not active in the first window.
    newcomers = truth.index[truth == "new_visitor"]
    events = ws.events
    first_seen = events.groupby("user_id")["ts"].min()
    cutoff = events["ts"].min() + pd.Timedelta(days=45)
    late_starters = int((first_seen.reindex(newcomers) >= cutoff).sum())
    assert result.table.loc[NOT_ACTIVE].sum() >= late_starters
    assert result.users == events["user_id"].nunique()
    with pytest.raises(ConfigError, match="too few"):
        period_migration(ws, days=60)


def test_preferred_content_by_hand():
    events = pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "b", "b"],
        "event": ["view", "video", "video", "view", "view", "buy"],
        "category": ["books", "books", "books", "toys", "toys", "books"],
    })
    labels = pd.Series({"a": "Cluster 1", "b": "Cluster 2"})
    content = preferred_content(events, labels)
    # Cluster 1: all of its events are books (4 of 6 overall): lift 1 / (4/6) = 1.5.
    assert content["Cluster 1"].startswith("category books (100% of their events, 1.5×")
    assert "event video (67% of their events, 2.0× everyone)" in content["Cluster 1"]
    assert "category toys (67% of their events, 2.0× everyone)" in content["Cluster 2"]


def test_names_are_not_given_against_the_numbers():
    """A cluster that arrived recently but has been away for months is not "New
    visitors"; a cluster whose weekly rate comes from a short tenure is not "Frequent
    visitors"; a cluster named after a feature without a plain name says High/Low."""
    z = pd.DataFrame({
        "days_since_first_event": [-1.5, 0.5, 0.4, -1.4], "tenure_days": [-1.5, 0.5, 0.4, -1.3],
        "days_since_last_event": [1.2, -0.4, -0.3, -0.5],
        "sessions_per_week": [0.2, 0.1, 0.1, 1.5], "count_search": [0.0, 0.0, 0.9, 0.0],
    }, index=["Cluster 1", "Cluster 2", "Cluster 3", "Cluster 4"])
    profiles = _profiles_from_z(z)
    profiles.medians.loc["Cluster 1", "days_since_first_event"] = 1.0  # the newest
    names = suggest_names(profiles)
    assert names["Cluster 1"].name != "New visitors"
    assert names["Cluster 4"].name != "Frequent visitors"
    plain = suggest_names(_profiles_from_z(pd.DataFrame(
        {"count_search": [0.2, -0.2], "days_since_last_event": [0.1, -0.1]},
        index=["Cluster 1", "Cluster 2"])))
    assert plain["Cluster 1"].name.startswith("High ")  # no plain name for searches
    assert plain["Cluster 2"].name.startswith("Low ")
