"""Showing expected errors and notices as messages on the page.

Core messages are plain text that may quote the analyst's names and values, so they are
shown inert (never rendered as Markdown)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import streamlit as st

from core.common.errors import (
    PersonaLensError,
    QuotaExceededError,
    ReadOnlyWorkspaceError,
    WorkspaceConflictError,
)
from core.common.notices import Notice
from ui.text import inert


@contextmanager
def shows_errors() -> Iterator[None]:
    """Show a PersonaLensError raised inside the block as ``st.error``; the page goes on.

    A save refused because another tab saved first, or by the disk quota, puts back the
    tab's copy as it was saved (:func:`ui.state.undo_refused_save`). Any other exception
    is a bug and propagates.
    """
    try:
        yield
    except WorkspaceConflictError:
        from ui.state import undo_refused_save

        undo_refused_save()
    except (QuotaExceededError, ReadOnlyWorkspaceError) as exc:
        from ui.state import undo_refused_save

        undo_refused_save(str(exc))
    except PersonaLensError as exc:
        st.error(inert(exc), icon=":material/error:")


def guarded(action: Callable[..., None]) -> Callable[..., None]:
    """A widget callback that saves, made safe: Streamlit runs callbacks outside the page,
    so a refused save (another tab saved first, the quota, a viewer) would fail there;
    instead the change is undone and said at the top of the run that follows."""
    def run(*args: Any, **kwargs: Any) -> None:
        from ui.state import undo_refused_save

        try:
            action(*args, **kwargs)
        except WorkspaceConflictError:
            undo_refused_save(rerun=False)
        except PersonaLensError as exc:
            undo_refused_save(str(exc), rerun=False)
    return run


ICONS = {"error": ":material/report:", "warning": ":material/warning:", "info": ":material/info:"}


def show_notices(notices: list[Notice], infos: Literal["box", "caption"] = "box") -> None:
    """Show notices by level: errors in red, warnings in yellow, the rest as info boxes
    (or, with ``infos="caption"``, as one line of notes under the result)."""
    for notice in notices:
        if notice.level == "error":
            st.error(inert(notice.message), icon=ICONS["error"])
        elif notice.level == "warning":
            st.warning(inert(notice.message), icon=ICONS["warning"])
        elif infos == "box":
            st.info(inert(notice.message), icon=ICONS["info"])
    notes = [inert(n.message) for n in notices if n.level == "info"]
    if notes and infos == "caption":
        st.caption("Notes: " + " ".join(notes))
