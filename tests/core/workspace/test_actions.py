"""Workspace actions: the fit is kept and reused, revisions move with every change,
new data forgets what belonged to the old data, and segments have one name each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.sample import generate_sample
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig, Preprocessor
from core.segment.rule_segments import Condition, SegmentRule
from core.workspace import actions, personas
from core.workspace.model import clustered_matrix, model_from_workspace
from core.workspace.report import build_report, quality_metrics
from core.workspace.rules import context_from_workspace
from core.workspace.segment_export import segment_export
from core.workspace.segments import save_segment, set_segment_rules, workspace_segments
from core.workspace.store import PARTS, Workspace

USERS = 400


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    sample = generate_sample(n_users=USERS, days=60, seed=12)
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, USERS, 60, 12)
    actions.store_experiment_table(ws, sample.experiment, {"name": "Sample experiment"})
    return ws


def _cluster(ws: Workspace, **pre) -> PreprocessConfig:
    config = PreprocessConfig(features=tuple(ws.feature_info.selected), **pre)
    actions.cluster_into(ws, config, ClusterConfig(k=3, random_state=1))
    return config


@pytest.mark.parametrize("pre", [{}, {"outlier_action": "exclude", "missing": "exclude"},
                                 {"pca": "components", "pca_components": 3,
                                  "scaling": "robust"}])
def test_the_kept_fit_gives_the_clustering_matrix_exactly(ws, pre):
    config = _cluster(ws, **pre)
    reference = Preprocessor(config)
    expected = reference.fit_transform(ws.features)
    matrix, users, names = clustered_matrix(ws)
    assert users.equals(reference.index_) and names == reference.output_names
    np.testing.assert_array_equal(matrix, expected)


def test_nothing_refits_the_preprocessing_after_clustering(ws, monkeypatch):
    _cluster(ws)
    personas.refresh_personas(ws)

    def refit(*args, **kwargs):
        raise AssertionError("the preprocessing was fitted again")

    monkeypatch.setattr(Preprocessor, "fit_transform", refit)
    # The copy read back after the first copy's saves (a copy that is behind may not save).
    for read in (lambda: ws, lambda: Workspace.load(ws.id)):
        workspace = read()
        model_from_workspace(workspace)
        assert quality_metrics(workspace)["silhouette"] > 0
        personas.period_migration(workspace, days=20)
        actions.stability_into(workspace, runs=2)
        assert "Persona Lens report" in build_report(workspace)


def test_the_model_centres_are_the_fitted_ones(ws):
    _cluster(ws)
    model = model_from_workspace(ws)
    matrix, users, _ = clustered_matrix(ws)
    labels = ws.clusters["cluster"].reindex(users)
    for label, centre in zip(model["cluster"]["labels"], model["cluster"]["centroids"],
                             strict=True):
        np.testing.assert_allclose(centre, matrix[(labels == label).to_numpy()].mean(axis=0))


def test_every_change_moves_the_revision_of_its_part(ws):
    before = dict(ws.revisions)
    keys = {part: ws.version(part) for part in PARTS}
    _cluster(ws)
    assert ws.revision("clusters") > before.get("clusters", 0)
    assert ws.version("clusters") != keys["clusters"]
    assert ws.version("features") == keys["features"]  # clustering leaves features alone
    personas.refresh_personas(ws)
    personas.update_persona(ws, "Cluster 1", name="Renamed")
    assert ws.revision("personas") >= 2
    segments = ws.revision("segments")
    save_segment(ws, "Picked", list(ws.features.index[:5]))
    set_segment_rules(ws, [SegmentRule("Busy", (Condition("sessions", ">", 3),))])
    assert ws.revision("segments") == segments + 2
    features = ws.revision("features")
    actions.compute_features_into(ws, ws.feature_info.config)
    assert ws.revision("features") == features + 1
    assert ws.clustering is None and ws.clusters is None  # the old clusters are gone
    reopened = Workspace.load(ws.id)
    assert reopened.revisions == ws.revisions  # saved with the workspace
    assert reopened.version() == ws.version()


def test_new_data_forgets_the_old_experiment_and_clusters(ws):
    _cluster(ws)
    actions.record_experiment_analysis(ws, *_analysis(ws))
    assert ws.experiment.summary
    sample = generate_sample(n_users=300, days=30, seed=99)
    actions.load_sample_into(ws, sample.events, 300, 30, 99)
    assert ws.experiment is None and ws.experiment_table is None
    assert ws.clustering is None and ws.clusters is None and ws.sweep is None
    assert set(ws.steps) == {"load", "features"}
    reopened = Workspace.load(ws.id)
    assert reopened.experiment is None  # Home no longer ticks the A/B step
    _cluster(reopened)
    assert "A/B test" not in build_report(reopened)


def _analysis(ws):
    from core.experiments import ExperimentSpec, analyse_experiment

    spec = ExperimentSpec(variant_col="variant", metrics=("converted",), user_col="user_id")
    return spec, analyse_experiment(ws.experiment_table, spec).summary()


def test_a_saved_selection_has_one_name_everywhere(ws):
    _cluster(ws)
    set_segment_rules(ws, [SegmentRule("VIP", (Condition("sessions", ">", 3),))])
    picked = list(ws.features.index[:10])
    save_segment(ws, "VIP", picked)
    save_segment(ws, "Hand picked", picked[:3])
    names = set(workspace_segments(ws))
    assert names == {"VIP", "VIP (map)", "Hand picked"}
    assert set(context_from_workspace(ws).segments) == names
    cells = segment_export(ws).frame["all_segments"]
    listed = {name for cell in cells for name in cell.split("; ") if name}
    assert listed == names
    assert not cells.str.contains("VIP; VIP(?:;|$)", regex=True).any()
    first = cells.loc[picked[0]]
    rule_member = bool(ws.features.loc[picked[0], "sessions"] > 3)
    assert first == ("VIP; " if rule_member else "") + "VIP (map); Hand picked"


def test_stored_notices_keep_their_level(ws):
    table = pd.DataFrame({"user": [f"u{i}" for i in range(30)], "orders": range(30),
                          "tier": ["a", "b"] * 15})
    actions.load_user_table_into(ws, table, "crm.csv", "user")
    notice = Workspace.load(ws.id).feature_info.notices[0]
    assert notice.code == "non_numeric_columns" and notice.level == "warning"
    assert "tier" in notice.message
