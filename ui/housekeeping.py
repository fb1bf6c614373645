"""Run the workspace clean-up in the background, at most once an hour per server."""

from __future__ import annotations

import logging
import threading
import time

from core.common.errors import PersonaLensError
from core.workspace.deployment import deployment
from core.workspace.housekeeping import clean_up, human_bytes

LOG = logging.getLogger("persona_lens.housekeeping")
EVERY_S = 3600
_lock = threading.Lock()
_last = {"at": float("-inf")}


def clean_up_now_and_then() -> None:
    """Start a clean-up thread when the last one is over an hour old (the first run of a
    server starts one). Never blocks the page."""
    with _lock:
        if time.monotonic() - _last["at"] < EVERY_S:
            return
        _last["at"] = time.monotonic()
    threading.Thread(target=_clean_up, name="persona-lens-clean-up", daemon=True).start()


def _clean_up() -> None:
    try:
        report = clean_up(deployment())
    except (OSError, PersonaLensError) as exc:
        LOG.warning("The workspace clean-up failed: %s", exc)
        return
    if report.removed or report.dead_saves:
        LOG.warning("Clean-up removed %d workspaces and %d dead saves: %s -> %s",
                    len(report.removed), report.dead_saves, human_bytes(report.bytes_before),
                    human_bytes(report.bytes_after))
