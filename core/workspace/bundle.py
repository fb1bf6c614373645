"""A workspace as one ``.zip`` to share: JSON and Parquet only, validated on the way in.

Layout of a bundle (every member at the top level, nothing else)::

    manifest.json        format, version, and the size and SHA-256 of every other member
    workspace.json       the workspace's settings and reports (core.workspace.store format)
    <frame>.parquet      one per stored frame (events, features, clusters, ...)

Nothing in a bundle is executed or unpickled. Import trusts nothing in the zip and
checks it in three steps, each before anything of the next is inflated:

1. The zip's directory: its size, the number of members, their names (so no paths,
   ``..``, absolute names or symlinks get through), their compression method, each
   declared size against its limit, the total, and the ratio of declared to compressed
   size (a zip bomb declares far more than any export).
2. manifest.json, inflated alone: its format and version, and that it lists exactly the
   other members with the sizes the directory declares.
3. The other members one at a time, each read in chunks and stopped at its declared
   size, compared with its checksum in the manifest and parsed (JSON must carry the
   workspace format version, each Parquet file must have the shape its frame needs)
   before the next one is inflated.

Memory bound: besides the zip itself (when given as bytes) and what has been parsed so
far (the settings and the frames), an import holds the inflated bytes of one member at a
time, at most its declared size (``BundleLimits.member_bytes``), plus a chunk or two
while it is inflated and its Arrow table while it becomes a DataFrame. A member that
inflates to more than it declares is stopped after its declared size. The imported
workspace gets a new id; the id inside the zip is never used as a folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

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
#: Size of the zip's directory (its table of contents). zipfile parses all of it into
#: objects on opening, before anything can be checked; an export's takes under 1 KiB.
MAX_DIRECTORY_BYTES = MIB
#: Declared size over compressed size. Exports store Parquet as it is (ratio 1) and JSON
#: deflates about 5 times; zeros deflate about 1000 times, which is what bombs hold.
MAX_RATIO = 200
#: Read members in pieces of this size, so an inflating member is stopped at the limit.
CHUNK = MIB
#: Members declaring less than this are not ratio-checked: tiny repetitive JSON may
#: deflate very well, and a member this small cannot exhaust memory anyway.
RATIO_FLOOR = MIB
#: The methods export writes. zipfile inflates bzip2 and LZMA members a whole read at
#: a time with no bound on the output, so a member in those could not be capped.
METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


@dataclass(frozen=True)
class BundleLimits:
    """Limits of an imported bundle, checked before anything is inflated.

    Peak memory of an import is about one member's inflated bytes (at most
    ``member_bytes``) plus the frames parsed so far, besides the zip itself when it is
    given as bytes: members are inflated one at a time, each stopped at its declared size.
    Tests pass small limits.

    Attributes
    ----------
    zip_bytes : int
        Size of the zip file.
    member_bytes : int
        Declared uncompressed size of one Parquet member.
    json_bytes : int
        Declared uncompressed size of manifest.json and of workspace.json.
    total_bytes : int
        Declared uncompressed size of all members together.
    directory_bytes : int
        Size of the zip's directory, which zipfile parses whole on opening.
    ratio : float
        Largest declared-to-compressed size ratio of a member of at least
        ``RATIO_FLOOR`` bytes; above it the member is taken for a zip bomb.
    """

    zip_bytes: int = MAX_ZIP_BYTES
    member_bytes: int = MAX_MEMBER_BYTES
    json_bytes: int = MAX_JSON_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    directory_bytes: int = MAX_DIRECTORY_BYTES
    ratio: float = MAX_RATIO


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
    """Validate a bundle and return its workspace under a new id, not saved (the
    parameters and errors of :func:`open_bundle`)."""
    return open_bundle(source, limits).workspace


def import_bundle(source: str | Path | bytes, limits: BundleLimits = BundleLimits()
                  ) -> Workspace:
    """Validate a bundle and save its workspace under a new id in the workspace home."""
    return open_bundle(source, limits, save=True).workspace


def open_bundle(source: str | Path | bytes, limits: BundleLimits = BundleLimits(),
                save: bool = False) -> Bundle:
    """Validate a bundle; return its workspace (new id) and a summary of what it held.

    The directory is checked, then the manifest, then each member is inflated, verified
    and parsed in turn (see the module docstring for the memory this takes).

    Parameters
    ----------
    source : str, Path or bytes
        The zip file or its content.
    limits : BundleLimits
        Size limits.
    save : bool
        Write the workspace to the workspace home, only once every check has passed,
        so a refused zip leaves nothing behind.

    Returns
    -------
    Bundle

    Raises
    ------
    DataError
        When anything in the zip is not exactly what an exported workspace holds.
    """
    with _zip(source, limits) as zf:
        infos = _check_directory(zf.infolist(), limits)
        manifest = _manifest(_read_limited(zf, infos.pop(MANIFEST), limits.json_bytes))
        _check_manifest(manifest, infos)
        settings = _settings(_read_member(zf, infos.pop(SETTINGS), manifest, limits))
        # One member at a time: its bytes are dropped once its frame is parsed.
        frames = {name.removesuffix(".parquet"):
                  _frame(name, _read_member(zf, info, manifest, limits))
                  for name, info in infos.items()}
    bundle = _workspace(settings, frames)
    if save:
        bundle.workspace.save()
    return bundle


@contextmanager
def _zip(source: str | Path | bytes, limits: BundleLimits) -> Iterator[zipfile.ZipFile]:
    with _open(source, limits) as handle:
        _check_directory_size(handle, limits)
        try:
            zf = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise DataError("The file is not a zip archive. Choose a workspace .zip "
                            f"exported from Persona Lens ({exc}).") from exc
        with zf:
            yield zf


def _open(source: str | Path | bytes, limits: BundleLimits) -> IO[bytes]:
    if isinstance(source, (bytes, bytearray)):
        size = len(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"'{path}' is not a file. Check the path.")
        size = os.path.getsize(path)
    if size > limits.zip_bytes:
        raise DataError(f"The zip is {size / MIB:,.1f} MiB, above the limit of "
                        f"{limits.zip_bytes / MIB:,.0f} MiB for a workspace.")
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else path.open("rb")


def _check_directory_size(handle: IO[bytes], limits: BundleLimits) -> None:
    """Refuse a huge directory before zipfile turns each of its entries into an object.

    zipfile's own reader of the end record (private, but unchanged for many Python
    versions) is used so that the size checked is the size zipfile then parses: a 1 GiB
    zip may list twenty million entries.
    """
    try:
        end = zipfile._EndRecData(handle)
    except OSError:
        end = None  # zipfile says the file is not a zip when it opens it
    size = end[zipfile._ECD_SIZE] if end else 0
    if size > limits.directory_bytes:
        raise DataError(f"The zip's table of contents is {size:,} bytes, above the limit of "
                        f"{limits.directory_bytes:,} (an export's takes under 1 KiB). It "
                        "was not exported by Persona Lens; nothing was imported.")


def _check_directory(infos: list[zipfile.ZipInfo], limits: BundleLimits
                     ) -> dict[str, zipfile.ZipInfo]:
    """Check every entry's name, kind and declared size; return the entries by name."""
    # Names first (an unexpected or repeated name is the clearest message); the directory
    # size is already bounded, so this loop is too.
    _check_names(infos)
    for info in infos:
        _check_declared(info, limits)
    declared = sum(info.file_size for info in infos)
    if declared > limits.total_bytes:
        raise DataError(f"The zip would unpack to {declared / MIB:,.1f} MiB, above the limit "
                        f"of {limits.total_bytes / MIB:,.0f} MiB.")
    return {info.filename: info for info in infos}


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
    # Counted in one pass: a crafted zip may repeat an allowed name many times.
    duplicated = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicated:
        raise DataError(f"The zip holds '{duplicated[0]}' more than once; nothing was imported.")
    for required in (MANIFEST, SETTINGS):
        if required not in names:
            raise DataError(f"The zip has no {required}; it is not a workspace exported from "
                            "Persona Lens.")


def _check_declared(info: zipfile.ZipInfo, limits: BundleLimits) -> None:
    """Refuse a member whose method, declared size or compression ratio no export has."""
    name, limit = info.filename, _limit(info.filename, limits)
    if info.compress_type not in METHODS:
        raise DataError(f"'{name}' in the zip is compressed with method "
                        f"{info.compress_type}; a workspace export only stores or deflates "
                        "its files. Export the workspace again from Persona Lens.")
    if info.file_size > limit:
        raise DataError(f"'{name}' would unpack to {info.file_size / MIB:,.1f} MiB, above "
                        f"the limit of {limit / MIB:,.0f} MiB. The zip is not a workspace "
                        "export (or it is too large to import).")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= RATIO_FLOOR and ratio > limits.ratio:
        raise DataError(f"'{name}' would unpack to {info.file_size / MIB:,.1f} MiB from "
                        f"{info.compress_size / MIB:,.2f} MiB, {ratio:,.0f} times its size "
                        f"in the zip (an export stays under {limits.ratio:,.0f}): the zip "
                        "looks like a zip bomb. Nothing was imported.")


def _limit(name: str, limits: BundleLimits) -> int:
    return limits.json_bytes if name.endswith(".json") else limits.member_bytes


def _read_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytearray:
    """Inflate one member in chunks into a buffer of its declared size, never past it.

    At most one byte past the cap is asked for, so a member that inflates to more than
    its entry declares is stopped there, whatever the zip says about itself.
    """
    cap = min(limit, info.file_size)
    buffer, size = bytearray(cap), 0
    try:
        with zf.open(info) as handle, memoryview(buffer) as view:
            while chunk := handle.read(min(CHUNK, cap + 1 - size)):
                if size + len(chunk) > cap:
                    raise _wrong_size(info, f"it inflates past {cap:,} bytes")
                view[size:size + len(chunk)] = chunk
                size += len(chunk)
    except zipfile.BadZipFile as exc:
        # zipfile stops at the declared size too, and then the CRC-32 does not match.
        if "CRC" in str(exc):
            raise _wrong_size(info, f"reading stopped there: {exc}") from exc
        raise _unreadable(info, exc) from exc
    except (OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _unreadable(info, exc) from exc
    if size != info.file_size:
        raise _wrong_size(info, f"it ends after {size:,} bytes")
    return buffer


def _wrong_size(info: zipfile.ZipInfo, detail: str) -> DataError:
    return DataError(f"'{info.filename}' does not unpack to the {info.file_size:,} bytes "
                     f"its zip entry declares ({detail}). The zip is damaged or crafted; "
                     "nothing was imported. Export the workspace again.")


def _unreadable(info: zipfile.ZipInfo, exc: Exception) -> DataError:
    return DataError(f"'{info.filename}' in the zip cannot be read ({exc}). Export the "
                     "workspace again.")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, manifest: dict[str, Any],
                 limits: BundleLimits) -> bytearray:
    """Inflate one member within its limit and compare it with the manifest's checksum."""
    raw = _read_limited(zf, info, _limit(info.filename, limits))
    if hashlib.sha256(raw).hexdigest() != manifest["members"][info.filename]["sha256"]:
        raise DataError(f"'{info.filename}' does not match the checksum in the manifest: "
                        "the zip was changed or damaged after export. Nothing was imported.")
    return raw


def _json(name: str, raw: bytes | bytearray) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{name} in the zip is not valid JSON ({exc}). Nothing was "
                        "imported.") from exc
    if not isinstance(value, dict):
        raise DataError(f"{name} in the zip is not a JSON object. Nothing was imported.")
    return value


def _manifest(raw: bytes | bytearray) -> dict[str, Any]:
    manifest = _json(MANIFEST, raw)
    if manifest.get("format") != BUNDLE_FORMAT:
        raise DataError("The zip's manifest.json is not a Persona Lens workspace manifest.")
    if manifest.get("version") != BUNDLE_VERSION:
        raise DataError(f"The workspace zip has version {manifest.get('version')!r}; this "
                        f"version of Persona Lens reads version {BUNDLE_VERSION}.")
    if not isinstance(manifest.get("members"), dict):
        raise DataError("The zip's manifest.json lists no members.")
    return manifest


def _check_manifest(manifest: dict[str, Any], infos: dict[str, zipfile.ZipInfo]) -> None:
    """The manifest must list exactly the other members, with the sizes the zip declares."""
    listed = manifest["members"]
    if set(listed) != set(infos):
        missing, extra = set(listed) - set(infos), set(infos) - set(listed)
        raise DataError("The zip's files do not match its manifest ("
                        + "; ".join(p for p in (
                            f"missing: {', '.join(sorted(missing))}" if missing else "",
                            f"not listed: {', '.join(sorted(extra))}" if extra else "") if p)
                        + "). Nothing was imported.")
    for name, info in infos.items():
        entry = listed[name]
        size = entry.get("size") if isinstance(entry, dict) else None
        if not isinstance(size, int) or not isinstance(entry.get("sha256"), str):
            raise DataError(f"The zip's manifest.json gives no size and checksum for '{name}'. "
                            "Export the workspace again; nothing was imported.")
        if size != info.file_size:
            raise DataError(f"'{name}' is {info.file_size:,} bytes in the zip's directory but "
                            f"{size:,} bytes in its manifest.json: the zip was changed or "
                            "damaged after export. Export the workspace again; nothing was "
                            "imported.")


def _settings(raw: bytes | bytearray) -> dict[str, Any]:
    """workspace.json of the zip, brought to the current format (older exports open)."""
    return migrate(_json(SETTINGS, raw))


#: What each frame needs to be usable: index name and required columns.
FRAME_SHAPES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "events": (None, ("user_id", "ts", "event")),
    "features": ("user_id", ()),
    "clusters": ("user_id", ("cluster",)),
    "segments": (None, ("segment", "user_id")),
}


def _frame(member: str, raw: bytes | bytearray) -> pd.DataFrame:
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
