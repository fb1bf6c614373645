"""The segment export: right rows and columns, and CSV that round-trips with formulas
neutralised (OWASP "CSV injection": cells starting with = + - @ tab CR)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.common.export import FORMULA_PREFIXES, parquet_bytes, safe_csv_bytes
from core.data import sample
from core.personas.state import PersonaState
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.segment.rule_segments import SegmentRule, presets
from core.workspace import actions
from core.workspace.segment_export import NOT_CLUSTERED, persona_options, segment_export
from core.workspace.segments import save_segment, segment_memberships, set_segment_rules
from core.workspace.store import Workspace

USERS = 300
HOSTILE = '=HYPERLINK("http://x.example","click")'
ODD_IDS = {0: "+31612345678", 1: "-1", 2: "@admin", 3: "=1+1"}


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    events = sample.generate_sample(n_users=USERS, days=30, seed=4).events
    ids = sorted(events["user_id"].unique())
    events["user_id"] = events["user_id"].replace({ids[i]: v for i, v in ODD_IDS.items()})
    ws = Workspace()
    actions.load_sample_into(ws, events, USERS, 30, 4)
    return ws


def cluster(ws: Workspace, **pre) -> None:
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected), **pre),
                          ClusterConfig(k=3))
    ws.personas = PersonaState(names={"Cluster 1": HOSTILE, "Cluster 2": "Loyal\tbuyers"})
    ws.save()


def unneutralise(value):
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(
            FORMULA_PREFIXES):
        return value[1:]
    return value


def test_export_columns_filter_and_csv_round_trip(ws):
    cluster(ws)
    set_segment_rules(ws, presets(ws.features)[:2])
    save_segment(ws, "Hand picked", [ODD_IDS[0], ODD_IDS[3]])
    export = segment_export(ws, ["revenue", "sessions"], personas=[HOSTILE])
    frame = export.frame
    assert export.users_total == USERS
    assert list(frame.columns) == ["cluster", "persona", "winning_segment", "all_segments",
                                   "revenue", "sessions"]
    assert export.rows == (ws.clusters["cluster"] == "Cluster 1").sum() > 0
    assert (frame["persona"] == HOSTILE).all() and (frame["cluster"] == "Cluster 1").all()
    rules = ws.segment_rules.rules
    expected_rule = segment_memberships(ws, rules, exclusive=True).exclusive
    assert frame["winning_segment"].equals(expected_rule.reindex(frame.index))

    everyone = segment_export(ws, ["revenue"]).frame
    assert len(everyone) == USERS
    hand_picked = everyone["all_segments"].str.contains("Hand picked")
    assert set(everyone.index[hand_picked]) == {ODD_IDS[0], ODD_IDS[3]}
    matrix = segment_memberships(ws, rules).matrix
    first = rules[0].name
    assert (everyone["all_segments"].str.split("; ").map(lambda s: first in s)
            == matrix[first].reindex(everyone.index)).all()

    data = safe_csv_bytes(everyone)
    text = data.decode("utf-8")
    # No cell of the CSV starts with a formula character (the quote neutralises it).
    assert f"'{HOSTILE}".replace('"', '""') in text
    assert "\n+316" not in text and "\n=1+1" not in text and "\n'+31612345678," in text
    back = pd.read_csv(io.BytesIO(data), index_col="user_id", dtype={"user_id": str},
                       keep_default_na=False)
    assert "'+31612345678" in back.index and "'@admin" in back.index
    assert (back.loc[back["cluster"] == "Cluster 1", "persona"] == f"'{HOSTILE}").all()
    restored = back.map(unneutralise)
    restored.index = back.index.map(unneutralise)
    pd.testing.assert_frame_equal(restored, everyone, check_dtype=False)

    parquet = pd.read_parquet(io.BytesIO(parquet_bytes(everyone)))
    pd.testing.assert_frame_equal(parquet, everyone)


def test_users_left_out_of_clustering_are_counted(ws):
    cluster(ws, outlier_method="zscore", outlier_action="exclude")
    export = segment_export(ws)
    left_out = USERS - len(ws.clusters)
    assert left_out > 0
    assert (export.frame["cluster"] == NOT_CLUSTERED).sum() == left_out
    assert export.notices[0].code == "not_clustered"
    assert f"{left_out:,} users" in export.notices[0].message
    assert persona_options(ws)[-1] == NOT_CLUSTERED
    only = segment_export(ws, personas=[NOT_CLUSTERED])
    assert only.rows == left_out


def test_before_clustering_and_bad_requests(ws):
    export = segment_export(ws, ["revenue"])
    assert list(export.frame.columns) == ["all_segments", "revenue"]
    assert persona_options(ws) == []
    with pytest.raises(ConfigError, match="cluster the users first"):
        segment_export(ws, personas=["Loyal"])
    with pytest.raises(ConfigError, match="Unknown feature"):
        segment_export(ws, ["no_such_feature"])
    set_segment_rules(ws, [SegmentRule.from_dict({"name": "Gone", "conditions": [
        {"feature": "removed_feature", "operator": ">", "value": 1}]})])
    export = segment_export(ws)
    assert export.notices[0].code == "rules_skipped" and "Gone" in export.notices[0].message
    assert "winning_segment" not in export.frame
    # A rule counting a time window cannot be evaluated without the event log.
    set_segment_rules(ws, [r for r in presets(ws.features) if r.windows()])
    assert ws.segment_rules.rules and "winning_segment" in segment_export(ws).frame
    ws.set_frame("events", None)
    export = segment_export(ws)
    assert export.notices[0].code == "rules_skipped" and "winning_segment" not in export.frame


def test_export_info_names_the_model_time_and_columns(ws):
    import hashlib
    import json
    from datetime import UTC, datetime

    from core.workspace.model import model_from_workspace
    from core.workspace.segment_export import export_info

    cluster(ws)
    export = segment_export(ws, ["revenue"], [])
    model = model_from_workspace(ws)
    info = export_info(ws, export, model, [])
    assert info["model_sha256"] == hashlib.sha256(
        json.dumps(model, sort_keys=True, default=str).encode()).hexdigest()
    assert abs(datetime.fromisoformat(info["exported_at"]) - datetime.now(UTC)).seconds < 60
    assert info["rows"] == len(export.frame) and info["workspace"] == ws.id
    assert list(info["columns"]) == ["user_id", *export.frame.columns]
    assert info["columns"]["revenue"] == "feature"
    assert "overlapping" in info["columns"]["all_segments"]
    assert export_info(ws, export, None)["model_sha256"] is None


def test_csv_floats_at_twelve_significant_digits():
    frame = pd.DataFrame({"x": [0.1 + 0.2, 1234567.891, 1 / 3]}, index=["a", "b", "c"])
    text = safe_csv_bytes(frame).decode()
    assert text.split("\r\n")[1:4] == ["a,0.3", "b,1234567.891", "c,0.333333333333"]
