"""Home under AppTest: the next step follows what is done, and the Share step can be
ticked there and on the Export page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.workspace.actions import cluster_into
from tests.pages.apptest import APP, TIMEOUT
from tests.pages.apptest import no_errors as _no_errors


def _next(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "**Next: " in m.value
                or "Every step is done" in m.value)


def test_the_next_step_follows_the_work_and_skips_optional_steps(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_errors(at)
    # The sample is loaded with its features; segments and the map are optional.
    assert _next(at).startswith(":material/arrow_forward: **Next: Cluster users**")
    ws = at.session_state["workspace"]
    cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                 ClusterConfig(k=3, random_state=0))
    ws.save()
    at.run()
    # Clustering suggests persona names; once there are names, rules come next.
    expected = "Write rules" if at.session_state["workspace"].personas.names \
        else "Name personas"
    assert f"**Next: {expected}**" in _next(at)


def test_the_share_step_is_ticked_on_home_and_on_export(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.checkbox(key="home.shared").value
    at.checkbox(key="home.shared").check().run()
    _no_errors(at)
    assert "export" in at.session_state["workspace"].steps
    assert any(c.value.startswith("done ") for c in at.caption)
    at.switch_page("pages/export.py").run()
    _no_errors(at)
    assert at.checkbox(key="share.shared").value
    at.checkbox(key="share.shared").uncheck().run()
    assert "export" not in at.session_state["workspace"].steps
    at.switch_page("pages/home.py").run()
    assert not at.checkbox(key="home.shared").value
