"""Clustering runs (settings, quality, labels, agreement between runs) and per-cluster
stability (Hennig's clusterwise Jaccard) checked against direct computations."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score

from core.data.sample import generate_sample
from core.segment.clustering import (
    ClusterConfig,
    best_match_jaccard,
    fit_clusters,
    jaccard_verdict,
    stability,
)
from core.segment.labels import cluster_label
from core.segment.preprocess import PreprocessConfig, suggest_log
from core.segment.runs import (
    ClusterRun,
    add_run,
    compare_runs,
    current_run_number,
    decode_labels,
    describe,
    encode_labels,
    new_run,
    quality,
    settings_changes,
)
from core.workspace import actions
from core.workspace.store import Workspace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def blobs():
    points, truth = make_blobs(n_samples=[80, 60, 40], centers=[[0, 0], [6, 0], [0, 6]],
                               cluster_std=1.0, random_state=1)
    return points, truth


# per-cluster stability -------------------------------------------------------------------
def _direct_clusterwise_jaccard(matrix: np.ndarray, config: ClusterConfig,
                                runs: int) -> dict[int, float]:
    """fpc::clusterboot's loop written out: for each bootstrap sample, each original
    cluster (restricted to the sampled points, counted with multiplicity) against every
    cluster of the refit on that sample, the largest Jaccard; then the mean per cluster."""
    reference = fit_clusters(matrix, config).labels
    rng = np.random.default_rng(config.random_state)
    found: dict[int, list[float]] = {c: [] for c in np.unique(reference)}
    for run in range(runs):
        rows = rng.choice(len(matrix), size=len(matrix), replace=True)
        refit = fit_clusters(matrix[rows], replace(config, random_state=run + 1)).labels
        original = reference[rows]
        for c in found:
            in_c = original == c
            if not in_c.any():
                continue
            best = 0.0
            for other in np.unique(refit):
                in_other = refit == other
                both = sum(1 for a, b in zip(in_c, in_other, strict=True) if a and b)
                either = sum(1 for a, b in zip(in_c, in_other, strict=True) if a or b)
                best = max(best, both / either)
            found[c].append(best)
    return {c: float(np.mean(v)) for c, v in found.items()}


def test_clusterwise_jaccard_matches_a_direct_loop(blobs):
    points, _ = blobs
    # k = 4 on three groups: one group is split differently by different refits.
    config = ClusterConfig(k=4, random_state=3)
    result = stability(points, config, runs=6)
    expected = _direct_clusterwise_jaccard(points, config, runs=6)
    assert list(result.by_cluster.index) == [cluster_label(c) for c in sorted(expected)]
    for code, value in expected.items():
        assert result.by_cluster[cluster_label(code)] == pytest.approx(value, abs=1e-12)
    assert np.asarray(result.jaccard).shape == (6, 4)
    assert result.by_cluster.min() < 0.95  # the split group is not perfectly stable


def test_best_match_jaccard_by_hand():
    original = np.array([0, 0, 0, 1, 1, 1, 1])
    refit = np.array([5, 5, 7, 7, 7, 7, -1])
    # Cluster 0 {0,1,2}: with 5 {0,1} -> 2/3; with 7 {2,3,4,5} -> 1/6. Best 2/3.
    # Cluster 1 {3,4,5,6}: with 7 -> 3 / (4 + 4 - 3) = 3/5; noise is not a cluster.
    assert best_match_jaccard(original, refit, 3) == pytest.approx([2 / 3, 3 / 5, np.nan],
                                                                   nan_ok=True)


def test_the_separated_cluster_is_more_stable_than_two_overlapping_ones():
    points, truth = make_blobs(n_samples=[150, 150, 150],
                               centers=[[20, 20], [0, 0], [1.0, 0]], cluster_std=1.0,
                               random_state=4)
    config = ClusterConfig(k=3, random_state=0)
    result = stability(points, config, runs=8)
    labels = fit_clusters(points, config).labels
    separated = cluster_label(int(pd.Series(labels[truth == 0]).mode()[0]))
    by_cluster = result.by_cluster
    others = by_cluster.drop(separated)
    assert by_cluster[separated] > others.max()
    assert by_cluster[separated] > 0.85 and jaccard_verdict(by_cluster[separated]) == \
        "highly stable"
    assert others.max() < 0.85  # where the two overlapping groups part varies by refit


def test_jaccard_readings_follow_hennig():
    assert jaccard_verdict(0.9) == "highly stable"
    assert jaccard_verdict(0.8) == "stable"
    assert jaccard_verdict(0.65) == "a pattern, not clearly a cluster"
    assert jaccard_verdict(0.5) == "unstable"
    assert jaccard_verdict(float("nan")) == "not measured"


# runs ------------------------------------------------------------------------------------
def _run(points: np.ndarray, number: int, k: int, users: pd.Index | None = None,
         table: pd.Index | None = None) -> tuple[ClusterRun, np.ndarray]:
    users = pd.Index([f"u{i}" for i in range(len(points))]) if users is None else users
    config = ClusterConfig(k=k, random_state=number)
    codes = fit_clusters(points, config).labels
    run = new_run(number, f"2024-01-0{number}T10:00:00Z", points, codes, users,
                  users if table is None else table,
                  PreprocessConfig(features=("x", "y")), config)
    return run, codes


def test_a_run_records_settings_quality_and_labels(blobs):
    points, _ = blobs
    run, codes = _run(points, 1, 3)
    assert (run.name, run.algorithm, run.k, run.seed) == ("Run 1", "kmeans", 3, 1)
    assert run.settings() == "K-Means, k = 3, seed 1"
    assert run.n_users == 180 and run.n_clusters == 3 and run.noise == 0
    assert run.sizes == {cluster_label(c): int((codes == c).sum()) for c in range(3)}
    assert run.silhouette == pytest.approx(silhouette_score(points, codes))
    assert run.silhouette_sample == 180  # fewer users than the sample: all of them
    assert run.davies_bouldin == pytest.approx(davies_bouldin_score(points, codes))
    assert run.preprocess["features"] == ["x", "y"] and run.config["k"] == 3
    back = ClusterRun.from_json(json.loads(json.dumps(run.to_json())))
    assert back == run


def test_silhouette_is_measured_on_a_sample_above_the_limit(blobs):
    points, _ = blobs
    codes = fit_clusters(points, ClusterConfig(k=3)).labels
    silhouette, measured, _ = quality(points, codes, sample=50)
    assert measured == 50
    assert silhouette == pytest.approx(silhouette_score(points, codes), abs=0.1)
    assert quality(points, np.zeros(len(points), dtype=int)) == (None, 0, None)


def test_labels_round_trip_with_noise_and_unclustered_users():
    table = pd.Index(["a", "b", "c", "d", "e"])
    labels = pd.Series(["Cluster 2", "Noise", "Cluster 1", "Cluster 12"],
                       index=["d", "a", "b", "e"])
    run, _ = _run(np.arange(10.0).reshape(5, 2), 1, 2)
    run = replace(run, labels=encode_labels(labels, table),
                  users_key=new_run(1, "", np.arange(10.0).reshape(5, 2),
                                    np.array([0, 0, 1, 1, 1]), table, table,
                                    PreprocessConfig(features=("x",)),
                                    ClusterConfig(k=2)).users_key)
    decoded = decode_labels(run, table)
    assert decoded.to_dict() == labels.to_dict()  # "c" was not clustered
    assert decode_labels(run, pd.Index(["a", "b", "c", "d", "x"])) is None


def test_compare_runs_gives_ari_on_the_users_both_clustered(blobs):
    points, _ = blobs
    table = pd.Index([f"u{i}" for i in range(len(points))])
    first, codes_a = _run(points, 1, 3, table=table)
    subset = np.arange(30, 180)  # the second run left out the first 30 users
    second, codes_b = _run(points[subset], 2, 5, users=table[subset], table=table)
    comparison = compare_runs([first, second], table, current=2)
    expected = adjusted_rand_score(codes_a[subset], codes_b)
    assert comparison.ari.loc["Run 1", "Run 2"] == pytest.approx(expected)
    assert comparison.ari.loc["Run 2", "Run 1"] == pytest.approx(expected)
    assert np.diag(comparison.ari.to_numpy()).tolist() == [1.0, 1.0]
    assert comparison.common.loc["Run 1", "Run 2"] == 150
    rows = comparison.table.set_index("Run")
    assert list(rows.index) == ["Run 1", "Run 2 (shown)"]
    assert rows.loc["Run 1", "Agreement with shown run"] == pytest.approx(expected)
    assert rows.loc["Run 2 (shown)", "Clusters"] == 5
    assert rows.loc["Run 1", "Users"] == 180 and rows.loc["Run 2 (shown)", "Users"] == 150
    assert {"Settings", "Silhouette", "Davies-Bouldin", "Stability (ARI)",
            "Largest cluster", "Smallest cluster"} <= set(comparison.table.columns)
    sizes = comparison.sizes
    assert sizes.groupby("Run")["Users"].sum().to_dict() == {"Run 1": 180, "Run 2": 150}


def test_runs_are_capped_and_those_of_another_table_dropped(blobs):
    points, _ = blobs
    table = pd.Index([f"u{i}" for i in range(len(points))])
    runs = []
    for number in range(1, 6):
        run, _ = _run(points, number, 2, table=table)
        runs = add_run(runs, run, table, cap=3)
    assert [r.number for r in runs] == [3, 4, 5]
    other = pd.Index([f"v{i}" for i in range(len(points))])
    newest, _ = _run(points, 6, 2, users=other, table=other)
    assert [r.number for r in add_run(runs, newest, other, cap=3)] == [6]


def test_settings_changes_name_what_changed():
    pre = PreprocessConfig(features=("a", "b"), outlier_threshold=1.5)
    config = ClusterConfig(k=6, random_state=42)
    assert settings_changes(pre, config, pre, config) == []
    # Settings the algorithm does not read, and PCA components without PCA, are ignored.
    assert settings_changes(replace(pre, pca_components=9), replace(config, eps=2.0),
                            pre, config) == []
    changes = settings_changes(replace(pre, features=("a", "c")),
                               replace(config, k=7, random_state=1), pre, config)
    assert changes == ["seed: 42 → 1", "k: 6 → 7", "features: added c; removed b"]
    assert describe(config) == "K-Means, k = 6, seed 42"
    assert describe(ClusterConfig(algorithm="dbscan", eps=0.8)) == \
        "DBSCAN, eps = 0.8, min samples 10, seed 0"


# in the workspace ------------------------------------------------------------------------
def _workspace(users: int = 600) -> Workspace:
    events = generate_sample(n_users=users, days=60, seed=5).events
    ws = Workspace()
    actions.load_sample_into(ws, events, users, 60, 5)
    return ws


def _pre(ws: Workspace) -> PreprocessConfig:
    chosen = ws.feature_info.selected
    return PreprocessConfig(features=tuple(chosen),
                            log_features=tuple(suggest_log(ws.features, chosen)[1]))


def test_every_fit_is_kept_as_a_run_and_survives_a_reload(home):
    ws = _workspace()
    pre = _pre(ws)
    actions.cluster_into(ws, pre, ClusterConfig(k=4))
    actions.cluster_into(ws, pre, ClusterConfig(k=3, random_state=2))
    assert [(r.number, r.k, r.seed) for r in ws.runs] == [(1, 4, 0), (2, 3, 2)]
    assert current_run_number(ws.runs, pre, ws.clustering.config, len(ws.clusters)) == 2
    actions.stability_into(ws, runs=3)
    run = ws.runs[-1]
    assert run.stability == pytest.approx(ws.clustering.stability.mean)
    assert set(run.cluster_stability) == set(ws.clusters["cluster"])
    assert ws.runs[0].stability is None  # stability belongs to the run it was measured on
    again = Workspace.load(ws.id)
    assert again.runs == ws.runs
    labels = decode_labels(again.runs[-1], again.features.index)
    assert labels.reindex(ws.clusters.index).tolist() == ws.clusters["cluster"].tolist()
    comparison = compare_runs(again.runs, again.features.index, current=2)
    assert 0 < comparison.ari.loc["Run 1", "Run 2"] < 1


def test_a_format_1_workspace_opens_without_runs_and_gets_one_on_stability(home):
    data = json.loads((FIXTURES / "workspace_v1" / "workspace.json").read_text())
    shutil.copytree(FIXTURES / "workspace_v1", home / "workspaces" / data["id"])
    ws = Workspace.load(data["id"])
    assert ws.runs == [] and ws.personas.history == []
    actions.stability_into(ws, runs=2)
    assert len(ws.runs) == 1 and ws.runs[0].k == 4 and ws.runs[0].cluster_stability
    assert Workspace.load(ws.id).runs == ws.runs
