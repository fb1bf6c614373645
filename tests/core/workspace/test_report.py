"""The persona report: self-contained, escaped, complete; and `python -m core report`."""

from __future__ import annotations

import copy
import re
import subprocess
import uuid
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.data.sample import generate_sample
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.workspace import actions, personas
from core.workspace.bundle import export_bundle
from core.workspace.report import build_report
from core.workspace.sections import ExperimentSection
from core.workspace.store import Workspace
from tests.cli_run import run_cli

ROOT = Path(__file__).resolve().parents[3]
ATTACK = "<script>alert(1)</script>"
USERS = 800


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))


class Tags(HTMLParser):
    """Collects start tags, script bodies and visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERSONA_LENS_HOME", str(tmp_path_factory.mktemp("home")))
    sample = generate_sample(n_users=USERS, days=90, seed=3)
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, USERS, 90, 3)
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                          ClusterConfig(k=4, random_state=0))
    actions.stability_into(ws, runs=3)
    personas.refresh_personas(ws)
    mp.undo()
    return ws


@pytest.fixture
def ws(base):
    """A fresh copy of the clustered sample workspace for each test."""
    ws = Workspace.from_json({**base.to_json(), "id": uuid.uuid4().hex[:12]})
    for name in ("events", "features", "clusters"):
        ws.set_frame(name, base.frame(name))
    ws.save()
    return ws


def _attack(ws: Workspace) -> None:
    personas.update_persona(ws, "Cluster 1", name=ATTACK, description=f"desc {ATTACK}",
                            traits=[f"trait {ATTACK}"], action=f"</script>{ATTACK}",
                            preferred_content='"><img src=x onerror=alert(2)>')
    ws.data.name = f"shop {ATTACK}"
    ws.experiment = ExperimentSection(summary={
        "sentences": [f"Lift {ATTACK}"], "conventions": [f"note {ATTACK}"],
        "table": [{"arm": ATTACK, f"col {ATTACK}": 0.5, "users": 400}]})
    ws.save()


def test_no_user_text_escapes(ws):
    _attack(ws)
    html = build_report(ws)
    assert ATTACK not in html
    assert "<img" not in html
    tags = parse(html)
    assert "img" not in tags.tags
    # Scripts: plotly's library, one per figure (3 overview + a card per persona), the
    # reproducibility record (JSON) and the print helper; none carries the payload as code.
    assert tags.tags.count("script") == 1 + 3 + 4 + 1 + 1
    assert html.lower().count("<script") == html.lower().count("</script>") == 10
    for body in tags.scripts[1:]:
        assert ATTACK not in body and "</script" not in body.lower()
    visible = "".join(tags.text)
    for text in (ATTACK, f"desc {ATTACK}", f"trait {ATTACK}", f"Lift {ATTACK}",
                 f"shop {ATTACK}", f"col {ATTACK}"):
        assert text in visible  # shown to the reader as plain text


def test_feature_names_from_a_user_table_are_escaped(tmp_path):
    rng = np.random.default_rng(0)
    column = '<b onmouseover="x()">spend</b>'
    table = pd.DataFrame({"id": [f"c{i}" for i in range(200)],
                          column: np.r_[rng.normal(0, 1, 100), rng.normal(6, 1, 100)],
                          "visits": np.r_[rng.normal(0, 1, 100), rng.normal(6, 1, 100)]})
    ws = Workspace()
    actions.load_user_table_into(ws, table, "crm <script>.csv", "id")
    actions.cluster_into(ws, PreprocessConfig(features=(column, "visits")),
                          ClusterConfig(k=2, random_state=0))
    html = build_report(ws)
    assert column not in html and "<b " not in html
    assert "&lt;b onmouseover=&quot;x()&quot;&gt;spend&lt;/b&gt;" in html
    assert "per-user table" in html


def test_report_is_self_contained_and_complete(ws):
    html = build_report(ws)
    tags = parse(html)
    # Offline: no external script, stylesheet or image.
    assert not any(t in tags.tags for t in ("link", "img", "iframe"))
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert len(tags.scripts[0]) > 1_000_000  # plotly.js itself, embedded once
    assert html.count('class="plotly-graph-div"') == 3 + 4
    visible = " ".join(tags.text)
    for reason, count in ws.data.report.dropped.items():
        if count:
            assert f"{reason.replace('_', ' ')}" in visible and f"{count:,}" in visible
    assert f"{USERS:,}" in visible
    assert "K-Means" in visible and "k = 4, random_state = 0" in visible
    assert "Silhouette" in visible and "Davies-Bouldin" in visible
    stability = ws.clustering.stability
    assert f"{stability.mean:.2f} ± {stability.sd:.2f}" in visible
    for name in ws.personas.names.values():
        assert name in visible
    for persona in ws.personas.personas.values():
        assert persona["action"] in visible
    assert "A/B test" not in visible  # no experiment summary yet
    assert "@media print" in html and "break-inside: avoid" in html


def test_report_of_stale_personas_uses_the_current_clusters(ws):
    personas.update_persona(ws, "Cluster 1", name="Kept name")
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                          ClusterConfig(k=4, random_state=5))
    ws.set_frame("clusters", ws.clusters.assign(
        cluster=ws.clusters["cluster"].map({"Cluster 1": "Cluster 4", "Cluster 4": "Cluster 1"}
                                           ).fillna(ws.clusters["cluster"])))
    stored = copy.deepcopy(ws.personas)
    html = build_report(ws)
    assert "Kept name" in html
    assert ws.personas == stored  # the report does not change the workspace


def test_report_needs_clusters(ws):
    actions.forget_clusters(ws)
    with pytest.raises(ConfigError, match="Clustering page"):
        build_report(ws)


def run(*args: str) -> subprocess.CompletedProcess:
    return run_cli(*args)


def test_cli_report_from_a_workspace_zip(ws, tmp_path):
    personas.update_persona(ws, "Cluster 2", name="Night readers")
    bundle = tmp_path / "workspace.zip"
    bundle.write_bytes(export_bundle(ws))
    out = tmp_path / "report.html"
    done = run("report", str(bundle), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "Wrote the persona report" in done.stdout
    html = out.read_text(encoding="utf-8")
    assert "Night readers" in html and html.count('class="plotly-graph-div"') == 7
    bad = run("report", str(bundle), "-o", str(tmp_path / "report.pdf"))
    assert bad.returncode == 2 and "must end in .html" in bad.stderr
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    bad = run("report", str(junk), "-o", str(out))
    assert bad.returncode == 3 and "not a zip" in bad.stderr
