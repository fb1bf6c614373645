"""A click that races another tab's save: the save is refused, the tab shows what it
read (not its unsaved fit) and says why, and the disk keeps the other tab's revision."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.data.sample import generate_sample
from core.workspace import actions
from core.workspace.revisions import CONFLICT_MESSAGE
from core.workspace.store import Workspace
from tests.pages.apptest import APP, TIMEOUT, shown
from ui.state import CONFLICT_FLASH, REFUSED_FLASH


def test_a_save_refused_after_a_race_puts_back_what_the_tab_read(home, monkeypatch):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.checkbox(key="home.shared").check().run()
    ws = at.session_state["workspace"]
    assert ws.saved_revision == 1
    at.switch_page("pages/clustering.py").run()

    other = Workspace.load(ws.id)  # another tab loads other data and saves first
    sample = generate_sample(n_users=400, days=30, seed=9)
    actions.load_sample_into(other, sample.events, 400, 30, 9)
    # The click left this tab before it could know (its buttons were still on).
    monkeypatch.setattr("ui.editing.newer_on_disk", lambda ws: False)
    at.button(key="cluster.fit").click().run()

    assert [e.value for e in at.exception] == []
    # Said at the top of the next run, by the router's banner (the page runs alone here).
    assert at.session_state[CONFLICT_FLASH] is True
    mine = at.session_state["workspace"]
    assert mine.clusters is None and mine.saved_revision == 1 and mine.data.users == 5000
    on_disk = Workspace.load(ws.id)
    assert on_disk.saved_revision == 2 and on_disk.data.users == 400
    assert on_disk.clusters is None and len(on_disk.features) == 400


def _banner_script():
    import streamlit as st

    from core.workspace.store import Workspace
    from ui.sidebar import newer_revision_banner

    if "workspace" not in st.session_state:  # the tab read revision 1
        st.session_state["workspace"] = Workspace.load(st.query_params["ws"], revision=1)
    newer_revision_banner(st.session_state["workspace"])


def test_the_banner_says_a_save_was_refused_and_offers_the_reload(home):
    ws = Workspace()
    ws.data.name = "first"
    ws.save()
    Workspace.load(ws.id).save()  # another tab saved revision 2
    at = AppTest.from_function(_banner_script, default_timeout=TIMEOUT)
    at.query_params["ws"] = ws.id
    at.session_state[CONFLICT_FLASH] = True
    at.session_state[REFUSED_FLASH] = "Over the quota: nothing was saved."
    at.run()
    assert [shown(e.value) for e in at.error] == ["Over the quota: nothing was saved.",
                                                  CONFLICT_MESSAGE]
    assert "changed in another tab" in at.warning[0].value
    at.button(key="state.reload").click().run()
    assert at.session_state["workspace"].saved_revision == 2
    assert [e.value for e in at.error] == []  # said once


def test_a_step_over_the_quota_is_refused_in_place_and_nothing_is_kept(home, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_QUOTA_MB", "1")  # the sample's first save needs ~4 MB
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    visit = at.session_state["workspace"]
    at.checkbox(key="home.shared").check().run()
    assert [e.value for e in at.exception] == []
    # Said at the top of the next run by the router's banner (AppTest runs Home alone).
    said = at.session_state[REFUSED_FLASH]
    assert "over the quota of 1 MB" in said and "(they use 0 B now)" in said
    assert "nothing was saved" in said
    # The visit goes on with the sample, unsaved, as before the step; nothing on disk.
    after = at.session_state["workspace"]
    assert not after.is_saved and after.id != visit.id and after.data.users == 5000
    assert not list((home / "workspaces").glob("*/rev-*"))
    assert "export" not in after.steps
