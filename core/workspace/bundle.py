"""A workspace as one ``.zip`` to share: JSON and Parquet only, validated on the way in.

Layout of a bundle (every member at the top level, nothing else)::

    manifest.json        format, version, and the size and SHA-256 of every other member
    workspace.json       the workspace's settings and reports (core.workspace.store format)
    <frame>.parquet      one per stored frame (events, features, clusters, ...)

Nothing in a bundle is executed or unpickled. Import trusts nothing in the zip: member
names are compared with the expected list (so no paths, ``..``, absolute names or
symlinks get through), declared and actual sizes are bounded before anything is
inflated (zip bombs), checksums are compared with the manifest, the JSON must carry the
workspace format version and each Parquet file must have the shape its frame needs.
The imported workspace gets a new id; the id inside the zip is never used as a folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.common.errors import DataError
from core.common.export import parquet_bytes
from core.common.notices import Notice
from core.workspace.migrations import FORMAT_VERSION, migrate
from core.workspace.store import FRAMES, Workspace, new_id

BUNDLE_FORMAT = "persona-lens-workspace"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
SETTINGS = "workspace.json"
MIB = 1024 * 1024
#: The zip itself may be as large as an upload (.streamlit/config.toml, 1 GiB).
MAX_ZIP_BYTES = 1024 * MIB
#: Uncompressed size of one Parquet member; 10 M events take about 200 MiB.
MAX_MEMBER_BYTES = 1024 * MIB
#: Uncompressed size of manifest.json and workspace.json: settings, not data.
MAX_JSON_BYTES = 32 * MIB
#: Uncompressed size of all members together.
MAX_TOTAL_BYTES = 1536 * MIB
#: Read members in pieces of this size, so an inflating member is stopped at the limit.
CHUNK = MIB


@dataclass(frozen=True)
class BundleLimits:
    """Size limits of an imported bundle, in bytes (tests pass small ones)."""

    zip_bytes: int = MAX_ZIP_BYTES
    member_bytes: int = MAX_MEMBER_BYTES
    json_bytes: int = MAX_JSON_BYTES
    total_bytes: int = MAX_TOTAL_BYTES


@dataclass
class ImportSummary:
    """What a bundle held: the original id, the frames and their sizes, and notes."""

    original_id: str
    dataset: str
    frames: dict[str, int] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)


@dataclass
class Bundle:
    """A validated bundle: the workspace (not saved) and what it held."""

    workspace: Workspace
    summary: ImportSummary


def expected_members() -> set[str]:
    """Names a bundle may hold: the two JSON files and one Parquet file per frame."""
    return {MANIFEST, SETTINGS, *(f"{name}.parquet" for name in FRAMES)}


# export ----------------------------------------------------------------------------------
def export_bundle(ws: Workspace, include_pseudonym_key: bool = False) -> bytes:
    """Return the workspace as zip bytes: settings, stored frames and a manifest.

    Parameters
    ----------
    ws : Workspace
    include_pseudonym_key : bool
        The key that turns user ids into pseudonyms is left out unless asked for:
        whoever holds it can link pseudonyms back to real ids.

    Returns
    -------
    bytes
    """
    settings = ws.to_json()
    if not include_pseudonym_key:
        settings["data"]["pseudonym_key"] = None
    members = {SETTINGS: json.dumps(settings, indent=2, default=str).encode("utf-8")}
    for name in FRAMES:
        frame = ws.frame(name)
        if frame is not None:
            members[f"{name}.parquet"] = parquet_bytes(frame)
    manifest = {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION,
        "workspace_format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pseudonym_key_included": include_pseudonym_key and bool(ws.data.pseudonym_key),
        "members": {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                    for name, data in members.items()},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=2), zipfile.ZIP_DEFLATED)
        for name, data in members.items():
            # Parquet is compressed already; deflating it again costs time for nothing.
            method = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            zf.writestr(name, data, method)
    return buffer.getvalue()


def bundle_name(ws: Workspace) -> str:
    """A file name for the workspace's zip: ``persona-lens-<id>-<date>.zip``."""
    return f"persona-lens-{ws.id}-{datetime.now(UTC):%Y%m%d}.zip"


# import ----------------------------------------------------------------------------------
def read_bundle(source: str | Path | bytes, limits: BundleLimits = BundleLimits()
                ) -> Workspace:
    """Validate a bundle and return its workspace under a new id, not saved.

    Parameters
    ----------
    source : str, Path or bytes
        The zip file or its content.
    limits : BundleLimits
        Size limits.

    Returns
    -------
    Workspace

    Raises
    ------
    DataError
        When anything in the zip is not exactly what an exported workspace holds.
    """
    return open_bundle(source, limits).workspace


def import_bundle(source: str | Path | bytes, limits: BundleLimits = BundleLimits()
                  ) -> Workspace:
    """Validate a bundle and save its workspace under a new id in the workspace home."""
    return open_bundle(source, limits, save=True).workspace


def open_bundle(source: str | Path | bytes, limits: BundleLimits = BundleLimits(),
                save: bool = False) -> Bundle:
    """Validate a bundle; return its workspace (new id) and a summary of what it held.

    With ``save``, the workspace is written to the workspace home (only once every
    check has passed, so a refused zip leaves nothing behind).
    """
    with _zip(source, limits) as zf:
        data = _read_members(zf, limits)
    manifest = _manifest(data.pop(MANIFEST))
    _check_checksums(manifest, data)
    settings = _settings(data.pop(SETTINGS))
    frames = {name.removesuffix(".parquet"): _frame(name, raw) for name, raw in data.items()}
    bundle = _workspace(settings, frames)
    if save:
        bundle.workspace.save()
    return bundle


def _zip(source: str | Path | bytes, limits: BundleLimits) -> zipfile.ZipFile:
    if isinstance(source, (bytes, bytearray)):
        size, handle = len(source), io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"'{path}' is not a file. Check the path.")
        size, handle = os.path.getsize(path), path
    if size > limits.zip_bytes:
        raise DataError(f"The zip is {size / MIB:,.1f} MiB, above the limit of "
                        f"{limits.zip_bytes / MIB:,.0f} MiB for a workspace.")
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError("The file is not a zip archive. Choose a workspace .zip exported "
                        f"from Persona Lens ({exc}).") from exc


def _read_members(zf: zipfile.ZipFile, limits: BundleLimits) -> dict[str, bytes]:
    """Check every entry's name, kind and declared size, then read them within limits."""
    infos = zf.infolist()
    _check_names(infos)
    declared = 0
    for info in infos:
        limit = _limit(info.filename, limits)
        if info.file_size > limit:
            raise DataError(f"'{info.filename}' would unpack to {info.file_size / MIB:,.1f} "
                            f"MiB, above the limit of {limit / MIB:,.0f} MiB. The zip is not "
                            "a workspace export (or it is too large to import).")
        declared += info.file_size
    if declared > limits.total_bytes:
        raise DataError(f"The zip would unpack to {declared / MIB:,.1f} MiB, above the limit "
                        f"of {limits.total_bytes / MIB:,.0f} MiB.")
    data, total = {}, 0
    for info in infos:
        data[info.filename] = _read_limited(zf, info, _limit(info.filename, limits))
        total += len(data[info.filename])
        if total > limits.total_bytes:
            raise DataError(f"The zip unpacks to more than {limits.total_bytes / MIB:,.0f} "
                            "MiB. It is not a workspace export.")
    return data


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    allowed = expected_members()
    names = [info.filename for info in infos]
    for info in infos:
        name = info.filename
        if "/" in name or "\\" in name or ".." in name or name.startswith(("/", "~")) \
                or ":" in name:
            raise DataError(f"The zip holds a path ('{name}'); a workspace zip holds its files "
                            "at the top level only. It was not exported by Persona Lens; "
                            "nothing was imported.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError(f"'{name}' in the zip is a symbolic link; nothing was imported.")
        if info.flag_bits & 0x1:
            raise DataError(f"'{name}' in the zip is encrypted; export the workspace again "
                            "without a password.")
        if name not in allowed:
            raise DataError(f"The zip holds '{name}', which a workspace export never holds "
                            f"(expected only {', '.join(sorted(allowed))}). Nothing was "
                            "imported.")
    # Counted in one pass: a crafted zip may repeat an allowed name many thousand times.
    duplicated = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicated:
        raise DataError(f"The zip holds '{duplicated[0]}' more than once; nothing was imported.")
    for required in (MANIFEST, SETTINGS):
        if required not in names:
            raise DataError(f"The zip has no {required}; it is not a workspace exported from "
                            "Persona Lens.")


def _limit(name: str, limits: BundleLimits) -> int:
    return limits.json_bytes if name.endswith(".json") else limits.member_bytes


def _read_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Inflate one member, stopping as soon as it exceeds its declared size or the limit."""
    cap = min(limit, info.file_size)
    parts, size = [], 0
    try:
        with zf.open(info) as handle:
            while chunk := handle.read(min(CHUNK, cap + 1 - size)):
                parts.append(chunk)
                size += len(chunk)
                if size > cap:
                    raise DataError(f"'{info.filename}' unpacks to more than its declared "
                                    f"{info.file_size:,} bytes; the zip is damaged or "
                                    "crafted. Nothing was imported.")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise DataError(f"'{info.filename}' in the zip cannot be read ({exc}). Export the "
                        "workspace again.") from exc
    return b"".join(parts)


def _json(name: str, raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{name} in the zip is not valid JSON ({exc}). Nothing was "
                        "imported.") from exc
    if not isinstance(value, dict):
        raise DataError(f"{name} in the zip is not a JSON object. Nothing was imported.")
    return value


def _manifest(raw: bytes) -> dict[str, Any]:
    manifest = _json(MANIFEST, raw)
    if manifest.get("format") != BUNDLE_FORMAT:
        raise DataError("The zip's manifest.json is not a Persona Lens workspace manifest.")
    if manifest.get("version") != BUNDLE_VERSION:
        raise DataError(f"The workspace zip has version {manifest.get('version')!r}; this "
                        f"version of Persona Lens reads version {BUNDLE_VERSION}.")
    if not isinstance(manifest.get("members"), dict):
        raise DataError("The zip's manifest.json lists no members.")
    return manifest


def _check_checksums(manifest: dict[str, Any], data: dict[str, bytes]) -> None:
    listed = manifest["members"]
    if set(listed) != set(data):
        missing, extra = set(listed) - set(data), set(data) - set(listed)
        raise DataError("The zip's files do not match its manifest ("
                        + "; ".join(p for p in (
                            f"missing: {', '.join(sorted(missing))}" if missing else "",
                            f"not listed: {', '.join(sorted(extra))}" if extra else "") if p)
                        + "). Nothing was imported.")
    for name, raw in data.items():
        entry = listed[name]
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if hashlib.sha256(raw).hexdigest() != expected:
            raise DataError(f"'{name}' does not match the checksum in the manifest: the zip "
                            "was changed or damaged after export. Nothing was imported.")


def _settings(raw: bytes) -> dict[str, Any]:
    """workspace.json of the zip, brought to the current format (older exports open)."""
    return migrate(_json(SETTINGS, raw))


#: What each frame needs to be usable: index name and required columns.
FRAME_SHAPES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "events": (None, ("user_id", "ts", "event")),
    "features": ("user_id", ()),
    "clusters": ("user_id", ("cluster",)),
    "segments": (None, ("segment", "user_id")),
}


def _frame(member: str, raw: bytes) -> pd.DataFrame:
    name = member.removesuffix(".parquet")
    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"'{member}' in the zip is not a readable Parquet file ({exc}). "
                        "Nothing was imported.") from exc
    odd = [f.name for f in table.schema if isinstance(f.type, pa.ExtensionType)]
    if odd:
        raise DataError(f"'{member}' has columns of an extension type ({', '.join(odd)}), "
                        "which a workspace export never writes. Nothing was imported.")
    try:
        frame = table.to_pandas()
    except (pa.ArrowException, ValueError, TypeError, KeyError) as exc:
        raise DataError(f"'{member}' cannot be read as a table ({exc}).") from exc
    index_name, columns = FRAME_SHAPES.get(name, (None, ()))
    if index_name and frame.index.name != index_name:
        raise DataError(f"'{member}' should be indexed by {index_name}, not "
                        f"{frame.index.name or 'row numbers'}. Nothing was imported.")
    if index_name and not frame.index.is_unique:
        raise DataError(f"'{member}' lists a user more than once. Nothing was imported.")
    lacking = [c for c in columns if c not in frame.columns]
    if lacking:
        raise DataError(f"'{member}' lacks column(s) {', '.join(lacking)}. Nothing was "
                        "imported.")
    return frame


def _workspace(settings: dict[str, Any], frames: dict[str, pd.DataFrame]) -> Bundle:
    original = str(settings.get("id", ""))
    ignored = sorted(set(settings) - set(Workspace().to_json()))
    ws = Workspace.from_json({**settings, "id": new_id()})
    for name in FRAMES:
        ws.set_frame(name, frames.get(name))
    summary = ImportSummary(original_id=original[:40],
                            dataset=ws.data.name or "(no data)",
                            frames={name: len(frame) for name, frame in frames.items()})
    if ignored:
        summary.notices.append(Notice("unknown_settings", "Settings this version does not "
                                      f"know were ignored: {', '.join(ignored[:10])}."))
    if frames.get("clusters") is not None and frames.get("features") is not None:
        strays = frames["clusters"].index.difference(frames["features"].index)
        if len(strays):
            summary.notices.append(Notice("clustered_users_without_features", (
                f"{len(strays):,} clustered user(s) are not in the feature table.")))
    return Bundle(ws, summary)
