"""Writers of the corpus's inputs: small files shaped like what analysts really upload,
good, awkward and broken. Every writer takes a folder and returns the path it wrote."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

#: Six events of three users over three days: the base most inputs change one thing of.
HEADER = "user_id,event,ts,revenue"
ROWS = [
    "u1,view,2024-03-01T10:00:00Z,",
    "u1,purchase,2024-03-01T10:05:00Z,20.5",
    "u2,view,2024-03-02T09:00:00Z,",
    "u2,view,2024-03-02T09:30:00Z,",
    "u3,view,2024-03-03T18:00:00Z,",
    "u3,purchase,2024-03-03T18:10:00Z,7",
]
GOOD_CSV = "\n".join([HEADER, *ROWS]) + "\n"


def text(name: str, content: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    """A writer of ``content`` as the file ``name``."""
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content.encode(encoding))
        return path
    return write


def raw(name: str, content: bytes) -> Callable[[Path], Path]:
    """A writer of bytes as the file ``name``."""
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path
    return write


def rows(*lines: str, header: str = HEADER, name: str = "events.csv"
         ) -> Callable[[Path], Path]:
    """The base header with other rows."""
    return text(name, "\n".join([header, *lines]) + "\n")


def frame(name: str, data: pd.DataFrame) -> Callable[[Path], Path]:
    """A data frame written by the suffix of ``name`` (csv, parquet, jsonl, xlsx)."""
    def write(folder: Path) -> Path:
        path = folder / name
        if name.endswith(".parquet"):
            data.to_parquet(path, index=False)
        elif name.endswith(".jsonl"):
            data.to_json(path, orient="records", lines=True)
        else:
            data.to_csv(path, index=False)
        return path
    return write


def good_frame() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(GOOD_CSV))


def compressed(kind: str, name: str) -> Callable[[Path], Path]:
    data = GOOD_CSV.encode()
    packed = {"gzip": gzip.compress, "bz2": bz2.compress}[kind](data)
    return raw(name, packed)


def zipped_csv(name: str) -> Callable[[Path], Path]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("events.csv", GOOD_CSV)
    return raw(name, buffer.getvalue())


def tarred_csv(name: str) -> Callable[[Path], Path]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        info = tarfile.TarInfo("events.csv")
        info.size = len(GOOD_CSV)
        tf.addfile(info, io.BytesIO(GOOD_CSV.encode()))
    return raw(name, buffer.getvalue())


def excel(name: str, sheets: dict[str, pd.DataFrame]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for sheet, data in sheets.items():
                data.to_excel(writer, sheet_name=sheet, index=False)
        return path
    return write


def ga4_jsonl(name: str = "ga4.jsonl") -> Callable[[Path], Path]:
    """Two GA4 BigQuery export rows: nested event_params and ecommerce."""
    def row(user: str, micros: int, event: str, value: float | None) -> dict:
        params = [{"key": "page_location", "value": {"string_value": "/home"}},
                  {"key": "ga_session_id", "value": {"int_value": 17}}]
        ecommerce = {"purchase_revenue": value} if value is not None else None
        return {"event_date": "20240301", "event_timestamp": micros, "event_name": event,
                "user_pseudo_id": user, "event_params": params, "ecommerce": ecommerce}
    lines = [row("a.1", 1709287200000000, "page_view", None),
             row("a.1", 1709287260000000, "purchase", 12.5),
             row("b.2", 1709373600000000, "page_view", None)]
    return text(name, "\n".join(json.dumps(r) for r in lines) + "\n")


def feature_table(name: str = "features.csv", users: int = 60, constant: bool = False,
                  bad_cells: bool = False) -> Callable[[Path], Path]:
    """A per-user table of two groups (sessions and revenue apart)."""
    rng = np.random.default_rng(7)
    half = users // 2
    data = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(users)],
        "sessions": np.r_[rng.normal(3, 0.5, half), rng.normal(12, 1, users - half)],
        "revenue": np.r_[rng.normal(10, 2, half), rng.normal(90, 5, users - half)],
        "plan": ["free"] * half + ["pro"] * (users - half),
    })
    if constant:
        data["country_count"] = 1.0
    if bad_cells:
        data["sessions"] = data["sessions"].astype(object)
        data.loc[0, "sessions"], data.loc[1, "sessions"] = "NaN", "inf"
    return frame(name, data)


def experiment(name: str = "ab.csv", per_arm: int = 400, rates=(0.10, 0.14),
               arms=("control", "treatment"), extra: str = "") -> Callable[[Path], Path]:
    """Per-user A/B rows with a 0/1 conversion and a revenue."""
    rng = np.random.default_rng(11)
    parts = []
    sizes = per_arm if isinstance(per_arm, tuple) else (per_arm,) * len(arms)
    for arm, rate, n in zip(arms, rates, sizes, strict=True):
        converted = (rng.random(n) < rate).astype(int)
        parts.append(pd.DataFrame({"variant": arm, "converted": converted,
                                   "revenue": converted * rng.uniform(5, 50, n)}))
    data = pd.concat(parts, ignore_index=True)
    data.insert(0, "user_id", [f"u{i}" for i in range(len(data))])
    if extra == "unusable":
        data["converted"] = data["converted"].astype(object)
        data.loc[:4, "converted"] = "maybe"
    return frame(name, data)


def rules_file(name: str, condition: dict, window: str | None = None
               ) -> Callable[[Path], Path]:
    rule = {"id": "r1", "name": "Rule", "enabled": True, "condition": condition,
            "action": {"module": "banner", "slot": "hero", "priority": 1,
                       "cap": {"count": 3, "per": "session"}, "holdout_percent": 0}}
    document = {"format": "persona-lens-rules", "version": 1, "rules": [rule]}
    return text(name, json.dumps(document))


def nested_not(depth: int) -> dict:
    condition: dict = {"subject": "sessions", "op": ">", "value": 1}
    for _ in range(depth):
        condition = {"not": condition}
    return condition


def zip_members(name: str, members: dict[str, bytes],
                method: int = zipfile.ZIP_DEFLATED) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        with zipfile.ZipFile(path, "w", compression=method) as zf:
            for member, content in members.items():
                zf.writestr(member, content)
        return path
    return write
