"""Readers: turn an uploaded file or a path into a raw table, with a message for every
way a file can be unusable.

The format is decided from the bytes: compression (gzip, zstd, bzip2, xz) by its magic
number, then Parquet and XLSX by theirs, JSON by its first character, and anything else
that is text as delimited text. The name's extension only breaks ties, so RecBole
``.inter``, MovieLens ``.dat``, ``.log`` and files without an extension are read like
``.csv``, and a zip or binary file named ``.csv`` is told apart before any delimiter
is guessed.

Text files are read with every column as text so that ids such as ``00123`` keep
their leading zeros; types are decided later, per role, in :mod:`core.data.cleaning`.
Nested JSON and Parquet columns are flattened by :mod:`core.data.flatten`.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.common.errors import DataError, FileTooLargeError
from core.common.progress import Progress
from core.data.flatten import flatten_events

FileFormat = Literal["csv", "parquet", "jsonl", "excel"]
#: "whitespace" is a run of spaces or tabs (MovieLens ``u.data``-style layouts), "::" the
#: double colon of MovieLens 1M/10M ``.dat`` files.
Delimiter = Literal["auto", ",", ";", "\t", "|", "::", "whitespace"]
Encoding = Literal["auto", "utf-8", "cp1252", "latin-1"]
Compression = Literal["gzip", "zstd", "bz2", "xz"]

#: Largest file accepted, matching ``server.maxUploadSize`` in .streamlit/config.toml; a
#: compressed file is held to it once decompressed, since that is what memory holds.
MAX_FILE_BYTES = 1024 * 1024 * 1024
#: Bytes looked at to guess the delimiter; a few lines are enough.
SNIFF_BYTES = 64 * 1024
#: Lines a delimiter must split alike to be chosen; enough to see a value that holds it.
SNIFF_LINES = 20
#: Bytes searched for a NUL to call a file binary (the same heuristic as git's).
BINARY_PROBE_BYTES = 8000

EXTENSIONS: dict[str, FileFormat | None] = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".psv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".xlsx": "excel", ".xlsm": "excel",
    # Text whose layout only the content tells: RecBole .inter, MovieLens .dat/.data,
    # exported logs. Any other extension, or none, is also read by its content.
    ".txt": None, ".dat": None, ".data": None, ".inter": None, ".log": None,
}
#: Compressed files by suffix; the bytes decide (a .gz a browser already unpacked is
#: read as it is), the suffix only names the codec in messages.
COMPRESSED_SUFFIXES: dict[str, Compression] = {
    ".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2",
    ".xz": "xz",
}
#: Magic numbers: gzip (RFC 1952), zstd frame (RFC 8878), bzip2 ("BZh" + block size 1-9)
#: and xz.
COMPRESSION_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\xfd7zXZ\x00", "xz"),
    *((b"BZh" + str(n).encode(), "bz2") for n in range(1, 10)),
)
UPLOAD_TYPES = [ext.lstrip(".") for ext in (*EXTENSIONS, *COMPRESSED_SUFFIXES)]
#: Formats refused by name (SPSS, Stata, SAS, R, PDF, Word, OpenDocument): they cannot be
#: read, and their name says so more plainly than their bytes would.
REFUSED_EXTENSIONS = (".sav", ".dta", ".sas7bdat", ".rds", ".rdata", ".pdf", ".doc",
                      ".docx", ".ods", ".numbers")
#: Archives hold files rather than a table; the analyst has to pick the file inside.
ARCHIVE_EXTENSIONS = (".zip", ".7z", ".rar", ".tar", ".tgz")
PARQUET_MAGIC = b"PAR1"
#: The files of a folder read as one Parquet table.
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Names a folder's reader skips, as pyarrow.dataset does: hidden files and the
#: ``_metadata`` / ``_SUCCESS`` files that Spark and Hive writers leave beside the parts.
IGNORED_PREFIXES = (".", "_")
#: A zip's local file header, or the end record of an empty zip; XLSX is a zip too.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: The OLE2 compound file of old Office documents (.xls, .doc).
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: POSIX tar writes "ustar" at byte 257 of its first header.
TAR_MAGIC_OFFSET, TAR_MAGIC = 257, b"ustar"
#: Excel's "Unicode text" export is UTF-16 with a byte-order mark (tab-separated).
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: Single-character delimiters, tried before '::' and runs of spaces (a space also occurs
#: inside values); tab is the default of these suffixes, comma of all others.
SNIFFED_DELIMITERS = (",", ";", "\t", "|")
TAB_SUFFIXES = (".tsv", ".tab", ".inter")
#: A header cell that is a number means the file has no header (MovieLens u.data).
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Stands in for '::' while parsing; the ASCII unit separator does not occur in text.
UNIT_SEPARATOR = b"\x1f"
SHOWN_DELIMITERS = {"\t": "tab", ",": "',' (comma)", ";": "';' (semicolon)",
                    "|": "'|' (pipe)", "::": "'::' (double colon)",
                    "whitespace": "runs of spaces"}
FORMAT_LABELS: dict[str | None, str] = {
    "csv": "CSV text", "parquet": "Parquet", "jsonl": "JSON lines",
    "excel": "an Excel workbook", None: "a table",
}


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
    compression: Compression | None = None
    #: How a feature table written by ``python -m core features`` was made, in words.
    provenance: str | None = None


def detect_format(name: str) -> FileFormat | None:
    """Return the file format the name implies, or None when only the content can tell.

    Parameters
    ----------
    name : str
        A file name; a compression suffix is looked through (``events.csv.gz`` is CSV).

    Returns
    -------
    str or None
        "csv", "parquet", "jsonl" or "excel"; None for plain-text extensions (``.txt``,
        ``.inter``, ``.dat``...), unknown ones and names without an extension.

    Raises
    ------
    DataError
        For formats that cannot be read: old Excel, archives, statistics packages,
        documents.
    """
    suffix = Path(_inner_name(name)).suffix.lower()
    if suffix == ".xls":
        raise DataError(
            f"'{name}' is an old-style Excel file (.xls), which cannot be read. "
            "Open it in Excel or LibreOffice and save it as .xlsx or .csv."
        )
    if suffix in ARCHIVE_EXTENSIONS:
        raise DataError(f"'{name}' is an archive ({suffix}), not a table: extract it first "
                        "and load the file inside.")
    if suffix in REFUSED_EXTENSIONS:
        known = ", ".join(e for e in EXTENSIONS if EXTENSIONS[e])
        raise DataError(
            f"'{name}' has the extension '{suffix}', which is not a supported format. "
            f"Use CSV/TSV, Parquet, JSON lines or Excel ({known}); any other text file "
            "is read by its content."
        )
    return EXTENSIONS.get(suffix)


def sniff_format(data: bytes, name: str) -> tuple[FileFormat, str | None]:
    """Decide the format of (decompressed) bytes; the name only breaks ties.

    Parameters
    ----------
    data : bytes
        The file's content, already decompressed.
    name : str
        The file name.

    Returns
    -------
    (str, str or None)
        The format, and a note when it is not the one the name implies.

    Raises
    ------
    DataError
        For a zip that is not a workbook, an old Office file, a tar archive and other
        binary content, saying what the file is and what to do.
    """
    named = detect_format(name)
    head = data[:SNIFF_BYTES]
    if head.startswith(PARQUET_MAGIC):
        found: FileFormat = "parquet"
    elif head.startswith(ZIP_MAGIC):
        found = _zip_format(data, name, named)
    elif named in ("parquet", "excel"):
        return named, None  # not its magic number: its reader says it is damaged
    else:
        _refuse_binary(head, name, named)
        found = "jsonl" if named == "jsonl" or _looks_like_json(head) else "csv"
    if named is None or named == found:
        return found, None
    return found, (f"'{name}' holds {FORMAT_LABELS[found]}, not {FORMAT_LABELS[named]} as "
                   f"its name says; it was read as {FORMAT_LABELS[found]}.")


def read_path(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> RawTable:
    """Read a file from disk (see :func:`read_bytes`), or a folder of Parquet files as one
    table (see :func:`read_parquet_folder`)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"File '{path}' does not exist. Check the path.")
    if path.is_dir():
        return read_parquet_folder(path, options)
    size = path.stat().st_size
    _check_size(path.name, size, options.max_bytes)
    return read_bytes(path.read_bytes(), path.name, options)


def read_bytes(data: bytes, name: str, options: ReadOptions = ReadOptions()) -> RawTable:
    """Read an uploaded file.

    Parameters
    ----------
    data : bytes
        The file's content, compressed (gzip, zstd, bzip2, xz) or not.
    name : str
        The file name; the content decides the format, the extension breaks ties.
    options : ReadOptions
        Delimiter, encoding, Excel sheet and size limit.

    Returns
    -------
    RawTable

    Raises
    ------
    DataError
        With a message saying what is wrong and what to do, for empty files, files
        with a header only, archives, binary, unreadable or damaged files and files
        over the limit.
    """
    _check_size(name, len(data), options.max_bytes)
    _check_not_empty(data, name, "")
    detect_format(name)  # refuse unreadable formats by name before decompressing
    data, compression, notes = _decompress(data, name, options.max_bytes)
    _check_not_empty(data, name, " once decompressed")
    if options.encoding == "auto":
        data, utf16_note = _utf16_to_utf8(data, name)
        notes += [utf16_note] if utf16_note else []
    fmt, format_note = sniff_format(data, name)
    notes += [format_note] if format_note else []
    reader = {"csv": _read_delimited, "parquet": _read_parquet,
              "jsonl": _read_json, "excel": _read_excel}[fmt]
    table = reader(data, name, options)
    table.notes[:0] = notes
    table.compression = compression
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


def _check_not_empty(data: bytes, name: str, when: str) -> None:
    if len(data) == 0:
        raise DataError(
            f"'{name}' is empty (0 bytes{when}). Choose a file with a header row and one "
            "row per event (or one row per user)."
        )


def _inner_name(name: str) -> str:
    """The name without a compression suffix: ``events.csv.gz`` -> ``events.csv``."""
    path = Path(name)
    return path.stem if path.suffix.lower() in COMPRESSED_SUFFIXES else name


def _compression(data: bytes) -> Compression | None:
    return next((codec for magic, codec in COMPRESSION_MAGIC if data.startswith(magic)),
                None)


def _decompress(data: bytes, name: str, limit: int) -> tuple[bytes, Compression | None,
                                                             list[str]]:
    """Decompress by magic number, refusing more than ``limit`` bytes of output."""
    codec = _compression(data)
    if codec is None:
        named = COMPRESSED_SUFFIXES.get(Path(name).suffix.lower())
        return data, None, [f"'{name}' is named like a {named} file but is not compressed; "
                            "it was read as it is."] if named else []
    try:
        with _open_compressed(data, codec) as stream:
            out = stream.read(limit + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, pa.ArrowException) as exc:
        raise DataError(
            f"'{name}' is {codec}-compressed but could not be decompressed ({exc}); it may "
            "be truncated or damaged. Download it again, or decompress it yourself and "
            "load the result."
        ) from exc
    if len(out) > limit:
        raise FileTooLargeError(
            f"'{name}' is more than {limit / 1e9:.2f} GB once decompressed, over the "
            "limit. Export fewer days or a sample of users, or convert it to Parquet "
            "(usually 5-10x smaller than text) and load that."
        )
    return out, codec, []


def _open_compressed(data: bytes, codec: Compression):
    """A readable stream of the decompressed bytes; zstd comes with pyarrow."""
    if codec == "gzip":
        return gzip.GzipFile(fileobj=io.BytesIO(data))
    if codec == "bz2":
        return bz2.BZ2File(io.BytesIO(data))
    if codec == "xz":
        return lzma.LZMAFile(io.BytesIO(data))
    return pa.CompressedInputStream(pa.BufferReader(data), "zstd")


def _utf16_to_utf8(data: bytes, name: str) -> tuple[bytes, str | None]:
    """Re-encode UTF-16 text (it has a byte-order mark) as UTF-8, with a note."""
    if not data.startswith(UTF16_BOMS):
        return data, None
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise DataError(f"'{name}' starts like UTF-16 text but is not valid UTF-16 "
                        f"({exc.reason}). Save it again as UTF-8 text.") from exc
    return text.encode("utf-8"), (f"'{name}' is UTF-16 text (as Excel saves 'Unicode "
                                  "text'); it was read as such.")


def _zip_format(data: bytes, name: str, named: FileFormat | None) -> FileFormat:
    """"excel" for a workbook (or a damaged one named .xlsx); any other zip is refused."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        members = []
    if named == "excel" or "xl/workbook.xml" in members:
        return "excel"
    inside = f" ({', '.join(members[:5])}{', ...' if len(members) > 5 else ''})" \
        if members else ""
    raise DataError(
        f"'{name}' is a zip archive, not {FORMAT_LABELS[named]}: unzip it first and load "
        f"the file inside{inside}."
    )


def _refuse_binary(head: bytes, name: str, named: FileFormat | None) -> None:
    """Raise DataError for content that is not text, saying what it is."""
    expected = FORMAT_LABELS[named]
    if head.startswith(OLE2_MAGIC):
        raise DataError(
            f"'{name}' is an old-style Office file (Excel .xls or Word .doc), not "
            f"{expected}. Open it in Excel or LibreOffice and save it as .xlsx or .csv."
        )
    if head[TAR_MAGIC_OFFSET:TAR_MAGIC_OFFSET + len(TAR_MAGIC)] == TAR_MAGIC:
        raise DataError(f"'{name}' is a tar archive, not {expected}: extract it first "
                        "(tar -xf) and load the file inside.")
    if b"\x00" in head[:BINARY_PROBE_BYTES]:
        raise DataError(
            f"'{name}' is binary, not text (it holds NUL bytes), so it cannot be read as "
            f"{expected}. Export the data as CSV, Parquet, JSON lines or Excel; if it is "
            "UTF-16 text, save it as UTF-8."
        )


def _looks_like_json(head: bytes) -> bool:
    """JSON lines start with an object, a JSON array with ``[`` and an object (or ``]``)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") or (
        text.startswith(b"[") and text[1:].lstrip().startswith((b"{", b"]")))


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


def _split_line(line: str, delimiter: str) -> list[str]:
    """The fields of one line: quoted CSV for one character, plain splits otherwise."""
    if delimiter == "whitespace":
        return line.split()
    if delimiter == "::":
        return line.split("::")
    return next(csv.reader([line], delimiter=delimiter), [])


def _sniff_delimiter(text: str, name: str) -> str:
    """Pick the delimiter that splits every sniffed line into the same number of fields.

    Tried in groups: the single characters (most fields first, ties to the extension's
    default: tab for .tsv/.tab/.inter, else comma), then '::', then runs of spaces.
    When none splits every line alike (quoted line breaks, ragged rows) the header line
    decides among the single characters. Headers are short and rarely quoted, which
    ``csv.Sniffer``'s guesses on free text are not.
    """
    default = "\t" if Path(_inner_name(name)).suffix.lower() in TAB_SUFFIXES else ","
    lines = [line for line in text.splitlines() if line.strip()][:SNIFF_LINES]
    counts = {d: [len(_split_line(line, d)) for line in lines]
              for d in (*SNIFFED_DELIMITERS, "::", "whitespace")}
    steady = {d: c[0] for d, c in counts.items() if c and c[0] > 1 and len(set(c)) == 1}
    for group in (SNIFFED_DELIMITERS, ("::",), ("whitespace",)):
        found = {d: steady[d] for d in group if d in steady}
        if found:
            return _most_fields(found, default)
    return _most_fields({d: counts[d][0] if lines else 0 for d in SNIFFED_DELIMITERS},
                        default)


def _most_fields(counts: dict[str, int], default: str) -> str:
    best = max(counts.values())
    return default if counts.get(default) == best else max(counts, key=counts.get)


def _header(sniff_text: str, delimiter: str, name: str) -> tuple[list[str], bool, str | None]:
    """The column names, whether the first line is a header, and a note when it is not."""
    header_line = sniff_text.splitlines()[0] if sniff_text else ""
    names = _split_line(header_line.lstrip("\ufeff"), delimiter)
    if not names or not all(NUMBER.fullmatch(n.strip()) for n in names):
        return names, True, None
    made = [f"column_{i + 1}" for i in range(len(names))]
    return made, False, (
        f"The first line of '{name}' holds only numbers ({', '.join(names[:4])}"
        f"{', ...' if len(names) > 4 else ''}), so it was read as data, not as a header; "
        f"the columns were named column_1 to column_{len(names)}. Map them to roles "
        "yourself (on the command line: --map user_id=column_1 and so on).")


def _read_delimited(data: bytes, name: str, options: ReadOptions) -> RawTable:
    encoding, note = _decode_check(data, name, options.encoding)
    head = data[:SNIFF_BYTES].decode(encoding, errors="replace")
    sniff_text = head.rsplit("\n", 1)[0] if "\n" in head else head
    delimiter = (
        _sniff_delimiter(sniff_text, name) if options.delimiter == "auto" else options.delimiter
    )
    names, has_header, header_note = _header(sniff_text, delimiter, name)
    notes = [n for n in (note, header_note, _repeat_note(names)) if n]
    frame = _parse_delimited(data, name, delimiter, encoding, names, has_header,
                             lenient=bool(note))
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas makes the first field an index when rows have one field more than the
        # header, shifting every value one column to the right.
        raise DataError(
            f"The rows of '{name}' have one field more than its header ({len(names)} "
            f"names) with delimiter {_show(delimiter)}. Check the header line (a name may "
            "be missing, or every row ends with a delimiter), or choose another delimiter "
            "under 'Read options'."
        )
    if len(frame.columns) == 1:
        _refuse_one_column(str(frame.columns[0]), name, delimiter)
    return RawTable(frame, name, "csv", notes, delimiter=delimiter, encoding=encoding)


def _parse_delimited(data: bytes, name: str, delimiter: str, encoding: str,
                     names: list[str], has_header: bool, lenient: bool) -> pd.DataFrame:
    """Read every column as text with pandas' C parser.

    '::' (unquoted MovieLens files) becomes a unit separator first, which the C parser
    reads 4x faster than its Python parser reads a two-character delimiter.
    """
    utf8 = encoding == "utf-8" or (encoding == "utf-8-sig" and (
        has_header or not data.startswith(b"\xef\xbb\xbf")))  # a BOM stays in the header
    if names and utf8 and not lenient and len(delimiter) == 1:
        frame = _parse_with_arrow(data, delimiter, _unique_names(names), has_header)
        if frame is not None:
            return frame
    sep, quoting = {"whitespace": r"\s+"}.get(delimiter, delimiter), csv.QUOTE_MINIMAL
    if delimiter == "::":
        if UNIT_SEPARATOR in data:
            raise DataError(f"'{name}' uses '::' as its delimiter but also holds byte 0x1f, "
                            "which cannot be read. Save it with tabs between fields.")
        data, sep, quoting = data.replace(b"::", UNIT_SEPARATOR), "\x1f", csv.QUOTE_NONE
    try:
        return pd.read_csv(
            io.BytesIO(data), sep=sep, encoding=encoding, dtype=str, quoting=quoting,
            keep_default_na=False, na_values=[""], skip_blank_lines=True,
            on_bad_lines="error", engine="c",
            names=_unique_names(names) if names else None,
            header=(0 if has_header else None) if names else "infer",
            encoding_errors="replace" if lenient else "strict",
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


def _parse_with_arrow(data: bytes, delimiter: str, names: list[str], has_header: bool
                      ) -> pd.DataFrame | None:
    """Every column as text with Arrow's multi-threaded reader, the same cells as the C
    parser gives (1.5 M rows: 3.1 s to about 1 s); None for anything it will not read as
    the C parser would (a row with more or fewer fields, say), which then reads it and
    says what is wrong."""
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=int(has_header)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)


def _refuse_one_column(header: str, name: str, delimiter: str) -> None:
    """Raise when the one header read holds another delimiter: the choice was wrong."""
    for other in (";", "\t", "|", ","):
        if other != delimiter and other in header:
            raise DataError(
                f"Only one column was read from '{name}', and its header contains "
                f"{_show(other)}: the file seems to use {_show(other)} as its delimiter, "
                f"not {_show(delimiter)}. Choose delimiter {_show(other)} under "
                "'Read options'."
            )


def _show(delimiter: str) -> str:
    return SHOWN_DELIMITERS.get(delimiter, repr(delimiter))


def _read_parquet(data: bytes, name: str, options: ReadOptions) -> RawTable:
    try:
        # ParquetFile.read accepts repeated column names, which read_table refuses.
        table = pq.ParquetFile(pa.BufferReader(data)).read()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise DataError(
            f"'{name}' is not a readable Parquet file; it may be truncated or damaged "
            f"({exc}). Export or download it again."
        ) from exc
    return _arrow_table(table, name)


def _arrow_table(table: pa.Table, name: str) -> RawTable:
    """A Parquet table as a raw table: repeated names renamed, nested columns flattened."""
    names = [str(n) for n in table.column_names]
    note = _repeat_note(names)
    if note:
        table = table.rename_columns(_unique_names(names))
    frame, notes = table.to_pandas(), [note] if note else []
    nested = [i for i, f in enumerate(table.schema) if pa.types.is_nested(f.type)]
    for i in nested:
        # As Python objects: to_pandas turns a nested int64 with nulls into floats.
        frame.isetitem(i, pd.Series(table.column(i).to_pylist(), dtype=object))
    if nested:
        frame, flat_notes = flatten_events(frame)
        notes += flat_notes
    return RawTable(frame, name, "parquet", notes,
                    provenance=provenance_note(table.schema.metadata))


def provenance_note(metadata: dict[bytes, bytes] | None) -> str | None:
    """What a feature table written by ``python -m core features`` says about how it was
    made (its Parquet metadata), in words; None for any other file."""
    import json

    from core.common.export import PROVENANCE_KEY

    raw = (metadata or {}).get(PROVENANCE_KEY.encode())
    if raw is None:
        return None
    try:
        made = json.loads(raw)
        engine = {"spark": "Apache Spark", "duckdb": "DuckDB"}.get(made.get("engine"),
                                                                    str(made.get("engine")))
        where = f" ({made['master']})" if made.get("master") else ""
        return (f"A feature table made by `python -m core features` on {engine}{where} "
                f"from {made.get('source', 'an event log')}.")
    except (ValueError, AttributeError, TypeError):
        return None


#: Opens one Parquet file of a folder for reading (a path's ``open``, or a checked open).
Opener = Callable[[], BinaryIO]


def parquet_folder_files(path: str | os.PathLike) -> list[Path]:
    """The Parquet files directly in a folder (``*.parquet``, ``*.pq``), sorted by name;
    hidden files and names starting with ``_`` are skipped, as pyarrow.dataset does."""
    folder = Path(path)
    return sorted((p for p in folder.iterdir() if is_parquet_name(p.name) and p.is_file()),
                  key=lambda p: p.name)


def is_parquet_name(name: str) -> bool:
    """Whether a folder's reader takes a file of this name as one of its parts."""
    return Path(name).suffix.lower() in PARQUET_SUFFIXES and \
        not name.startswith(IGNORED_PREFIXES)


def read_parquet_folder(path: str | os.PathLike, options: ReadOptions = ReadOptions(),
                        progress: Progress | None = None) -> RawTable:
    """Read the Parquet files of a folder (:func:`parquet_folder_files`) as one table.

    Raises
    ------
    DataError
        When the folder holds no Parquet file, their schemas differ, one is unreadable,
        or they are larger together than ``options.max_bytes``.
    """
    folder = Path(path)
    files = parquet_folder_files(folder)
    name = f"{folder.name}/"
    _check_size(name, sum(f.stat().st_size for f in files), options.max_bytes)
    return read_parquet_files([(f.name, lambda f=f: open(f, "rb")) for f in files], name,
                              progress)


def read_parquet_files(files: Sequence[tuple[str, Opener]], name: str,
                       progress: Progress | None = None) -> RawTable:
    """Read Parquet files that share one schema as one table, in the order given.

    Parameters
    ----------
    files : list of (str, callable)
        Each file's name (for messages) and a function that opens it for reading.
    name : str
        The table's name (the folder's).
    progress : callable, optional
        ``progress(fraction, message)`` after each file.

    Returns
    -------
    RawTable
        With a note saying how many files were read.

    Raises
    ------
    DataError
        When there is no file, a file is unreadable, or the files' columns or types
        differ (naming the first file that differs and how).
    """
    if not files:
        raise DataError(f"'{name}' holds no Parquet files (*.parquet, *.pq). Choose a "
                        "folder with Parquet files in it, or open a file.")
    schemas = [_parquet_part(part, opener, name, schema_only=True) for part, opener in files]
    first = schemas[0]
    for (part, _), schema in zip(files[1:], schemas[1:], strict=True):
        difference = _schema_difference(first, schema)
        if difference:
            raise DataError(
                f"The Parquet files of '{name}' do not share one schema: '{part}' differs "
                f"from '{files[0][0]}' ({difference}). Every file of a folder must have "
                "the same columns and types; rewrite them alike, or open the files one "
                "by one.")
    tables = []
    for i, (part, opener) in enumerate(files):
        table = _parquet_part(part, opener, name, schema_only=False)
        if _schema_difference(first, table.schema):
            raise DataError(f"'{part}' in '{name}' changed while it was read. Open the "
                            "folder again.")
        tables.append(table.select(first.names) if table.schema.names != first.names
                      else table)
        if progress:
            progress((i + 1) / len(files), f"Read {i + 1:,} of {len(files):,} files")
    table = pa.concat_tables([t.replace_schema_metadata(first.metadata) for t in tables],
                             promote_options="default")
    if table.num_columns == 0:
        raise DataError(f"The Parquet files of '{name}' have no columns.")
    if table.num_rows == 0:
        cols = ", ".join(map(str, table.column_names[:8]))
        raise DataError(f"The Parquet files of '{name}' have columns ({cols}) but no rows.")
    raw = _arrow_table(table, name)
    raw.notes.insert(0, f"'{name}' was read as one table from {len(files):,} Parquet "
                        f"file{'s' if len(files) != 1 else ''} ({table.num_rows:,} rows), "
                        "in the order of their names.")
    return raw


def _parquet_part(part: str, opener: Opener, name: str, schema_only: bool):
    """One file's schema, or its whole table."""
    try:
        with opener() as stream:
            reader = pq.ParquetFile(stream)
            return reader.schema_arrow if schema_only else reader.read()
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise DataError(
            f"'{part}' in '{name}' is not a readable Parquet file; it may be truncated or "
            f"damaged ({exc}). Write it again, or move it out of the folder.") from exc


def _schema_difference(first: pa.Schema, other: pa.Schema) -> str | None:
    """How ``other`` differs from ``first`` in its columns and types, or None.

    The order of the columns may differ when no name repeats (they are read in the first
    file's order); nullability and metadata are not compared.
    """
    if len(set(first.names)) < len(first.names) or len(set(other.names)) < len(other.names):
        if [(f.name, f.type) for f in first] == [(f.name, f.type) for f in other]:
            return None
        return "columns repeat a name, and their order or types are not the same"
    ours, theirs = {f.name: f.type for f in first}, {f.name: f.type for f in other}
    parts = []
    missing = [n for n in ours if n not in theirs]
    extra = [n for n in theirs if n not in ours]
    if missing:
        parts.append("it has no column " + _quoted(missing))
    if extra:
        parts.append("it has the column(s) " + _quoted(extra) + ", which the first has not")
    changed = [n for n in ours if n in theirs and not ours[n].equals(theirs[n])]
    parts += [f"'{n}' is {theirs[n]} in it but {ours[n]} in the first" for n in changed[:5]]
    return "; ".join(parts) or None


def _quoted(names: list[str], shown: int = 5) -> str:
    return ", ".join(f"'{n}'" for n in names[:shown]) + (", ..." if len(names) > shown else "")


def _read_json(data: bytes, name: str, options: ReadOptions) -> RawTable:
    encoding, note = _decode_check(data, name, options.encoding)
    text = data.decode(encoding, errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    notes = [note] if note else []
    wrapped = _unwrap_json(text, name) if stripped.startswith("{") else None
    try:
        if wrapped is not None:
            key, records = wrapped
            frame = pd.DataFrame.from_records(records)
            notes.append(f"'{name}' is one JSON object; its {len(records):,} records under "
                         f"'{key}' were read as the events.")
        elif stripped.startswith("["):
            frame = pd.read_json(io.StringIO(text), orient="records", dtype=False)
        else:
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
    except (ValueError, TypeError, RecursionError) as exc:
        raise DataError(
            f"'{name}' is not valid JSON lines (one JSON object per line) or a JSON array "
            f"of objects: {exc}. Check the file, or export it as CSV."
        ) from exc
    frame, flat_notes = flatten_events(frame)
    return RawTable(frame, name, "jsonl", [*notes, *flat_notes], encoding=encoding)


def _unwrap_json(text: str, name: str) -> tuple[str, list[dict]] | None:
    """The records of a file that is one JSON object wrapping them (``{"data": [...]}``,
    as many APIs export), or None when the text is JSON lines (several objects).

    Raises
    ------
    DataError
        When it is one object without a list of records in it.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return None  # several objects: JSON lines
    except RecursionError:
        raise DataError(f"'{name}' nests too deeply to read as events.") from None
    if not isinstance(document, dict):
        return None
    if _looks_like_events([document]):
        return None  # one event on one line (GA4 rows carry lists of parameters)
    lists = {key: value for key, value in document.items() if isinstance(value, list)
             and value and all(isinstance(v, dict) for v in value) and _looks_like_events(value)}
    if len(lists) == 1:
        return next(iter(lists.items()))
    keys = ", ".join(map(str, list(document)[:8]))
    found = f"several lists of records ({', '.join(lists)})" if lists else "no list of records"
    raise DataError(f"'{name}' is one JSON object (keys: {keys}) with {found}, not a list of "
                    "events. Export the events as JSON lines (one event per line) or as an "
                    "array of event objects.")


def _looks_like_events(records: list[dict]) -> bool:
    """Whether the records' keys include a user id or a timestamp column."""
    from core.data.mapping import guess_mapping

    keys = list(dict.fromkeys(str(k) for record in records[:100] for k in record))
    mapping = guess_mapping(keys)
    return bool(mapping.get("user_id") or mapping.get("ts"))


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


def nested_parquet_columns(path: str | os.PathLike) -> list[str]:
    """Columns of a Parquet file that are records or lists (GA4 ``event_params``).

    Such a file must be read (and flattened) by :func:`read_path`; a flat one can be
    scanned where it lies. An unreadable file gives an empty list; reading it says why.
    """
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError):
        return []
    return [f.name for f in schema if pa.types.is_nested(f.type)]
