"""The persona report's A/B table reads in words and holds the analysis' numbers, names
the experiment and its settings, colours personas as the app does, and records what
reproduces it (seeds, settings, the model's SHA-256) as visible text and as JSON."""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.sample import generate_sample
from core.experiments.analysis import ExperimentSpec, analyse_experiment, guess_columns
from core.experiments.words import json_ready
from core.segment.clustering import ClusterConfig
from core.segment.labels import PALETTE
from core.segment.preprocess import PreprocessConfig
from core.workspace import actions, personas
from core.workspace.model import model_from_workspace
from core.workspace.report import build_report
from core.workspace.report_reproduce import frame_sha256
from core.workspace.segment_export import export_info, segment_export
from core.workspace.store import Workspace

ROOT = Path(__file__).resolve().parents[3]
USERS, DAYS, SEED = 800, 60, 11
ATTACK = "<script>alert(1)</script>"
NBSP = "\u00a0"
SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))


class Report(HTMLParser):
    """The tables of a report (class -> rows of cell texts) and its JSON script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts: dict[str, str] = {}  # by id
        self.bodies: list[str] = []  # every script
        self.card_colours: list[str] = []
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("class", ""), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "span" and attrs.get("class") == "sub" and self._cell is not None:
            self._cell.append(" | ")  # the qualifying line under a number
        elif tag == "script":
            self._script = attrs.get("id", "")
            self.scripts[self._script] = ""
        elif tag == "section" and "card" in (attrs.get("class") or "").split():
            self.card_colours.append(re.search(r"--persona: (#[0-9A-Fa-f]{6})",
                                               attrs.get("style", "")).group(1))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "script":
            self.bodies.append(self.scripts.pop(self._script) if not self._script
                               else self.scripts[self._script])
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self.scripts[self._script] += data
        elif self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Report:
    report = Report()
    report.feed(html)
    return report


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERSONA_LENS_HOME", str(tmp_path_factory.mktemp("home")))
    sample = generate_sample(n_users=USERS, days=DAYS, seed=SEED)
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, USERS, DAYS, SEED)
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                          ClusterConfig(k=4, random_state=7))
    personas.refresh_personas(ws)
    actions.store_experiment_table(ws, sample.experiment, {
        "name": "Sample experiment", "n_users": USERS, "days": DAYS, "seed": SEED})
    mp.undo()
    return ws, sample.experiment


@pytest.fixture
def ws(base):
    base_ws, _ = base
    ws = Workspace.from_json({**base_ws.to_json(), "id": uuid.uuid4().hex[:12]})
    for name in ("events", "features", "clusters", "experiment"):
        ws.set_frame(name, base_ws.frame(name))
    ws.save()
    return ws


def analyse(ws: Workspace, frame: pd.DataFrame, **settings) -> object:
    """Analyse like the Experiments page with its default settings and keep the summary."""
    guess = guess_columns(frame)
    spec = ExperimentSpec(variant_col=guess.variant, layout=guess.layout,
                          metrics=tuple(guess.metrics), user_col=guess.user,
                          pre_col=guess.pre, **settings)
    analysis = analyse_experiment(frame, spec)
    actions.record_experiment_analysis(ws, spec, analysis.summary())
    return analysis


def pct(value: float, signed: bool = False) -> str:
    """A share as the report prints it, worked out here: 0.0912 -> '9.1 %'."""
    return f"{value * 100:{'+' if signed else ''}.1f}{NBSP}%"


def p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def test_ab_table_reads_in_words_and_holds_the_analysis(ws, base):
    analysis = analyse(ws, base[1])
    report = parse(build_report(ws))
    rows = report.tables["grid ab"]
    headers, body = rows[0], rows[1:]
    assert headers == ["Metric", "Control", "Variant", "Difference (95 % CI)",
                       "Relative lift", "p-value (Holm)", "Chance to beat control", "Verdict"]
    assert not any(SNAKE.match(h) or "_" in h for h in headers)
    assert len(body) == len(analysis.comparisons) == 2  # conversion and revenue
    for row, cells in zip(analysis.comparisons, body, strict=True):
        cell = dict(zip(headers, cells, strict=True))
        if row.kind == "conversion":
            assert cell["Metric"].startswith("conversion")
            assert cell["Control"].startswith(f"control: {pct(row.control_value)}")
            assert cell["Variant"].startswith(f"treatment: {pct(row.treatment_value)}")
            low, high = (f"{v * 100:+.2f}{NBSP}pp" for v in row.difference_ci)
            assert cell["Difference (95 % CI)"] == (
                f"{row.difference * 100:+.2f}{NBSP}pp | {low} to {high}")
            assert cell["Chance to beat control"] == pct(row.prob_beats_control)
        else:
            assert cell["Metric"].startswith("mean revenue")
            assert cell["Control"].startswith(f"control: {row.control_value:,.2f}")
            low, high = (f"{v:+,.2f}" for v in row.difference_ci)
            assert cell["Difference (95 % CI)"] == f"{row.difference:+,.2f} | {low} to {high}"
            assert cell["Chance to beat control"] == "—"  # Beta posteriors are for rates
        assert f"{row.control_n:,} users" in cell["Control"]
        assert f"{row.treatment_n:,} users" in cell["Variant"]
        lo, hi = row.relative_lift_ci
        assert cell["Relative lift"] == (f"{pct(row.relative_lift, True)} | "
                                         f"{pct(lo, True)} to {pct(hi, True)}")
        assert cell["p-value (Holm)"].startswith(p_text(row.p_adjusted))
        if row.p_adjusted != row.p_value:
            assert f"unadjusted {p_text(row.p_value)}" in cell["p-value (Holm)"]
        assert cell["Verdict"] == ("Significant: " + ("higher" if row.difference > 0
                                                       else "lower")
                                   if row.significant else "Not significant")


def test_ab_section_names_the_experiment_and_its_settings(ws, base):
    analysis = analyse(ws, base[1], alpha=0.1, correction="bonferroni", prior=(2.0, 3.0),
                       interval="newcombe", alternative="greater")
    html = build_report(ws)
    section = html[html.index('<section class="experiment">'):]
    section = section[:section.index("</section>")]
    text = re.sub(r"<[^>]+>", " ", section)
    text = re.sub(r"\s+", " ", text)
    users = analysis.users
    for expected in ("Experiment Sample experiment (n users = 800, days = 60, seed = 11)",
                     f"Rows {len(base[1]):,}", f"Users analysed {sum(users):,}",
                     "Variant column variant", f"Control {analysis.control}, ",
                     "Metrics converted, revenue", "α = 0.1 (90 % intervals)",
                     "Hypothesis one-sided: treatment better",
                     "Correction Bonferroni, over all comparisons",
                     "Difference interval Newcombe hybrid score", "Beta(2, 3)",
                     "Planned split equal", "Pre-period (CUPED) pre_period_revenue",
                     "User column user_id"):
        assert expected in text, expected
    headers = parse(html).tables["grid ab"][0]
    assert headers[3] == "Difference (90 % CI)" and headers[5] == "p-value (Bonferroni)"
    # One-sided: the interval has one bound, said in words rather than "inf" or "nan".
    assert " or more" in text and "inf" not in text.lower().replace("info", "")
    assert "nan" not in text.split()


def test_thousands_separators_and_per_segment_breakdown(ws):
    rng = np.random.default_rng(5)
    n = 6_000
    variant = np.where(np.arange(n) % 2, "treatment", "control")
    frame = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(n)], "variant": variant,
        "converted": rng.random(n) < np.where(variant == "treatment", 0.14, 0.12),
        "revenue": rng.normal(1_480, 150, n) + np.where(variant == "treatment", 25, 0),
        "device": rng.choice(["mobile", "desktop", "tablet"], n)})
    actions.store_experiment_table(ws, frame, {"name": "checkout.csv"})
    guess = guess_columns(frame)
    spec = ExperimentSpec(variant_col="variant", metrics=tuple(guess.metrics),
                          user_col="user_id", segment_col="device")
    analysis = analyse_experiment(frame, spec)
    summary = analysis.summary()
    # The Experiments page may or may not put the breakdown in the summary: give it one.
    summary.setdefault("segments", json_ready(analysis.segments))
    actions.record_experiment_analysis(ws, spec, summary)
    tables = parse(build_report(ws)).tables
    ab = tables["grid ab"]
    revenue = next(r for r in ab[1:] if r[0].startswith("mean revenue"))
    assert "3,000 users" in revenue[1]
    assert re.match(r"control: 1,\d{3}\.\d\d", revenue[1])
    segments = tables["grid segments"]
    assert not any(SNAKE.match(h) or "_" in h for h in segments[0])
    assert len(segments) - 1 == len(analysis.segments) == 3 * 2
    assert {r[0] for r in segments[1:]} == {"desktop", "mobile", "tablet"}
    for cells, (_, row) in zip(segments[1:], analysis.segments.iterrows(), strict=True):
        assert cells[0] == row["segment"] and f"{int(row['control_n']):,} users" in cells[3]
    assert max(len(r) for r in segments) == 8  # compact: eight columns, not dozens


def test_reproduce_record_holds_seeds_settings_and_the_model_hash(ws, base):
    analyse(ws, base[1])
    model = model_from_workspace(ws)
    info = export_info(ws, segment_export(ws), model)
    html = build_report(ws, model=model)
    body = parse(html).scripts["reproduce"]
    assert "</" not in body
    record = json.loads(body)
    cluster = record["clustering"]
    assert (cluster["algorithm"], cluster["k"], cluster["random_state"]) == ("kmeans", 4, 7)
    assert cluster["settings"]["random_state"] == 7 and cluster["n_clusters"] == 4
    assert record["model_sha256"] == info["model_sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", record["model_sha256"])
    assert record["dataset"]["sample"] == {"users": USERS, "days": DAYS, "seed": SEED}
    assert record["dataset"]["users"] == USERS
    assert record["dataset"]["features_sha256"] == frame_sha256(ws.features)
    assert record["features"]["selected"] == list(ws.feature_info.selected)
    assert record["preprocess"] == json.loads(json.dumps(ws.clustering.preprocess.to_dict()))
    assert record["load_config"] == json.loads(json.dumps(ws.data.load_config.to_dict()))
    assert record["experiment"]["spec"] == json.loads(json.dumps(ws.experiment.spec.to_dict()))
    assert record["experiment"]["rows"] == len(base[1])
    with open(ROOT / "pyproject.toml", "rb") as file:
        assert record["persona_lens_version"] == tomllib.load(file)["project"]["version"]
    assert {"python", "numpy", "pandas", "scikit-learn"} <= set(record["software"])
    made = datetime.fromisoformat(record["generated_at"])
    assert made.tzinfo is not None and abs((datetime.now(UTC) - made).total_seconds()) < 120
    # The same record in words.
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "How to reproduce this report" in text
    assert info["model_sha256"] in text and record["dataset"]["features_sha256"] in text
    assert "seed (random_state) = 7" in text
    assert f"--users {USERS} --days {DAYS} --seed {SEED}" in text
    # Without a model given, the report makes one: a hash all the same.
    again = json.loads(parse(build_report(ws)).scripts["reproduce"])
    assert re.fullmatch(r"[0-9a-f]{64}", again["model_sha256"])


def test_features_hash_follows_the_table(ws):
    before = frame_sha256(ws.features)
    assert before == frame_sha256(ws.features.copy())
    changed = ws.features.copy()
    changed.iloc[0, 0] = changed.iloc[0, 0] + 1
    assert frame_sha256(changed) != before
    assert frame_sha256(None) is None


def test_persona_colours_match_the_apps(ws):
    html = build_report(ws)
    report = parse(html)
    labels = sorted(ws.clusters["cluster"].astype(str).unique(),
                    key=lambda label: int(label.rsplit(" ", 1)[1]))
    expected = [PALETTE[int(label.rsplit(" ", 1)[1]) - 1] for label in labels]
    assert report.card_colours == expected
    snake = next(s for s in report.bodies if "Snake plot" in s)
    # The traces come first in the figure's JSON, then the layout and its template.
    assert re.findall(r'"line":\{"color":"(#[0-9A-Fa-f]{6})"\}', snake)[:4] == expected


def test_hostile_experiment_and_data_names_are_escaped(ws, base):
    frame = base[1].copy()
    frame["variant"] = frame["variant"].map({"control": "control",
                                             "treatment": f"new {ATTACK}"})
    frame = frame.rename(columns={"revenue": f"rev{ATTACK}"})
    frame["segment"] = np.where(np.arange(len(frame)) % 2, f"seg {ATTACK}", "plain")
    ws.data.name = f'shop "{ATTACK}'
    actions.store_experiment_table(ws, frame, {"name": f"ab {ATTACK}.csv"})
    spec = ExperimentSpec(variant_col="variant", metrics=("converted", f"rev{ATTACK}"),
                          user_col="user_id", segment_col="segment")
    analysis = analyse_experiment(frame, spec)
    summary = analysis.summary()
    summary.setdefault("segments", json_ready(analysis.segments))
    actions.record_experiment_analysis(ws, spec, summary)
    html = build_report(ws)
    assert ATTACK not in html and "<script>alert" not in html
    report = parse(html)
    body = report.scripts["reproduce"]
    assert "</script" not in body.lower() and "<" not in body
    record = json.loads(body)
    assert record["dataset"]["name"] == f'shop "{ATTACK}'
    assert record["experiment"]["source"]["name"] == f"ab {ATTACK}.csv"
    assert record["experiment"]["spec"]["metrics"] == ["converted", f"rev{ATTACK}"]
    cells = " ".join(c for rows in report.tables.values() for r in rows for c in r)
    for shown in (f"new {ATTACK}", f"seg {ATTACK}", f"rev{ATTACK}"):
        assert shown in cells  # shown to the reader as text, never run
