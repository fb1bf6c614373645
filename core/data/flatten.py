"""Flatten nested exports into plain columns the column mapping can see.

- GA4 BigQuery: ``event_params`` (a repeated ``{key, value: {string_value, int_value,
  float_value, double_value}}`` record) becomes one column ``param.<key>`` per key holding
  the first non-null typed value; ``user_properties`` likewise becomes
  ``user_property.<key>``; records such as ``ecommerce``, ``device`` or ``geo`` become
  ``ecommerce.purchase_revenue``, ``device.category``...; the repeated ``items`` record
  is summarised as ``items.count`` and ``items.first_item_id``.
- Segment, Mixpanel, Amplitude: nested ``properties``, ``event_properties`` and
  ``context`` objects become dotted columns (``properties.revenue``,
  ``context.page.path``).
- Any other list becomes its JSON text, so that every cell is a plain value.

Units and meanings are left as they are (``param.engagement_time_msec`` stays in
milliseconds, ``param.ga_session_id`` is unique per user only); the cleaning step decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: Key/value records and the prefix of their columns: GA4 names its event parameters
#: ``event_params``; ``param.<key>`` keeps the columns short and apart from the event's
#: own fields (``param.value`` next to ``event_value_in_usd``).
KEY_VALUE_PREFIXES = {"event_params": "param", "user_properties": "user_property"}
#: The typed fields of a GA4 parameter value, in the order the first non-null is taken.
TYPED_VALUE_FIELDS = ("string_value", "int_value", "float_value", "double_value")
#: Fields of a repeated record (GA4 items, Segment products) kept from its first element:
#: an id says which product a one-item event (view_item, add_to_cart) is about.
FIRST_ELEMENT_FIELDS = ("item_id", "product_id", "sku", "id")
#: New columns named in the note; the table on screen shows the rest.
NOTE_COLUMNS = 6


def nested_columns(frame: pd.DataFrame) -> list[str]:
    """Columns holding a dict, a list or an array in at least one row.

    Parameters
    ----------
    frame : DataFrame
        A table as read from a file.

    Returns
    -------
    list of str
        The names of the nested columns, in frame order.
    """
    return [str(c) for c in frame.columns
            if frame[c].dtype == object and any(map(_is_nested, frame[c]))]


def flatten_events(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Replace every nested column by plain columns (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        A table whose cells may hold dicts (records) and lists (repeated fields), as
        read from JSON lines or Parquet.

    Returns
    -------
    (DataFrame, list of str)
        The flat table, with columns in the order of the columns they came from, and a
        note saying what was flattened (empty when nothing was nested). The input is
        not modified.
    """
    nested = nested_columns(frame)
    if not nested:
        return frame, []
    pieces: list[pd.Series] = []
    for col in frame.columns:
        series = frame[col].rename(str(col))
        pieces.extend(_flatten(series) if str(col) in nested else [series])
    flat = pd.concat(pieces, axis=1) if pieces else frame.iloc[:, :0]
    return flat, [_note(nested, list(flat.columns))]


def _is_nested(value: object) -> bool:
    return isinstance(value, dict | list | tuple | np.ndarray)


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _flatten(series: pd.Series) -> list[pd.Series]:
    """Plain columns for one nested column, recursing into records of records."""
    values = series.dropna()
    if any(isinstance(v, dict) for v in values):
        return _flatten_record(series)
    first = next((e for v in values if _is_list(v) for e in v if e is not None), None)
    if isinstance(first, dict) and "key" in first:
        return _key_values(series)
    if isinstance(first, dict) or first is None:
        return _summarise_records(series)
    return [series.map(_json_text)]


def _flatten_record(series: pd.Series) -> list[pd.Series]:
    """``col.child`` for every field of dict cells; other non-null cells stay in ``col``."""
    rows = [v if isinstance(v, dict) else {} for v in series]
    out: list[pd.Series] = []
    scalars = series.where(~series.map(lambda v: isinstance(v, dict)))
    if scalars.notna().any():
        out.append(scalars.map(_json_text))
    for part in _columns(rows, series.index, f"{series.name}.").values():
        out.extend(_flatten(part) if any(map(_is_nested, part)) else [_one_type(part)])
    return out


def _columns(rows: list[dict], index: pd.Index, prefix: str) -> dict[str, pd.Series]:
    """One object column per key of the row dicts, keys in order of first appearance."""
    keys = list(dict.fromkeys(str(k) for row in rows for k in row))
    return {key: pd.Series([row.get(key) for row in rows], index=index, dtype=object,
                           name=prefix + key) for key in keys}


def _key_values(series: pd.Series) -> list[pd.Series]:
    """``prefix.<key>`` columns holding each key's first non-null typed value."""
    prefix = KEY_VALUE_PREFIXES.get(str(series.name), str(series.name))
    rows = [_first_values(v) if _is_list(v) else {} for v in series]
    return [_one_type(part) for part in _columns(rows, series.index, f"{prefix}.").values()]


def _first_values(entries: Iterable) -> dict[str, object]:
    out: dict[str, object] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("key") is None:
            continue
        key = str(entry["key"])
        if out.get(key) is None:
            out[key] = _typed_value(entry.get("value"))
    return out


def _typed_value(value: object) -> object:
    """The first non-null of GA4's typed fields; INT64 arrives as text in JSON exports."""
    if not isinstance(value, dict):
        return value
    for name in TYPED_VALUE_FIELDS:
        found = value.get(name)
        if found is None or (isinstance(found, float) and np.isnan(found)):
            continue
        if name == "int_value" and isinstance(found, str) and found.lstrip("-").isdigit():
            return int(found)
        return found
    return None


def _summarise_records(series: pd.Series) -> list[pd.Series]:
    """``col.count`` and, when the elements have an id, ``col.first_<id field>``."""
    lists = series.map(lambda v: list(v) if _is_list(v) else [])
    out = [lists.map(len).astype("int64").rename(f"{series.name}.count")]
    firsts = lists.map(lambda v: v[0] if v and isinstance(v[0], dict) else {})
    for field_name in FIRST_ELEMENT_FIELDS:
        ids = firsts.map(lambda d, f=field_name: d.get(f))
        if ids.notna().any():
            out.append(_one_type(ids).rename(f"{series.name}.first_{field_name}"))
            break
    return out


def _json_text(value: object) -> object:
    if _is_list(value) or isinstance(value, dict):
        return json.dumps(_plain(value), default=str, ensure_ascii=False)
    return value


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _one_type(series: pd.Series) -> pd.Series:
    """One type per column: booleans, whole numbers (Int64), numbers (float), else text
    (pandas' string type, as the other text columns).

    A parameter can hold an int on one event and a string on another; a column of
    mixed Python types cannot be handed to DuckDB as it is.
    """
    if series.dtype != object:
        return series
    values = series.dropna()
    kinds = set(map(type, values))
    if kinds and all(issubclass(k, bool | np.bool_) for k in kinds):
        return series.astype("boolean")
    numbers = [issubclass(k, int | float | np.number) and not issubclass(k, bool | np.bool_)
               for k in kinds]
    if kinds and all(numbers):
        whole = all(issubclass(k, int | np.integer) for k in kinds)
        return series.astype("Int64" if whole else "float64")
    if kinds - {str}:  # mixed, or other objects: their text
        series = series.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v))
                            else str(v))
    return series.astype("str")  # also a field null on every row (GA4 refund_value)


def _note(nested: list[str], flat_columns: list[str]) -> str:
    made = [c for c in flat_columns if any(c.startswith(f"{p}.") for p in
                                           [*nested, *KEY_VALUE_PREFIXES.values()])]
    shown = ", ".join(made[:NOTE_COLUMNS]) + (
        f" and {len(made) - NOTE_COLUMNS} more" if len(made) > NOTE_COLUMNS else "")
    return (f"Nested fields ({', '.join(nested)}) were flattened into columns named like "
            f"'parent.child' ({shown}). Repeated records became a count and their first "
            "element's id; parameters (event_params) became 'param.<key>'.")
