"""Events file to feature table in one pass that stays inside DuckDB.

Used by the command line and the benchmark: a 10 M-row Parquet file is read, cleaned,
sessionized and aggregated without ever becoming a pandas frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.common.engine import Scratch
from core.common.errors import DataError
from core.common.notices import Notice
from core.common.progress import Progress, silent
from core.data import privacy
from core.data.cleaning import LoadConfig, LoadReport, build_report, clean_rows, flag_bots
from core.data.columns import columns_from_rows, kept_users
from core.data.mapping import ColumnMapping, guess_event_roles, guess_mapping
from core.data.readers import ReadOptions, nested_parquet_columns, read_path
from core.features.table import FeatureConfig, FeatureTable, features_from_columns

#: Formats DuckDB reads straight from disk; others go through core.data.readers's readers.
DIRECT_FORMATS = (".parquet", ".pq", ".csv")


def features_from_file(
    path: str | Path,
    mapping_overrides: dict[str, str | None] | None = None,
    load_config: LoadConfig = LoadConfig(),
    feature_config: FeatureConfig | None = None,
    progress: Progress | None = None,
) -> tuple[FeatureTable, LoadReport]:
    """Read an event file and return its feature table and load report.

    Parameters
    ----------
    path : str or Path
        Parquet, CSV/TSV, JSON lines or Excel file of events.
    mapping_overrides : dict, optional
        ``{role: column}`` replacing the guessed mapping for those roles.
    load_config : LoadConfig
        Cleaning, sessions and privacy settings.
    feature_config : FeatureConfig, optional
        Feature settings; funnel events are guessed from the data when not given.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    (FeatureTable, LoadReport)
    """
    path = Path(path)
    source, mapping, notes = read_source(path)
    for role, column in (mapping_overrides or {}).items():
        mapping = mapping.with_role(role, column)
    table, report = features_from_source(source, mapping, path.name, load_config,
                                         feature_config, progress)
    report.notices[:0] = notes
    return table, report


def read_source(path: str | Path, options: ReadOptions | None = None
                ) -> tuple[pd.DataFrame | Path, ColumnMapping, list[Notice]]:
    """Open an input once and guess its mapping.

    A flat Parquet file stays on disk for DuckDB to scan; other formats, and Parquet with
    nested columns (GA4), are read with :mod:`core.data.readers`. Returns the source
    (path or frame), the guessed mapping and the reader's notes (encoding, delimiter,
    renamed columns, sheets, flattened fields) as information notices.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"File '{path}' does not exist. Check the path.")
    if path.is_dir():
        raise DataError(f"'{path}' is a folder; give one file inside it.")
    if path.suffix.lower() in (".parquet", ".pq") and not nested_parquet_columns(path):
        return path, guess_mapping(_parquet_columns(path)), []
    raw = read_path(path, options or ReadOptions())
    notes = [Notice("read", note, "info") for note in raw.notes]
    return raw.frame, guess_mapping(raw.frame.columns, raw.frame), notes


def features_from_source(
    source: pd.DataFrame | Path,
    mapping: ColumnMapping,
    source_name: str,
    load_config: LoadConfig = LoadConfig(),
    feature_config: FeatureConfig | None = None,
    progress: Progress | None = None,
) -> tuple[FeatureTable, LoadReport]:
    """Clean an opened source and compute its features without a table of rows.

    DuckDB types the rows and sorts their keys; the kept rows' values then stream into
    sorted columns (:mod:`core.data.columns`) that the features are computed on
    (:mod:`core.features.columnar`). The result equals cleaning into a table and
    running the feature SQL, which stays the definition.
    """
    step = progress or silent
    with Scratch() as s:
        rows = clean_rows(s, source, mapping, load_config, step)
        step(0.55, "Reading the kept rows' values")
        user, user_ids = kept_users(s, rows)
        if load_config.pseudonymise:
            key = privacy.new_key()
            lookup = privacy.pseudonymise(user_ids, key)
            user_ids = np.array([lookup[u] for u in user_ids], dtype=object)
        counts = pd.Series(np.bincount(user, minlength=len(user_ids)),
                           index=pd.Index(user_ids, name="user_id"))
        bots = flag_bots(counts, load_config, rows.dropped, rows.notices)
        dropped_users = np.isin(user_ids, bots.index.to_numpy(object)) \
            if load_config.exclude_bots and not bots.empty else None
        cols = columns_from_rows(s, rows, user, user_ids, bool(mapping.get("session_id")),
                                 dropped_users)
    del rows.decisions
    step(0.8, "Computing features")
    report = build_report(cols.summary(), rows, source_name, load_config, mapping, bots)
    if feature_config is None:
        feature_config = FeatureConfig(event_roles=guess_event_roles(cols.event_names),
                                       time_zone=report.time_zone)
    table = features_from_columns(cols, feature_config)
    step(1.0, "Done")
    return table, report


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"'{path.name}' is not a readable Parquet file; it may be truncated "
                        f"or damaged ({exc}). Export or download it again.") from exc
