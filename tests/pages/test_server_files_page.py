"""The Data page's "On the server" tab under AppTest: off without PERSONA_LENS_DATA_ROOT,
a folder of Parquet files opened as one table and loaded through the usual mapping, and
paths put into the session by hand refused with a message, not a traceback."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.apptest import APP, TIMEOUT, no_errors, shown
from ui.server_files import ENTRY, FOLDER, OFF, OPENED


@pytest.fixture
def root(tmp_path, monkeypatch, home):
    """A data root with ``events/`` (two Parquet parts: 30 + 20 events of 10 users),
    ``sub/notes.csv``, and ``secret.csv`` beside the root."""
    monkeypatch.setenv("PERSONA_LENS_AUTOLOAD", "0")
    data = tmp_path / "data"
    (data / "events").mkdir(parents=True)
    (data / "sub").mkdir()
    for i, n in enumerate((30, 20)):
        pd.DataFrame({
            "user_id": [f"u{k % 10}" for k in range(n)],
            "event_time": pd.date_range("2024-03-01", periods=n, freq="37min", tz="UTC")
            + pd.Timedelta(days=i),
            "event_name": ["page_view", "add_to_cart", "purchase"] * (n // 3)
            + ["page_view"] * (n % 3),
        }).to_parquet(data / "events" / f"part-{i}.parquet")
    (data / "sub" / "notes.csv").write_text("user_id,ts\nu1,2024-03-01\n")
    (tmp_path / "secret.csv").write_text("user_id,ts\nsecret,2024-03-01\n")
    monkeypatch.setenv("PERSONA_LENS_DATA_ROOT", str(data))
    return data


def _data_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page("pages/data.py").run()


def _texts(at: AppTest, kind: str) -> list[str]:
    return [shown(e.value) for e in getattr(at, kind)]


def test_the_tab_says_how_to_turn_it_on_when_the_root_is_unset(home, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_AUTOLOAD", "0")
    monkeypatch.delenv("PERSONA_LENS_DATA_ROOT", raising=False)
    at = _data_page()
    no_errors(at)
    assert OFF in [i.value for i in at.info]
    assert ENTRY not in [s.key for s in at.selectbox]


def test_a_parquet_folder_opens_as_one_table_and_loads(root):
    at = _data_page()
    no_errors(at)
    entries = at.selectbox(key=ENTRY)
    assert entries.options[0].startswith("events/ · 2 Parquet files")
    assert "data.map.user_id" not in [s.key for s in at.selectbox]
    entries.set_value("events")
    at.button(key="data.server.open").click().run()
    no_errors(at)
    assert any("Opened from the server: **events/**" in m for m in _texts(at, "markdown"))
    assert any("from 2 Parquet files (50 rows)" in w for w in _texts(at, "warning"))
    # The same mapping section as an upload, with the columns guessed.
    assert at.selectbox(key="data.map.user_id").value == "user_id"
    assert at.selectbox(key="data.map.ts").value == "event_time"
    at.button(key="data.load").click().run()
    no_errors(at)
    ws = at.session_state["workspace"]
    assert ws.data.name == "events/" and ws.data.users == 10
    assert ws.data.report.rows_read == 50
    assert any("from events/" in shown(s.value) for s in at.success)


def test_browsing_goes_into_a_folder_and_back_up_never_above_the_root(root):
    at = _data_page()
    at.selectbox(key=ENTRY).set_value("sub")
    at.button(key="data.server.enter").click().run()
    no_errors(at)
    assert at.session_state[FOLDER] == "sub"
    assert any("data root / sub" in m for m in _texts(at, "markdown"))
    assert at.selectbox(key=ENTRY).options == ["notes.csv · 25 B"]
    at.button(key="data.server.up").click().run()
    assert at.session_state[FOLDER] == ""
    assert at.button(key="data.server.up").disabled


@pytest.mark.parametrize("state, value", [
    (OPENED, "../secret.csv"), (OPENED, "SECRET_ABSOLUTE"), (FOLDER, ".."),
    (FOLDER, "SECRET_FOLDER"), (OPENED, "events/part-0.parquet\x00")])
def test_a_crafted_path_in_the_session_is_refused_with_a_message(root, state, value):
    value = value.replace("SECRET_ABSOLUTE", str(root.parent / "secret.csv")).replace(
        "SECRET_FOLDER", str(root.parent))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/data.py")
    at.session_state[state] = value
    at.run()
    assert [e.value for e in at.exception] == []
    errors = _texts(at, "error")
    assert len(errors) == 1, errors
    assert any(reason in errors[0] for reason in (
        "goes up a folder", "is an absolute path", "NUL byte")), errors
    # Nothing of the file outside was read, and the browser is back at the root.
    assert "data.map.user_id" not in [s.key for s in at.selectbox]
    assert OPENED not in at.session_state
    assert at.selectbox(key=ENTRY).options[0].startswith("events/")


def test_a_link_to_a_file_outside_is_refused_when_opened(root):
    (root / "leak.csv").symlink_to(root.parent / "secret.csv")
    at = _data_page()
    assert not any(o.startswith("leak.csv") for o in at.selectbox(key=ENTRY).options)
    at.session_state[OPENED] = "leak.csv"
    at.run()
    assert [e.value for e in at.exception] == []
    assert any("leads outside the data root" in e for e in _texts(at, "error"))
    assert "data.map.user_id" not in [s.key for s in at.selectbox]


#: A file name may be anything but '/' and NUL: here Markdown, HTML and a directive.
HOSTILE = "![x](https:evil.example) <img src=x onerror=alert(1)> **bold** :red[a]"


def test_hostile_file_and_folder_names_are_shown_as_typed(root):
    from ui.text import inert

    (root / HOSTILE).mkdir()
    (root / HOSTILE / f"{HOSTILE}.csv").write_text(
        "user_id,ts,event\nu1,2024-03-01T12:00:00Z,view\n")
    at = _data_page()
    at.selectbox(key=ENTRY).set_value(HOSTILE)
    at.button(key="data.server.enter").click().run()
    no_errors(at)
    assert any(f"data root / {inert(HOSTILE)}" in m.value for m in at.markdown)
    assert not any("<img" in m.value or "![x]" in m.value for m in at.markdown)
    at.selectbox(key=ENTRY).set_value(f"{HOSTILE}/{HOSTILE}.csv")
    at.button(key="data.server.open").click().run()
    no_errors(at)
    bodies = [e.value for kind in ("markdown", "caption", "info", "warning")
              for e in getattr(at, kind)]
    assert any(inert(f"{HOSTILE}/{HOSTILE}.csv") in b for b in bodies)
    for body in bodies:
        assert "![x]" not in body and "<img" not in body and ":red[" not in body, body
    assert at.selectbox(key="data.map.user_id").value == "user_id"


def test_a_feature_table_made_on_spark_says_where_it_came_from(root):
    from core.cli.features import write_features

    features = pd.DataFrame({"sessions": [3, 5, 1], "revenue": [10.0, 0.0, 42.5]},
                            index=pd.Index(["u1", "u2", "u3"], name="user_id"))
    write_features(features, root / "features.parquet",
                   {"engine": "spark", "source": "s3a://lake/events/*.parquet",
                    "master": "yarn"})
    at = _data_page()
    at.selectbox(key=ENTRY).set_value("features.parquet")
    at.button(key="data.server.open").click().run()
    no_errors(at)
    assert ("A feature table made by `python -m core features` on Apache Spark (yarn) "
            "from s3a://lake/events/*.parquet.") in _texts(at, "info")
