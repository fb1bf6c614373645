"""UMAP's one-time compilation, moved to a background thread when the server starts."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from core.segment.projection import UMAP_METRICS, warm_up_umap


@dataclass
class WarmUp:
    """State of the background compilation shared by every session of this server."""

    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    #: One event per metric, set once that metric's maps are compiled (the default
    #: metric; the others are set when it is done and compile on their first map).
    metrics: dict[str, threading.Event] = field(
        default_factory=lambda: {m: threading.Event() for m in UMAP_METRICS})

    def run(self) -> None:
        # A failure is logged by the thread; the Map page's own UMAP call raises it again.
        try:
            # The default metric only: every metric took about 100 s of compiling that
            # holds the interpreter in bursts, which slowed every page of the server
            # meanwhile; another metric compiles on its first map.
            warm_up_umap(UMAP_METRICS[:1], ready=lambda metric: self.metrics[metric].set())
        finally:
            for event in self.metrics.values():
                event.set()
            self.done.set()

    def ready(self, metric: str) -> threading.Event:
        """The event set once maps with ``metric`` are compiled."""
        return self.metrics.get(metric, self.done)

    @property
    def waited(self) -> float:
        return time.monotonic() - self.started


@st.cache_resource(show_spinner=False)
def umap_warm_up() -> WarmUp:
    """Start (once per server process) the background UMAP compilation."""
    state = WarmUp()
    threading.Thread(target=state.run, name="umap-warm-up", daemon=True).start()
    return state


def warm_up_at_start() -> None:
    """Start the warm-up unless ``PERSONA_LENS_UMAP_WARMUP=0`` (tests that never map)."""
    if os.environ.get("PERSONA_LENS_UMAP_WARMUP", "1") != "0":
        umap_warm_up()
