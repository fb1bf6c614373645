"""The Patterns page under AppTest: the frequent patterns equal core's on the same
workspace, the persona comparison after clustering, the guard's message in place, and a
pattern added as a feature that the Features page lists."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.journeys import build_sequences, distinguishing_patterns, frequent_patterns
from core.journeys.sequences import pattern_feature
from tests.pages.apptest import APP, TIMEOUT, cluster_sample, no_errors, shown


def _patterns_page(cluster: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if cluster:
        cluster_sample(at)
    at.switch_page("pages/patterns.py").run()
    return at


def _frame(at: AppTest, column: str, exclude: str | None = None):
    return next(d for d in at.dataframe if column in d.value.columns and
                (exclude is None or exclude not in d.value.columns))


def _headers(table) -> dict[str, str]:
    config = json.loads(table.proto.columns or "{}")
    return {name: config.get(name, {}).get("label", name) for name in table.value.columns}


def test_frequent_patterns_equal_core_with_headers_in_words(home):
    at = _patterns_page()
    no_errors(at)
    ws = at.session_state["workspace"]
    seqs = build_sequences(ws.events, "session", collapse_repeats=True)
    expected = frequent_patterns(seqs, 0.02, 4, None).table
    table = _frame(at, "sequences")
    got = table.value
    assert got["pattern"].tolist() == expected["pattern"].tolist()
    assert got["sequences"].tolist() == expected["sequences"].tolist()
    np.testing.assert_allclose(got["share"], expected["share"])
    headers = _headers(table)
    assert headers["sequences"] == "Sessions with it"
    assert headers["share"] == "Share of sessions"
    assert headers["length"] == "Events in it"
    assert "events" not in got.columns
    config = json.loads(table.proto.columns)
    assert config["sequences"]["type_config"]["format"] == "localized"
    assert config["share"]["type_config"]["format"] == "percent"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sessions"] == f"{seqs.n_sequences:,}"
    assert metrics["Patterns found"] == f"{len(expected):,}"
    # Not split yet: the page says how to compare groups.
    assert any("Split by persona" in c.value for c in at.caption)

    # Contiguous steps over whole user histories.
    at.radio(key="patterns.unit").set_value("user")
    at.selectbox(key="patterns.gap").set_value("contiguous").run()
    no_errors(at)
    expected = frequent_patterns(build_sequences(ws.events, "user"), 0.02, 4, 0).table
    got = _frame(at, "sequences").value
    assert got["sequences"].tolist() == expected["sequences"].tolist()
    assert _headers(_frame(at, "sequences"))["sequences"] == "Users with it"


def test_split_by_persona_after_clustering(home):
    at = _patterns_page(cluster=True)
    ws = at.session_state["workspace"]
    no_errors(at)
    assert at.selectbox(key="patterns.split").value == "persona"
    groups = ws.persona_labels()
    seqs = build_sequences(ws.events, "session")
    expected = distinguishing_patterns(seqs, groups, 0.02, 4, None, count="users")
    first = sorted(groups.unique())[0]
    assert at.selectbox(key="patterns.group").value == first
    table = _frame(at, "share_in_group")
    part = expected[expected["group"] == first]
    got = table.value
    assert got["pattern"].tolist() == part["pattern"].tolist()
    assert got["in_group"].tolist() == part["in_group"].tolist()
    np.testing.assert_allclose(got["share_in_group"], part["share_in_group"])
    np.testing.assert_allclose(got["ratio"], part["ratio"])
    assert got["significant"].tolist() == part["significant"].tolist()
    # p-values as text: below 0.001 (0 included, where floats underflow) written so.
    assert got["p_adjusted"].tolist() == [
        "< 0.001" if p < 0.001 else f"{p:.2g}" for p in part["p_adjusted"]]
    assert _headers(table)["p_adjusted"] == "Adjusted p (BH)"
    assert _headers(table)["share_in_group"] == "In the group"
    # One sentence per persona, naming its top significant pattern.
    sentences = shown(at.markdown[0].value).replace("**", "")
    for group in sorted(groups.unique()):
        rows = expected[(expected["group"] == group) & expected["significant"]
                        & (expected["ratio"] > 1)]
        if rows.empty:
            assert f"{group}: no pattern is significantly more common" in sentences
            continue
        top = rows.iloc[0]
        assert f"{group}: {top['pattern']} in " in sentences
        assert f"({top['ratio']:.1f}×, adjusted p" in sentences
    assert "adjusted p < 0.001" in sentences
    # The chart of the chosen group.
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(first in c["layout"]["title"]["text"] for c in charts)

    other = sorted(groups.unique())[1]
    at.selectbox(key="patterns.group").set_value(other).run()
    no_errors(at)
    got = _frame(at, "share_in_group").value
    assert got["pattern"].tolist() == \
        expected.loc[expected["group"] == other, "pattern"].tolist()


def test_the_guard_message_shows_in_place_with_the_settings(home):
    at = _patterns_page()
    at.radio(key="patterns.unit").set_value("user")
    at.number_input(key="patterns.min_support").set_value(0.01)
    at.number_input(key="patterns.max_length").set_value(6).run()
    assert [e.value for e in at.exception] == []
    ws = at.session_state["workspace"]
    from core.common.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        frequent_patterns(build_sequences(ws.events, "user"), 0.0001, 6, None)
    assert [shown(e.value) for e in at.error] == [str(refused.value)]
    assert "Raise the minimum support" in str(refused.value)
    # The settings are still there to change.
    assert at.number_input(key="patterns.min_support").value == 0.01
    assert at.selectbox(key="patterns.gap").value == "any"
    at.number_input(key="patterns.max_length").set_value(3).run()
    no_errors(at)


def test_use_a_pattern_as_a_feature(home):
    at = _patterns_page()
    at.selectbox(key="patterns.feature_pattern").set_value("product_view → add_to_cart")
    at.run()
    assert "Column `did_product_view_then_add_to_cart`: 1 if the user did" in "".join(
        c.value for c in at.caption)
    at.button(key="patterns.add_feature").click().run()
    no_errors(at)
    ws = at.session_state["workspace"]
    name = "did_product_view_then_add_to_cart"
    expected = pattern_feature(ws.events, ["product_view", "add_to_cart"])
    assert (ws.features[name] == expected.reindex(ws.features.index)).all()
    assert any(f"{int(expected.sum()):,} of 5,000 users" in s.value for s in at.success)
    at.run()
    assert any("adding it again replaces it" in c.value for c in at.caption)

    at.switch_page("pages/features.py").run()
    no_errors(at)
    definitions = next(d for d in at.dataframe if "Definition" in d.value.columns).value
    row = definitions[definitions["Feature"] == name]
    assert row["Definition"].tolist() == [ws.feature_info.definitions[name]]
