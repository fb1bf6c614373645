"""The router: page config, the navigation sections, the shared sidebar and the page.

``app.py`` calls :func:`run`. Streamlit starts in its legacy multipage mode when a
``pages/`` folder sits beside the entry point, and stays in it until some session has
called ``st.navigation``: until then a deep link such as ``/clustering?ws=ID`` runs the
page file on its own. Every page therefore calls :func:`ensure_router` first (through
``ui.state.workspace()``): outside the router it runs the router, whose
``st.navigation`` ends the legacy mode and runs the same page inside it, then stops
the outer run. Each page's URL equals its file name, so the legacy mode finds every
page too (``/export`` is ``pages/export.py``) and never answers "Page not found".
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import streamlit as st

from ui.text import inert

LOG = logging.getLogger("persona_lens")

#: The favicon, served by this server: a Material icon name would make the browser fetch
#: it from fonts.gstatic.com. Once set here, the pages' own icons are not used as favicon.
PAGE_ICON = Path(__file__).resolve().parent / "assets" / "icon.png"
#: Set while the router runs a page in this script thread.
_running = threading.local()


def pages() -> dict[str, list]:
    """The navigation sections and their pages (each URL is the page's file name)."""
    return {
        "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
        "Prepare": [
            st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
            st.Page("pages/features.py", title="Features", icon=":material/table_chart:"),
        ],
        "Segment": [
            st.Page("pages/segments.py", title="Segments", icon=":material/filter_alt:"),
            st.Page("pages/clustering.py", title="Clustering", icon=":material/hub:"),
            st.Page("pages/map.py", title="Map", icon=":material/scatter_plot:"),
            st.Page("pages/personas.py", title="Personas", icon=":material/badge:"),
        ],
        "Journeys": [
            st.Page("pages/funnels.py", title="Funnels", icon=":material/filter_list:"),
            st.Page("pages/paths.py", title="Paths", icon=":material/alt_route:"),
            st.Page("pages/patterns.py", title="Patterns", icon=":material/timeline:"),
            st.Page("pages/retention.py", title="Retention", icon=":material/event_repeat:"),
        ],
        "Predict": [
            st.Page("pages/propensity.py", title="Propensity", icon=":material/trending_down:"),
            st.Page("pages/recommendations.py", title="Recommendations",
                    icon=":material/recommend:"),
        ],
        "Personalize": [st.Page("pages/rules.py", title="Rules", icon=":material/rule:")],
        "Test": [st.Page("pages/experiments.py", title="Experiments",
                         icon=":material/science:")],
        "Share": [st.Page("pages/export.py", title="Export", icon=":material/ios_share:")],
    }


def run() -> None:
    """Set up the page, start the UMAP warm-up, show the sidebar and run the chosen page."""
    from ui.downloads import keep_files
    from ui.sidebar import dataset_summary
    from ui.state import workspace
    from ui.warmup import warm_up_at_start

    st.set_page_config(page_title="Persona Lens", page_icon=PAGE_ICON, layout="wide")
    keep_files()  # first: a run interrupted below must not delete a shown button's file
    warm_up_at_start()
    # Every page listed: with more than ten, Streamlit would fold some under "View more".
    navigation = st.navigation(pages(), expanded=True)
    _running.active = True
    try:
        dataset_summary(workspace())
        navigation.run()
    except Exception as exc:  # Streamlit's reruns and stops are not Exceptions
        show_bug(exc)
    finally:
        _running.active = False


#: Words of the message a bug gets on the page (tests look for them).
BUG_MESSAGE = "This is a bug in Persona Lens"


def show_bug(exc: Exception) -> None:
    """Say on the page that something failed, without a traceback (it goes to the server
    log): what ran before stays on the page, and the other pages still work."""
    LOG.error("A page failed", exc_info=exc)
    st.error(f"Something went wrong here ({inert(type(exc).__name__)}: {inert(exc)}). "
             f"{BUG_MESSAGE}, not in your data; the server log has the details. Your "
             "workspace is saved and the other pages still work.", icon=":material/bug_report:")


def ensure_router() -> None:
    """Run the current page inside the router when Streamlit started it on its own."""
    if getattr(_running, "active", False):
        return
    run()
    st.stop()
