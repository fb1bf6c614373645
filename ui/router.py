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
import uuid
from pathlib import Path

import streamlit as st

from ui.text import inert

LOG = logging.getLogger("persona_lens")

#: The favicon, served by this server: a Material icon name would make the browser fetch
#: it from fonts.gstatic.com. Once set here, the pages' own icons are not used as favicon.
PAGE_ICON = Path(__file__).resolve().parent / "assets" / "icon.png"
#: Set while the router runs a page in this script thread.
_running = threading.local()


def pages(team: bool = False) -> dict[str, list]:
    """The navigation sections and their pages (each URL is the page's file name); team
    mode adds the Sharing page."""
    sharing = [st.Page("pages/sharing.py", title="Sharing", icon=":material/group:")]
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
        "Share": [st.Page("pages/export.py", title="Export", icon=":material/ios_share:"),
                  *(sharing if team else [])],
    }


def run() -> None:
    """Set up the page, sign in (team mode), start the UMAP warm-up and the clean-up, show
    the sidebar and run the chosen page."""
    from core.common.errors import (
        PersonaLensError,
        QuotaExceededError,
        ReadOnlyWorkspaceError,
        WorkspaceConflictError,
    )
    from ui.auth import account_in_sidebar, current_deployment, require_sign_in
    from ui.downloads import keep_files
    from ui.housekeeping import clean_up_now_and_then
    from ui.sidebar import dataset_summary, newer_revision_banner
    from ui.state import sync_url, undo_refused_save, workspace
    from ui.warmup import warm_up_at_start

    st.set_page_config(page_title="Persona Lens", page_icon=PAGE_ICON, layout="wide")
    keep_files()  # first: a run interrupted below must not delete a shown button's file
    require_sign_in()
    clean_up_now_and_then()
    # Every page listed: with more than ten, Streamlit would fold some under "View more".
    navigation = st.navigation(pages(current_deployment().team), expanded=True)
    _running.active = True
    try:
        account_in_sidebar()
        ws = workspace()
        dataset_summary(ws)
        newer_revision_banner(ws)
        navigation.run()
        sync_url(ws)  # a step saved during this run puts the id in the address
    except WorkspaceConflictError:  # a save no block on the page caught
        undo_refused_save()
    except (QuotaExceededError, ReadOnlyWorkspaceError) as exc:
        undo_refused_save(str(exc))
    except PersonaLensError as exc:  # one no block on the page caught (a refused save)
        st.error(inert(exc), icon=":material/error:")
    except Exception as exc:  # Streamlit's reruns and stops are not Exceptions
        show_bug(exc)
    finally:
        _running.active = False
        # After the page: the compilation holds the interpreter for a minute in bursts,
        # and started first it doubled the wait for the first page (17 s against 8 s).
        warm_up_at_start()


#: Words of the message a bug gets on the page (tests look for them).
BUG_MESSAGE = "This is a bug in Persona Lens"


def show_bug(exc: Exception) -> None:
    """Say on the page that something failed, with an incident id and without a traceback
    (both go to the server log): what ran before stays on the page, and the other pages
    still work. In team mode the visitor sees no detail of the error (it may name server
    paths); in local mode the analyst is the server's owner and sees its type and text."""
    from ui.auth import current_deployment

    incident = uuid.uuid4().hex[:8]
    LOG.error("Incident %s: a page failed", incident, exc_info=exc)
    detail = "" if current_deployment().team else \
        f" ({inert(type(exc).__name__)}: {inert(exc)})"
    st.error(f"Something went wrong here{detail}. {BUG_MESSAGE}, not in your data; the "
             f"server log has the details under incident **{incident}**. What you saved "
             "is kept and the other pages still work.", icon=":material/bug_report:")


def ensure_router() -> None:
    """Run the current page inside the router when Streamlit started it on its own."""
    if getattr(_running, "active", False):
        return
    run()
    st.stop()
