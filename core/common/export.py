"""Exports that leave the app: CSV made safe for spreadsheets, and Parquet."""

from __future__ import annotations

import io

import pandas as pd

#: A cell starting with one of these is read as a formula by Excel, LibreOffice and
#: Google Sheets (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


#: Floats in CSV: twelve significant digits, so sums such as 0.1 + 0.2 read 0.3 (not
#: 0.30000000000000004) while cents of a million and ratios keep every digit they have.
CSV_FLOAT_FORMAT = "%.12g"


def safe_csv_bytes(frame: pd.DataFrame, index: bool = True) -> bytes:
    """Return the frame as UTF-8 CSV with formula-like text cells neutralised.

    Numbers are left as numbers (a negative number is not a formula), floats at
    :data:`CSV_FLOAT_FORMAT`; only text cells, the index and the column names are checked.
    """
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(neutralise_formula)
    out.columns = [neutralise_formula(str(c)) for c in out.columns]
    if index:
        out.index = out.index.map(neutralise_formula)
        if out.index.name:
            out.index.name = neutralise_formula(out.index.name)
    # CRLF line ends (RFC 4180) make the writer quote any cell holding CR or LF.
    return out.to_csv(index=index, lineterminator="\r\n",
                      float_format=CSV_FLOAT_FORMAT).encode("utf-8")


def parquet_bytes(frame: pd.DataFrame, index: bool = True) -> bytes:
    """Return the frame as Parquet bytes."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=index)
    return buffer.getvalue()


#: The Parquet metadata key under which a feature table written by
#: ``python -m core features`` records how it was made (engine, source, master).
PROVENANCE_KEY = "persona_lens"
