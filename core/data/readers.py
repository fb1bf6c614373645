"""Readers: turn an uploaded file or a path into a raw table, with a message for every
way a file can be unusable.

Text files are read with every column as text so that ids such as ``00123`` keep
their leading zeros; types are decided later, per role, in :mod:`core.data.cleaning`.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.common.errors import DataError, FileTooLargeError

FileFormat = Literal["csv", "parquet", "jsonl", "excel"]
Delimiter = Literal["auto", ",", ";", "\t", "|"]
Encoding = Literal["auto", "utf-8", "cp1252", "latin-1"]

#: Largest file accepted, matching ``server.maxUploadSize`` in .streamlit/config.toml.
MAX_FILE_BYTES = 1024 * 1024 * 1024
#: Bytes looked at to guess the delimiter; a few lines are enough.
SNIFF_BYTES = 64 * 1024

EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".xlsx": "excel", ".xlsm": "excel",
}
UPLOAD_TYPES = [ext.lstrip(".") for ext in EXTENSIONS]


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; "auto" means guess."""

    delimiter: Delimiter = "auto"
    encoding: Encoding = "auto"
    sheet: str | None = None
    max_bytes: int = MAX_FILE_BYTES


@dataclass
class RawTable:
    """A file as read, before any mapping or cleaning."""

    frame: pd.DataFrame
    name: str
    file_format: FileFormat
    notes: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    delimiter: str | None = None
    encoding: str | None = None


def detect_format(name: str) -> FileFormat:
    """Return the file format implied by the file name's extension."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        raise DataError(
            f"'{name}' is an old-style Excel file (.xls), which cannot be read. "
            "Open it in Excel or LibreOffice and save it as .xlsx or .csv."
        )
    if suffix not in EXTENSIONS:
        raise DataError(
            f"'{name}' has the extension '{suffix or '(none)'}', which is not a supported "
            f"format. Use CSV/TSV, Parquet, JSON lines or Excel ({', '.join(EXTENSIONS)})."
        )
    return EXTENSIONS[suffix]


def read_path(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> RawTable:
    """Read a file from disk; see :func:`read_bytes`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"File '{path}' does not exist. Check the path.")
    size = path.stat().st_size
    _check_size(path.name, size, options.max_bytes)
    return read_bytes(path.read_bytes(), path.name, options)


def read_bytes(data: bytes, name: str, options: ReadOptions = ReadOptions()) -> RawTable:
    """Read an uploaded file.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file name; its extension decides the format.
    options : ReadOptions
        Delimiter, encoding, Excel sheet and size limit.

    Returns
    -------
    RawTable

    Raises
    ------
    DataError
        With a message saying what is wrong and what to do, for empty files, files
        with a header only, unreadable or damaged files and files over the limit.
    """
    _check_size(name, len(data), options.max_bytes)
    if len(data) == 0:
        raise DataError(
            f"'{name}' is empty (0 bytes). Choose a file with a header row and one row per "
            "event (or one row per user)."
        )
    fmt = detect_format(name)
    reader = {"csv": _read_delimited, "parquet": _read_parquet,
              "jsonl": _read_json, "excel": _read_excel}[fmt]
    table = reader(data, name, options)
    table.frame, renamed = dedupe_column_names(table.frame)
    if renamed and renamed not in table.notes:
        table.notes.append(renamed)
    if len(table.frame.columns) == 0:
        raise DataError(f"'{name}' has no columns. Choose a file with a header row.")
    if len(table.frame) == 0:
        cols = ", ".join(map(str, table.frame.columns[:8]))
        raise DataError(
            f"'{name}' has a header ({cols}) but no rows. Export the data again with its rows."
        )
    return table


def _check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise FileTooLargeError(
            f"'{name}' is {size / 1e9:.2f} GB; the limit is {limit / 1e9:.2f} GB. "
            "Export fewer days or a sample of users, or convert it to Parquet "
            "(usually 5-10x smaller) and load that."
        )


def _decode_check(data: bytes, name: str, encoding: Encoding) -> tuple[str, str | None]:
    """Pick an encoding; return it and a note when the file was not UTF-8."""
    if encoding != "auto":
        return encoding, None
    try:
        data.decode("utf-8")
        return "utf-8-sig", None
    except UnicodeDecodeError as exc:
        return "cp1252", (
            f"'{name}' is not valid UTF-8 (byte 0x{data[exc.start]:02x} at position "
            f"{exc.start}); it was read as Windows-1252. If letters look wrong, choose the "
            "right encoding under 'Read options' or save the file as UTF-8."
        )


def _sniff_delimiter(text: str, name: str) -> str:
    """Pick the delimiter that splits the header line into the most fields.

    Headers are short, rarely quoted and free of the free text that confuses
    ``csv.Sniffer``; ties go to the extension's default (tab for .tsv, else comma).
    """
    default = "\t" if Path(name).suffix.lower() in (".tsv", ".tab") else ","
    header = text.splitlines()[0] if text else ""
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in (",", ";", "\t", "|")}
    best = max(counts.values())
    return default if counts[default] == best else max(counts, key=counts.get)


def _read_delimited(data: bytes, name: str, options: ReadOptions) -> RawTable:
    encoding, note = _decode_check(data, name, options.encoding)
    head = data[:SNIFF_BYTES].decode(encoding, errors="replace")
    sniff_text = head.rsplit("\n", 1)[0] if "\n" in head else head
    delimiter = (
        _sniff_delimiter(sniff_text, name) if options.delimiter == "auto" else options.delimiter
    )
    header_line = sniff_text.splitlines()[0] if sniff_text else ""
    names = next(csv.reader([header_line.lstrip("\ufeff")], delimiter=delimiter), [])
    notes = [note] if note else []
    repeat = _repeat_note(names)
    if repeat:
        notes.append(repeat)
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=delimiter, encoding=encoding, dtype=str,
            keep_default_na=False, na_values=[""], skip_blank_lines=True,
            on_bad_lines="error", engine="c",
            names=_unique_names(names) if names else None, header=0 if names else "infer",
            encoding_errors="replace" if note else "strict",
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"'{name}' has no header row or no data. {exc}") from exc
    except pd.errors.ParserError as exc:
        raise DataError(
            f"'{name}' could not be read as a table with delimiter {_show(delimiter)}: {exc}. "
            "Check that every row has the same number of fields, or choose another delimiter "
            "under 'Read options'."
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"'{name}' is not valid {encoding} text ({exc.reason} at byte {exc.start}). "
            "Choose another encoding under 'Read options'."
        ) from exc
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for other in (";", "\t", "|", ","):
            if other != delimiter and other in header:
                raise DataError(
                    f"Only one column was read from '{name}', and its header contains "
                    f"{_show(other)}: the file seems to use {_show(other)} as its delimiter, "
                    f"not {_show(delimiter)}. Choose delimiter {_show(other)} under "
                    "'Read options'."
                )
    return RawTable(frame, name, "csv", notes, delimiter=delimiter, encoding=encoding)


def _show(delimiter: str) -> str:
    return {"\t": "tab", ",": "',' (comma)", ";": "';' (semicolon)", "|": "'|' (pipe)"}.get(
        delimiter, repr(delimiter)
    )


def _read_parquet(data: bytes, name: str, options: ReadOptions) -> RawTable:
    try:
        # ParquetFile.read accepts repeated column names, which read_table refuses.
        table = pq.ParquetFile(pa.BufferReader(data)).read()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise DataError(
            f"'{name}' is not a readable Parquet file; it may be truncated or damaged "
            f"({exc}). Export or download it again."
        ) from exc
    names = [str(n) for n in table.column_names]
    note = _repeat_note(names)
    if note:
        table = table.rename_columns(_unique_names(names))
    return RawTable(table.to_pandas(), name, "parquet", [note] if note else [])


def _read_json(data: bytes, name: str, options: ReadOptions) -> RawTable:
    encoding, note = _decode_check(data, name, options.encoding)
    text = data.decode(encoding, errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            frame = pd.read_json(io.StringIO(text), orient="records", dtype=False)
        else:
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
    except ValueError as exc:
        raise DataError(
            f"'{name}' is not valid JSON lines (one JSON object per line) or a JSON array "
            f"of objects: {exc}. Check the file, or export it as CSV."
        ) from exc
    nested = [c for c in frame.columns
              if frame[c].map(lambda v: isinstance(v, dict | list)).any()]
    notes = [note] if note else []
    if nested:
        flat = pd.json_normalize(frame.to_dict("records"), sep=".")
        notes.append(f"Nested fields ({', '.join(map(str, nested))}) were flattened into "
                     "columns named like 'parent.child'.")
        frame = flat
    return RawTable(frame, name, "jsonl", notes, encoding=encoding)


def _read_excel(data: bytes, name: str, options: ReadOptions) -> RawTable:
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
    except Exception as exc:  # openpyxl raises several unrelated types for bad files
        raise DataError(
            f"'{name}' is not a readable Excel workbook ({type(exc).__name__}: {exc}). "
            "Save it again as .xlsx or export it as CSV."
        ) from exc
    sheets = [str(s) for s in book.sheet_names]
    sheet = options.sheet or sheets[0]
    if sheet not in sheets:
        raise DataError(
            f"'{name}' has no sheet named '{sheet}'. Sheets: {', '.join(sheets)}."
        )
    frame = pd.read_excel(book, sheet_name=sheet, header=None)
    notes = []
    if len(frame):
        names = ["" if pd.isna(v) else str(v) for v in frame.iloc[0]]
        names = [n or f"column_{i + 1}" for i, n in enumerate(names)]
        repeat = _repeat_note(names)
        if repeat:
            notes.append(repeat)
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.columns = _unique_names(names)
        frame = frame.infer_objects()
    if len(sheets) > 1 and options.sheet is None:
        notes.append(
            f"'{name}' has {len(sheets)} sheets ({', '.join(sheets)}); the first, "
            f"'{sheet}', was read. Choose another under 'Read options' if needed."
        )
    return RawTable(frame, name, "excel", notes, sheets=sheets)


def _unique_names(names: list[str]) -> list[str]:
    """Rename repeats to ``name_2``, ``name_3``... never taking a name the file uses."""
    names = [str(n) for n in names]
    taken = set(names)
    seen: set[str] = set()
    out = []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
            continue
        k = 2
        while f"{n}_{k}" in taken:
            k += 1
        candidate = f"{n}_{k}"
        taken.add(candidate)
        out.append(candidate)
    return out


def _repeat_note(names: list[str]) -> str | None:
    """Say which column names repeat and what they were renamed to, or None."""
    names = [str(n) for n in names]
    repeats = sorted({n for n in names if names.count(n) > 1})
    if not repeats:
        return None
    new_names = _unique_names(names)
    renamed = [new for old, new in zip(names, new_names, strict=True) if old != new]
    shown = ", ".join(f"'{r}' ({names.count(r)} times)" for r in repeats)
    return (f"The file has repeated column names: {shown}. The repeats were renamed "
            f"({', '.join(renamed)}). Check which one you map.")


def dedupe_column_names(frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """Rename repeated column names to ``name_2``, ``name_3``... and say so."""
    names = [str(c) for c in frame.columns]
    note = _repeat_note(names)
    if not note:
        return frame, None
    frame = frame.copy()
    frame.columns = _unique_names(names)
    return frame, note
