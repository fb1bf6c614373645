"""UMAP's worker process and its one-time compilation, started after the first page.

Every UMAP map is placed in one worker process (:class:`core.common.worker.Worker`), so
numba's compilation and the maps' own work never hold the server's interpreter: pages,
loads and the first chart run beside them at full speed.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from core.common.worker import Worker
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
            map_worker().call(warm_up_umap, UMAP_METRICS[:1],
                              progress=lambda share, metric: self.metrics[metric].set())
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
def map_worker() -> Worker:
    """The server's worker process for UMAP (started on its first call). Niced: the
    warm-up's minute of compiling must not slow the pages and loads beside it on a
    two-core laptop; a map the analyst waits for runs while the server is idle."""
    return Worker(name="persona-lens-maps", nice=10)


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
