"""Adapters from core's ``progress(fraction, message)`` callbacks to Streamlit widgets."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.text import inert


def progress_bar(label: str) -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """Return ``(callback, close)`` for a progress bar under ``label``."""
    bar = st.progress(0.0, text=label)

    def update(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{label}: {inert(message)}")

    return update, bar.empty
