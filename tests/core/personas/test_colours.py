"""One colour per persona on every chart: the snake plot, the distributions, the
Sankey, the map and the cluster sizes give a cluster the same colour, fixed by its
number (stable across pages and re-runs), with noise and unclustered users grey."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.personas import charts as persona_charts
from core.personas.profiles import profile_clusters
from core.segment import charts as segment_charts
from core.segment.labels import GREY, PALETTE, label_colours


def _data(clusters: int = 4, per: int = 30):
    rng = np.random.default_rng(0)
    labels = pd.Series([f"Cluster {c + 1}" for c in range(clusters) for _ in range(per)],
                       index=[f"u{i}" for i in range(clusters * per)])
    features = pd.DataFrame({"sessions": rng.normal(0, 1, len(labels)) + labels.str[-1]
                             .astype(int), "revenue": rng.gamma(2, 10, len(labels))},
                            index=labels.index)
    return features, labels


def test_colours_follow_the_cluster_number_not_the_order():
    colours = label_colours(["Cluster 10", "Cluster 2", "Noise", "Cluster 1"])
    assert colours == {"Cluster 1": PALETTE[0], "Cluster 2": PALETTE[1],
                       "Cluster 10": PALETTE[9], "Noise": GREY}
    assert label_colours(["Cluster 2"]) == {"Cluster 2": PALETTE[1]}  # alone, the same
    assert len(set(PALETTE)) == len(PALETTE) == 10
    named = label_colours(["Cluster 1", "Cluster 2"], {"Cluster 2": "Night owls"})
    assert named["Night owls"] == named["Cluster 2"] == PALETTE[1]
    others = label_colours(["Weekend", "Cluster 1", "Plain"])
    assert others["Weekend"] != others["Cluster 1"] != others["Plain"] != others["Weekend"]


def test_every_chart_gives_a_persona_its_colour():
    features, labels = _data()
    names = {"Cluster 1": "Bargain hunters", "Cluster 2": "Night owls",
             "Cluster 3": "Dormant", "Cluster 4": "New visitors"}
    profiles = profile_clusters(features, labels, ("sessions", "revenue"))
    want = {names[f"Cluster {n}"]: PALETTE[n - 1] for n in range(1, 5)}
    snake = persona_charts.snake(profiles, names, ["sessions", "revenue"])
    assert {t.name: t.line.color for t in snake.data} == want
    box = persona_charts.distribution(features, labels, names, "revenue")
    assert {t.name: t.marker.color for t in box.data} == want
    table = pd.DataFrame([[20, 5], [3, 40]], index=["Night owls", "Dormant"],
                         columns=["Night owls", "New visitors"])
    sankey = persona_charts.sankey(table, "before", "after", label_colours(labels, names))
    node = sankey.data[0].node
    by_name = {label.rsplit(" (", 1)[0]: colour  # labels carry their users: "Dormant (43)"
               for label, colour in zip(node.label, node.color, strict=True)}
    assert by_name == {"Night owls": PALETTE[1], "Dormant": PALETTE[2],
                       "New visitors": PALETTE[3]}
    sizes = segment_charts.cluster_sizes(labels)
    assert list(sizes.data[0].marker.color) == list(PALETTE[:4])
    plot = pd.DataFrame({"x": np.arange(len(labels)), "y": np.arange(len(labels)),
                         "persona": labels.map(names).to_numpy(),
                         "user_id": labels.index})
    scatter = segment_charts.projection_scatter(plot, ["x", "y"], "persona",
                                                colours=label_colours(labels, names))
    assert {t.name: t.marker.color for t in scatter.data} == want
    bars = persona_charts.sizes(profiles, names)
    assert list(bars.data[0].marker.color) == list(PALETTE[:4])
