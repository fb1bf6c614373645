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


#: One colour per cluster number, the same on every chart, page and re-run: distinct
#: hues (plotly's qualitative palette) in cluster order; after ten they repeat.
PALETTE = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692",
           "#B6E880", "#FF97FF", "#FECB52")
#: Noise and users without a cluster.
GREY = "#9E9E9E"
#: Labels drawn in grey: not a cluster of their own.
UNCLUSTERED = frozenset({NOISE_LABEL, "Not clustered", "Not active", "Not present"})


def label_colours(labels: Iterable[object], names: dict[str, str] | None = None
                  ) -> dict[str, str]:
    """The colour of each label: "Cluster N" the N-th palette colour, noise and
    unclustered users grey, any other label the next free colours in label order.

    Parameters
    ----------
    labels : iterable
        Cluster labels (or other category values).
    names : dict, optional
        ``{cluster label: persona name}``: each name gets its cluster's colour too, so a
        chart drawn by persona names matches one drawn by labels.

    Returns
    -------
    dict
        ``{label or name: "#rrggbb"}``.
    """
    colours: dict[str, str] = {}
    others = []
    for label in sorted_labels(labels):
        tail = label.rsplit(" ", 1)[-1]
        if label in UNCLUSTERED:
            colours[label] = GREY
        elif label.startswith(f"{PREFIX} ") and tail.isdigit():
            colours[label] = PALETTE[(int(tail) - 1) % len(PALETTE)]
        else:
            others.append(label)
    for label, name in (names or {}).items():
        if label in colours:
            colours.setdefault(name, colours[label])
    free = [c for c in PALETTE if c not in colours.values()] or list(PALETTE)
    for i, label in enumerate(o for o in others if o not in colours):
        colours[label] = free[i % len(free)]
    return colours
