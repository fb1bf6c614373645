"""Results too slow to recompute that show a progress bar while they are computed (the
models of the Propensity page, the Recommendations page's evaluation), kept per server
process in small stores. Not ``st.cache_resource`` on the computation itself: that would
record the progress bar's updates made inside the call and fail to replay them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import streamlit as st

from core.common.progress import Progress
from ui.progress import progress_bar

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _stores() -> dict[str, OrderedDict]:
    return {}


def kept(store: str, key: Hashable, build: Callable[[Progress], T], label: str,
         keep: int) -> T:
    """The result of ``build(progress)`` for ``key``, computed once (with a progress
    bar under ``label``) and kept among the ``keep`` latest of ``store``."""
    entries = _stores().setdefault(store, OrderedDict())
    if key not in entries:
        update, close = progress_bar(label)
        try:
            entries[key] = build(update)
        finally:
            close()
        while len(entries) > keep:
            entries.popitem(last=False)
    entries.move_to_end(key)
    return entries[key]


def is_kept(store: str, key: Hashable) -> bool:
    """Whether ``store`` holds a result for ``key``."""
    return key in _stores().get(store, {})
