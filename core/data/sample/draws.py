"""Vectorised array helpers shared by the stages of the sample generator."""

from __future__ import annotations

import numpy as np


def draw_categorical(rng: np.random.Generator, group: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Draw one category per row from its group's distribution, without a loop.

    Each group's cumulative distribution is shifted by the group number, so one
    ``searchsorted`` over all groups answers every row at once.
    """
    probs = np.asarray(probs, dtype=float)
    n_groups, n_cats = probs.shape
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    idx = np.searchsorted(flat, group + rng.random(len(group)), side="right")
    return np.minimum(idx - group.astype(np.int64) * n_cats, n_cats - 1)


def segment_starts(lengths: np.ndarray) -> np.ndarray:
    """Index of the first row of each segment when segments are laid end to end."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts
