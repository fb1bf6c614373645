"""Cluster labels: one code for noise, one way to name clusters and to order them.

Clusters are numbered 0, 1, ... by size inside the code and shown as "Cluster 1",
"Cluster 2", ...; noise is the code :data:`NOISE` and the label :data:`NOISE_LABEL`.
Labels sort by their number ("Cluster 2" before "Cluster 10"), noise last.
"""

from __future__ import annotations

from collections.abc import Iterable

NOISE = -1
NOISE_LABEL = "Noise"
PREFIX = "Cluster"


def cluster_label(code: int) -> str:
    """The label of a cluster code: ``0`` -> "Cluster 1", ``-1`` -> "Noise"."""
    return NOISE_LABEL if code == NOISE else f"{PREFIX} {int(code) + 1}"


def label_order(label: object) -> tuple[int, int, str]:
    """Sort key: "Cluster 2" before "Cluster 10", other names by text, noise last."""
    text = str(label)
    tail = text.rsplit(" ", 1)[-1]
    return (text == NOISE_LABEL, int(tail) if tail.isdigit() else 0, text)


def sorted_labels(labels: Iterable[object]) -> list[str]:
    """Distinct labels as text, in :func:`label_order`."""
    return sorted({str(v) for v in labels}, key=label_order)
