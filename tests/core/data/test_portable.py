"""The cleaning decisions in portable SQL (core.data.portable) against the loader's numpy
passes, on logs shaped like real exports: the same debounce window, the same duplicates
and repeats dropped, the same rows kept with the same sessions."""

from __future__ import annotations

import numpy as np
import pytest

from core.common.engine import Scratch
from core.data.cleaning import IDENTITY_ROLES, LoadConfig, clean_rows
from core.data.portable import auto_window, decisions_sql, shared_instant_sql, valid_rows_sql
from core.data.timestamps import ROW_ID
from tests.core.features.test_columnar import CASES, _mapping

# Sampling hashes user ids in DuckDB's own way, so it is not portable (Spark refuses it).
PORTABLE = {c: CASES[c] for c in CASES if c != "sampled"}
# The settings that make the rules bite: a window set by hand on logs whose data test
# turns it off (baskets; same-instant items), and duplicates kept.
PORTABLE |= {
    "double_fires_1s": (CASES["double_fires"][0], {}, LoadConfig(debounce_seconds=1.0)),
    "grocery_5s": (CASES["grocery"][0], {}, LoadConfig(debounce_seconds=5.0)),
    "shop_keep_duplicates": (CASES["shop"][0], {}, LoadConfig(drop_exact_duplicates=False)),
}


@pytest.mark.parametrize("case", PORTABLE)
def test_portable_sql_decides_as_the_loader(case):
    make, overrides, config = PORTABLE[case]
    raw = make()
    mapping = _mapping(raw, overrides)
    with Scratch() as s:
        rows = clean_rows(s, raw, mapping, config)
        identity = ["event", *[r for r in IDENTITY_ROLES if mapping.get(r)]]
        valid = valid_rows_sql(rows.typed)
        total, shared, whole_days = s.rows(shared_instant_sql(
            valid, rows.columns, identity, config.drop_exact_duplicates))[0]
        window = auto_window(total, shared, whole_days, config.debounce_seconds,
                             bool(mapping.get("order_id")))
        assert window == rows.window
        window = window[0]
        sql = decisions_sql(valid, rows.columns, identity, config.drop_exact_duplicates,
                            window, config.session_gap_minutes)
        decided = s.df(f"SELECT {ROW_ID}, __pl_duplicate, __pl_repeat, __pl_gap_session "
                       f"FROM ({sql})")
    assert_same_decisions(decided, rows)
    # The rules must have had work to do.
    if case in ("double_fires_1s", "shop"):
        assert rows.dropped["debounced"] > 0
    if case == "shop":
        assert rows.dropped["exact_duplicate"] > 0


def assert_same_decisions(decided, rows) -> None:
    """The SQL's decisions (row id, duplicate, repeat, gap session) are the loader's."""
    assert int(decided["__pl_duplicate"].sum()) == rows.dropped["exact_duplicate"]
    assert int(decided["__pl_repeat"].sum()) == rows.dropped["debounced"]
    kept = decided[decided["__pl_gap_session"].notna()].sort_values(ROW_ID)
    order = np.argsort(rows.decisions.rid)
    np.testing.assert_array_equal(kept[ROW_ID].to_numpy(), rows.decisions.rid[order])
    np.testing.assert_array_equal(kept["__pl_gap_session"].to_numpy(),
                                  rows.decisions.session[order])
