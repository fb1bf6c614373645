"""Propensity in a workspace: saved scores join the feature table with definitions, a
segment and a rule can use them, the export and the report carry them, they survive a
feature recompute and a reload, and removing them or loading new data clears them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.sample import generate_sample
from core.predict import PropensityConfig
from core.rules.evaluation import condition_mask
from core.rules.grammar import parse_rule
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.segment.rule_segments import Condition, SegmentRule
from core.workspace import actions
from core.workspace.predict import (
    default_spec,
    explain_user,
    forget_propensity,
    persona_risk,
    run_propensity,
    save_propensity,
)
from core.workspace.report import build_report
from core.workspace.rules import context_from_workspace
from core.workspace.segment_export import segment_export
from core.workspace.segments import segment_memberships, set_segment_rules
from core.workspace.store import Workspace


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    home = tmp_path_factory.mktemp("predict_ws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSONA_LENS_HOME", str(home))
        ws = actions.new_workspace()
        events = generate_sample(n_users=1500, days=60, seed=11).events
        actions.load_sample_into(ws, events, 1500, 60, 11)
        actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                             ClusterConfig(k=3, random_state=0))
        result = run_propensity(ws, PropensityConfig(default_spec(ws, "churn"),
                                                     models=("recency", "logistic")))
        scores = save_propensity(ws, result, "logistic")
        yield ws, result, scores, mp


def test_scores_join_the_feature_table_with_definitions(saved):
    ws, result, scores, _ = saved
    assert list(scores.columns) == ["churn_risk", "churn_risk_band"]
    assert ws.features["churn_risk"].equals(scores["churn_risk"].reindex(ws.features.index))
    assert "churn_risk" in ws.feature_info.definitions
    # A user silent for longer than the model's population allows is lapsed.
    spec = result.config.labels
    last = ws.events.groupby("user_id")["ts"].max()
    quiet = last < ws.events["ts"].max() - pd.Timedelta(days=spec.active_within_days)
    assert set(ws.features.index[ws.features["churn_risk_band"] == "lapsed"]) == \
        set(quiet.index[quiet])
    # High: the top base-rate share of the scored users; medium: the rest at or above
    # the base rate; low: below it.
    base = ws.prediction.targets["churn"]["base_rate"]
    band = ws.features["churn_risk_band"]
    risk = ws.features["churn_risk"]
    scored = risk.dropna()
    assert (band == "high").sum() == pytest.approx(base * len(scored), abs=2)
    assert risk[band == "high"].min() >= risk[band != "high"].max()
    assert (risk[band == "medium"] >= base).all() and (risk[band == "low"] < base).all()


def test_segments_rules_export_and_report_use_the_scores(saved):
    ws, *_ = saved
    rule = SegmentRule("At risk", (Condition("churn_risk", ">", 0.5),))
    set_segment_rules(ws, [rule])
    members = segment_memberships(ws).matrix["At risk"]
    assert members.sum() == int((ws.features["churn_risk"] > 0.5).sum()) > 0
    parsed = parse_rule('churn_risk_band = "high" and churn_risk > 0.7 -> show winback '
                        'in slot banner')
    context = context_from_workspace(ws)
    matched = condition_mask(parsed.condition, context)
    expected = (ws.features["churn_risk_band"] == "high") & (ws.features["churn_risk"] > 0.7)
    assert matched.sum() == expected.sum() > 0
    export = segment_export(ws).frame
    assert {"churn_risk", "churn_risk_band"} <= set(export.columns)
    risk = persona_risk(ws)
    assert set(risk["persona"]) == set(ws.persona_labels())
    labels = ws.persona_labels()
    one = risk.iloc[0]
    users = labels.index[labels == one["persona"]]
    bands = ws.features.loc[users, "churn_risk_band"]
    assert one["lapsed_share"] == pytest.approx((bands == "lapsed").mean())
    assert one["high_share"] == pytest.approx((bands[bands != "lapsed"] == "high").mean())
    html = build_report(ws)
    assert "<h2>Propensity</h2>" in html and "Recency alone (baseline)" in html
    assert html.count('class="risk"') == len(risk)
    _, band, reasons = explain_user(ws, "churn", ws.features["churn_risk"].idxmax())
    assert band == "high" and reasons


def test_scores_survive_a_recompute_and_a_reload(saved):
    ws, *_ = saved
    before = ws.features["churn_risk"].copy()
    actions.compute_features_into(ws, ws.feature_info.config)
    np.testing.assert_allclose(ws.features["churn_risk"], before.reindex(ws.features.index))
    again = Workspace.load(ws.id)
    assert "churn" in again.prediction.targets
    np.testing.assert_allclose(again.features["churn_risk"], before.reindex(again.features.index))


def test_forget_and_new_data_clear_them(saved):
    ws, result, *_ = saved
    forget_propensity(ws, "churn")
    assert "churn_risk" not in ws.features.columns and not ws.prediction.targets
    assert "churn_risk" not in ws.feature_info.definitions
    save_propensity(ws, result, "recency")
    actions.reset_data(ws)
    assert not ws.prediction.targets and ws.frame("predictions") is None
