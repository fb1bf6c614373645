"""The progress callback every long step takes: ``progress(fraction, message)``.

Core functions call it with a fraction in [0, 1] and a short message; pages pass an
adapter from ``ui.progress``, the command line one that prints, tests nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]


def scaled(progress: Progress | None, start: float, end: float) -> Progress:
    """A callback reporting into the ``[start, end]`` part of ``progress`` (a sub-step)."""
    def update(fraction: float, message: str) -> None:
        if progress:
            progress(start + (end - start) * fraction, message)
    return update


def silent(fraction: float, message: str) -> None:
    """A callback that reports nothing."""
