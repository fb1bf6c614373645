"""The clustering algorithms and what each one needs and can do.

Every algorithm is one :class:`Algorithm` in :data:`REGISTRY`. Its capabilities are
declared here, once, so the Clustering page, the command line, the report and the
portable model read them instead of keeping their own lists:

- ``uses_k``: the analyst chooses the number of clusters (and the k sweep can run it);
- ``sampled``: memory or time grows with the square of the users, so above
  ``ClusterConfig.max_exact_rows`` it fits a stratified sample and assigns the rest;
- ``assigns_new``: ``fit`` returns a function that places new users in the fitted
  clusters (used to assign the users left out of a sample);
- ``has_noise``: some users may be labelled noise (:data:`NOISE`) instead of a cluster;
- ``centre_exact``: each user's cluster is its nearest cluster centre, so the portable
  model (centres only) reproduces the labels; for the others it approximates them;
- ``parameters``: the :class:`~core.segment.clustering.ClusterConfig` fields it reads.

A fit function takes the matrix and the config and returns the labels (``-1`` = noise)
and the assigner of new rows. ``tests/core/segment/test_algorithms.py`` runs every
registered algorithm through the same checks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import ThreadpoolController

from core.common.errors import ConfigError
from core.segment.labels import NOISE

if TYPE_CHECKING:
    from core.segment.clustering import ClusterConfig

Assigner = Callable[[np.ndarray], np.ndarray]
FitFunction = Callable[[np.ndarray, "ClusterConfig"], tuple[np.ndarray, Assigner]]
#: Rows per chunk when assigning to the nearest centre, so memory stays flat.
NEAREST_CHUNK = 50_000
#: Restarts of a final K-Means fit (scikit-learn's classic default).
KMEANS_N_INIT = 10
MINIBATCH_N_INIT = 3
MINIBATCH_BATCH = 4096
#: Threads (OpenMP and BLAS) for fitting and measuring clusterings. One: on a 2-core
#: machine shared with the app's server (and here with other work), K-Means' OpenMP
#: threads wait on each other at every Lloyd iteration; measured with the other core
#: busy, 2 threads took 1.8 s for one K-Means fit of 5,000 users (10 restarts) and 1
#: thread 0.05 s, and the k sweep of 100 k users 17 s against 6 s. One thread also makes
#: a fit exactly reproducible (the per-thread sums of the centres are added in the order
#: the threads finish).
THREADS = 1
#: The thread pools found (7 ms each time), with the number of modules loaded then: a
#: library imported later (another OpenMP or BLAS) needs a new look.
_THREADPOOLS: tuple[int, ThreadpoolController] | None = None


def limited_threads() -> AbstractContextManager:
    """A context in which OpenMP and BLAS use :data:`THREADS` threads."""
    global _THREADPOOLS
    if _THREADPOOLS is None or _THREADPOOLS[0] != len(sys.modules):
        _THREADPOOLS = (len(sys.modules), ThreadpoolController())
    return _THREADPOOLS[1].limit(limits=THREADS)


@dataclass(frozen=True)
class Algorithm:
    """One clustering algorithm: its name, its capabilities and how to fit it."""

    key: str
    label: str
    fit: FitFunction
    uses_k: bool
    sampled: bool
    assigns_new: bool
    has_noise: bool
    centre_exact: bool
    parameters: tuple[str, ...]


def nearest(matrix: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each row (squared Euclidean distance)."""
    chunks = np.array_split(matrix, len(matrix) // NEAREST_CHUNK + 1)
    return np.concatenate([((chunk[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
                           .argmin(axis=1) for chunk in chunks])


@dataclass(frozen=True)
class NearestCentre:
    """An assigner that places rows at the nearest of fixed centres (code order).

    K-Means' own centres (not the means of its members, which differ from them by the
    convergence tolerance) make the portable model reproduce its labels exactly.
    """

    centres: np.ndarray

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return nearest(rows, self.centres)


def centroids_of(matrix: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean position of each cluster (noise left out), ordered by label."""
    ids = sorted(int(v) for v in np.unique(labels) if v != NOISE)
    if not ids:
        return np.empty((0, matrix.shape[1]))
    return np.vstack([matrix[labels == i].mean(axis=0) for i in ids])


def _kmeans(matrix: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, Assigner]:
    model = KMeans(n_clusters=config.k, n_init=KMEANS_N_INIT,
                   random_state=config.random_state).fit(matrix)
    return model.labels_, NearestCentre(model.cluster_centers_)


def _minibatch(matrix: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, Assigner]:
    model = MiniBatchKMeans(n_clusters=config.k, n_init=MINIBATCH_N_INIT,
                            batch_size=MINIBATCH_BATCH,
                            random_state=config.random_state).fit(matrix)
    return model.labels_, NearestCentre(model.cluster_centers_)


def _gmm(matrix: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, Assigner]:
    model = GaussianMixture(n_components=config.k, random_state=config.random_state).fit(matrix)
    return model.predict(matrix), model.predict


def _agglomerative(matrix: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, Assigner]:
    labels = AgglomerativeClustering(n_clusters=config.k,
                                     linkage=config.linkage).fit_predict(matrix)
    return labels, NearestCentre(centroids_of(matrix, labels))


def _dbscan(matrix: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, Assigner]:
    model = DBSCAN(eps=config.eps, min_samples=config.min_samples).fit(matrix)
    core = model.core_sample_indices_
    if len(core) == 0:
        return model.labels_, lambda rows: np.full(len(rows), NOISE)
    index = NearestNeighbors(n_neighbors=1).fit(matrix[core])

    def assign(rows: np.ndarray) -> np.ndarray:
        # A new user joins the cluster of the nearest core point within eps, as
        # DBSCAN's own border points do; farther away it is noise.
        distance, which = index.kneighbors(rows)
        found = model.labels_[core][which[:, 0]]
        return np.where(distance[:, 0] <= config.eps, found, NOISE)

    return model.labels_, assign


def _hdbscan(matrix: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, Assigner]:
    import hdbscan  # imported here: it pulls in numba, slow to import

    model = hdbscan.HDBSCAN(min_cluster_size=config.min_cluster_size,
                            min_samples=config.min_samples, prediction_data=True).fit(matrix)
    return model.labels_, lambda rows: hdbscan.approximate_predict(model, rows)[0]


REGISTRY: dict[str, Algorithm] = {a.key: a for a in (
    Algorithm("kmeans", "K-Means", _kmeans, uses_k=True, sampled=False, assigns_new=True,
              has_noise=False, centre_exact=True, parameters=("k", "random_state")),
    Algorithm("minibatch", "MiniBatch K-Means", _minibatch, uses_k=True, sampled=False,
              assigns_new=True, has_noise=False, centre_exact=True,
              parameters=("k", "random_state")),
    Algorithm("gmm", "Gaussian mixture", _gmm, uses_k=True, sampled=False, assigns_new=True,
              has_noise=False, centre_exact=False, parameters=("k", "random_state")),
    # Ward on 10 k users took 5 s and 1 GB here, on 30 k 123 s and 7 GB.
    Algorithm("agglomerative", "Agglomerative", _agglomerative, uses_k=True, sampled=True,
              assigns_new=True, has_noise=False, centre_exact=False,
              parameters=("k", "linkage")),
    Algorithm("dbscan", "DBSCAN", _dbscan, uses_k=False, sampled=True, assigns_new=True,
              has_noise=True, centre_exact=False, parameters=("eps", "min_samples")),
    # scikit-learn's HDBSCAN took 188 s on 100 k users, the hdbscan package 35 s.
    Algorithm("hdbscan", "HDBSCAN", _hdbscan, uses_k=False, sampled=True, assigns_new=True,
              has_noise=True, centre_exact=False,
              parameters=("min_cluster_size", "min_samples")),
)}


def algorithm(key: str) -> Algorithm:
    """The registered algorithm called ``key``.

    Raises
    ------
    ConfigError
        When no algorithm has that key.
    """
    try:
        return REGISTRY[key]
    except KeyError:
        raise ConfigError(f"Unknown algorithm '{key}'. Choose one of "
                          f"{', '.join(REGISTRY)}.") from None


def label(key: str) -> str:
    """The readable name of an algorithm (the key itself when it is not registered)."""
    return REGISTRY[key].label if key in REGISTRY else key


def with_k() -> list[str]:
    """Keys of the algorithms that take a number of clusters."""
    return [a.key for a in REGISTRY.values() if a.uses_k]


def sweepable() -> list[str]:
    """Keys of the algorithms the k sweep runs: those with k that fit every user."""
    return [a.key for a in REGISTRY.values() if a.uses_k and not a.sampled]
