"""Showing expected errors as messages on the page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.common.errors import PersonaLensError


@contextmanager
def shows_errors() -> Iterator[None]:
    """Show a PersonaLensError raised inside the block as ``st.error``; the page goes on.

    Any other exception is a bug and propagates.
    """
    try:
        yield
    except PersonaLensError as exc:
        st.error(str(exc), icon=":material/error:")


def show_notices(notices: list, kind: str = "warning") -> None:
    """Show notices (objects or dicts with a ``message``)."""
    for notice in notices:
        message = notice["message"] if isinstance(notice, dict) else notice.message
        (st.warning if kind == "warning" else st.info)(message, icon=":material/info:")
