"""Cluster labels: one noise code and label, and clusters in numeric order everywhere
(an HDBSCAN run with a dozen clusters once listed "Cluster 1, 10, 11, 2")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.personas.profiles import profile_clusters
from core.segment import charts
from core.segment.clustering import ClusterResult
from core.segment.labels import NOISE, NOISE_LABEL, cluster_label, sorted_labels

TWELVE = [f"Cluster {i}" for i in range(1, 13)]


def _labels(n_per: int = 5) -> pd.Series:
    names = np.repeat([*TWELVE[::-1], NOISE_LABEL], n_per)
    return pd.Series(names, index=pd.Index([f"u{i}" for i in range(len(names))],
                                           name="user_id"))


def test_labels_and_order():
    assert cluster_label(0) == "Cluster 1" and cluster_label(NOISE) == NOISE_LABEL
    shuffled = ["Cluster 10", NOISE_LABEL, "Cluster 2", "Cluster 1", "Cluster 11"]
    assert sorted_labels(shuffled) == ["Cluster 1", "Cluster 2", "Cluster 10", "Cluster 11",
                                       NOISE_LABEL]
    result = ClusterResult(np.array([11, -1, 1, 0]), np.zeros((12, 2)), "hdbscan")
    assert list(result.names()) == ["Cluster 12", NOISE_LABEL, "Cluster 2", "Cluster 1"]


def test_charts_and_profiles_list_clusters_in_numeric_order():
    labels = _labels()
    assert list(charts.cluster_sizes(labels).data[0].x) == [*TWELVE, NOISE_LABEL]
    plot = pd.DataFrame({"x": range(len(labels)), "y": range(len(labels)),
                         "cluster": labels.to_numpy(), "user_id": labels.index})
    figure = charts.projection_scatter(plot, ["x", "y"], "cluster")
    assert [trace.name for trace in figure.data] == [*TWELVE, NOISE_LABEL]
    features = pd.DataFrame({"spend": np.arange(len(labels), dtype=float)}, index=labels.index)
    assert profile_clusters(features, labels).labels == TWELVE  # noise is not a persona
