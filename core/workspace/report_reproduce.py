"""The persona report's record of how to reproduce it: data, settings, seeds, the
model's SHA-256 and the software versions, as a table and as JSON."""

from __future__ import annotations

import hashlib
import json
import platform
import tomllib
from dataclasses import asdict
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from core.segment import algorithms
from core.workspace.report_experiment import source_text
from core.workspace.report_html import (
    breakable,
    cell_value,
    esc,
)
from core.workspace.segment_export import model_sha256
from core.workspace.store import Workspace

#: The silhouette is computed on a sample drawn with this seed.
SILHOUETTE_RANDOM_STATE = 0


ROOT = Path(__file__).resolve().parents[2]
#: Libraries whose versions decide the numbers (a different scikit-learn can move a
#: K-Means solution).
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "pyarrow", "duckdb", "plotly")


@lru_cache(maxsize=1)
def persona_lens_version() -> str | None:
    """The version in pyproject.toml (the app runs from its checkout), else the
    installed package's, else None."""
    try:
        with open(ROOT / "pyproject.toml", "rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        pass
    try:
        return metadata.version("persona-lens")
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def software_versions() -> dict[str, str]:
    """Python and the libraries the numbers come from, with their versions."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def frame_sha256(frame: pd.DataFrame | None) -> str | None:
    """SHA-256 of a table's content: its column names and types, then pandas' hash of
    every row with its index. The same data loaded the same way gives the same value."""
    if frame is None:
        return None
    digest = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]
                                       ).encode("utf-8"))
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except TypeError:  # a column of values pandas cannot hash (lists, dicts)
        return None
    return digest.hexdigest()


def reproduce_record(ws: Workspace, model: dict[str, Any] | None, created: str,
                     metrics: dict[str, float] | None = None) -> dict[str, Any]:
    """Everything that reproduces the report, as a JSON-ready dict.

    The data and the hash of its feature table (the event log is not hashed: at millions
    of rows that would cost seconds each time the report is built), the load, feature,
    preprocessing and clustering settings with their seeds, the model's SHA-256 (as in
    the segment export's info file), the experiment's settings and the hash of its
    table, the software and the time the report was made.
    """
    data, info, section = ws.data, ws.feature_info, ws.clustering
    load = data.report
    record: dict[str, Any] = {
        "format": "persona-lens-report-reproduce", "version": 1,
        "generated_at": created, "persona_lens_version": persona_lens_version(),
        "software": software_versions(), "workspace": ws.id,
        "dataset": {"name": data.name, "kind": data.kind, "sample": data.sample,
                    "rows_read": None if load is None else load.rows_read,
                    "users": data.users, "events": data.events,
                    "period_utc": [data.first_ts, data.last_ts] if data.first_ts else None,
                    "features_sha256": frame_sha256(ws.features),
                    "mapping": data.mapping, "event_roles": data.event_roles,
                    "pseudonymised": bool(load and load.pseudonymised)},
        "load_config": None if data.load_config is None else data.load_config.to_dict(),
        "features": {"kind": info.kind, "selected": list(info.selected),
                     "config": None if info.config is None else info.config.to_dict()},
        "preprocess": None, "clustering": None, "model_sha256": model_sha256(model),
        "personas": dict(ws.personas.names), "experiment": None}
    if section is not None:
        cfg = section.config
        record["preprocess"] = section.preprocess.to_dict()
        record["clustering"] = {
            "algorithm": cfg.algorithm, "k": cfg.k, "random_state": cfg.random_state,
            "n_clusters": section.n_clusters, "sample_size": section.sample_size,
            "settings": asdict(cfg),
            "stability_runs": section.stability.runs if section.stability else None,
            "silhouette_sample": (metrics or {}).get("silhouette_sample"),
            "silhouette_random_state": SILHOUETTE_RANDOM_STATE}
    if ws.experiment is not None:
        table = ws.experiment_table
        record["experiment"] = {
            "source": ws.experiment.source,
            "rows": None if table is None else len(table),
            "table_sha256": frame_sha256(table),
            "spec": None if ws.experiment.spec is None else ws.experiment.spec.to_dict()}
    return record


def _settings(values: dict[str, Any] | None) -> str:
    """A settings dict as ``key = value`` items (escaped), or "—"."""
    if not values:
        return "—"
    return " · ".join(f"<code>{esc(k)} = {esc(_plain(v))}</code>" for k, v in values.items())


def _plain(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return "none" if value is None else str(value)


def _names(names: list[str]) -> str:
    return ", ".join(map(breakable, names)) or "—"


def _hash(value: str | None, what: str) -> str:
    return f'<code class="hash">{esc(value)}</code>' if value else esc(f"n/a ({what})")


def reproduce_json(record: dict[str, Any]) -> str:
    """The record as JSON safe inside a script element: ``<``, ``>`` and ``&`` are
    written as ``\\u003c`` ... so no text in it can end the element."""
    text = json.dumps(record, indent=1, sort_keys=True, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def reproduce_section(record: dict[str, Any]) -> str:
    """"How to reproduce this report": the record in words, then as JSON for programs."""
    data, features = record["dataset"], record["features"]
    sample = data.get("sample")
    rows: list[tuple[str, str]] = [
        ("Dataset", esc(f"{data['name'] or '(unknown)'} "
                        f"({'event log' if data['kind'] == 'events' else 'per-user table'})")),
        ("Size", esc(" · ".join(f"{label} {cell_value(data[key])}" for key, label in (
            ("rows_read", "rows read"), ("events", "events kept"), ("users", "users"))
            if data.get(key) is not None)))]
    if data.get("period_utc"):
        rows.append(("Period (UTC)", esc(" to ".join(map(str, data["period_utc"])))))
    if sample:
        rows.append(("Generated sample", esc(", ".join(f"{k} = {v}" for k, v in sample.items()))
                     + "<br><code>" + esc(
                         "python -m core sample -o events.parquet "
                         f"--users {sample.get('users')} --days {sample.get('days')} "
                         f"--seed {sample.get('seed')}") + "</code>"))
    rows += [("Features SHA-256", _hash(data["features_sha256"], "no feature table")
              + '<span class="sub">of the feature table the clustering read: its column '
                "names and types and every row</span>"),
             ("Column mapping", _settings({role: column for role, column
                                           in (data["mapping"] or {}).items() if column})),
             ("Funnel events", _settings(data["event_roles"])),
             ("Cleaning settings", _settings(record["load_config"])),
             # The funnel events are in their own row just above.
             ("Feature settings", _settings({"kind": features["kind"], **{
                 k: v for k, v in (features["config"] or {}).items() if k != "event_roles"}}))]
    cluster = record["clustering"]
    pre = dict(record["preprocess"] or {})
    clustered = pre.pop("features", None)
    if clustered is None or list(clustered) == list(features["selected"]):
        rows.append(("Features", _names(features["selected"] or clustered or [])
                     + ('<span class="sub">chosen on the Features page and clustered</span>'
                        if clustered is not None else "")))
    else:
        rows += [("Features chosen", _names(features["selected"])),
                 ("Features clustered", _names(clustered))]
    if cluster is not None:
        rows += [("Preprocessing", _settings(pre)),
                 ("Clustering", esc(f"{algorithms.label(cluster['algorithm'])}, "
                                    f"k = {cluster['k']}, seed (random_state) = "
                                    f"{cluster['random_state']}")
                  + "<br>" + _settings(cluster["settings"])),
                 ("Seeds", esc(
                     f"clustering {cluster['random_state']}; preprocessing "
                     f"{pre.get('random_state')}; silhouette sample "
                     f"{cluster['silhouette_random_state']}"
                     + (f"; sample data {sample.get('seed')}" if sample else "")))]
        if cluster["stability_runs"]:
            rows.append(("Stability", esc(f"{cluster['stability_runs']} bootstrap refits")))
    rows.append(("Model SHA-256", _hash(record["model_sha256"], "not clustered")
                 + '<span class="sub">of the model JSON of these clusters, as in the segment '
                   "export's info file</span>"))
    experiment = record["experiment"]
    if experiment is not None:
        rows += [("Experiment", esc(source_text(experiment["source"] or {}))
                  + (f" · {experiment['rows']:,} rows" if experiment["rows"] else "")),
                 ("Experiment table SHA-256", _hash(experiment["table_sha256"], "no table")),
                 ("Experiment settings", _settings(experiment["spec"]))]
    rows += [("Persona Lens", esc(record["persona_lens_version"] or "unknown version")),
             ("Software", esc(", ".join(f"{k} {v}" for k, v in record["software"].items()))),
             ("Workspace", f"<code>{esc(record['workspace'])}</code>"),
             ("Generated (UTC)", esc(record["generated_at"]))]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"""<section class="reproduce"><h2>How to reproduce this report</h2>
<p>Import the workspace export (.zip) into Persona Lens
{esc(record['persona_lens_version'] or '')} and download the report again, or run
<code>python -m core report workspace.zip -o report.html</code>. To redo it from the data,
load it with the mapping and cleaning settings below, choose the same features, and
cluster with the same preprocessing, algorithm, k and seed: the features hash tells
whether the clustering reads the same table. The same record, for programs, is the JSON in
this file's <code>&lt;script id="reproduce"&gt;</code> element.</p>
<table class="facts reproduce-facts">{body}</table></section>
<script type="application/json" id="reproduce">{reproduce_json(record)}</script>"""
