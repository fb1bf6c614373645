"""Every table on every page shows its large whole numbers with thousands separators
(Streamlit's "localized" format): a count written 283534 fails here."""

from __future__ import annotations

import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.pages.apptest import APP, TIMEOUT, cluster_sample

PAGES = ["data", "features", "segments", "clustering", "personas", "rules", "export"]


def _unformatted_counts(table) -> list[str]:
    frame: pd.DataFrame = table.value
    config = json.loads(table.proto.columns or "{}")
    found = []
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_integer_dtype(column) or column.abs().max() < 1000:
            continue
        spec = config.get(str(name), {})
        if spec.get("type_config", {}).get("format") not in ("localized", "accounting"):
            found.append(str(name))
    return found


def test_tables_show_counts_with_thousands_separators(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    cluster_sample(at, k=4)
    bad = {}
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        if page == "rules":
            at.button(key="rules.starters").click().run()
        for n, table in enumerate(at.dataframe):
            found = _unformatted_counts(table)
            if found:
                bad[f"{page} table {n}"] = found
    assert bad == {}, bad
