"""Clustering of the preprocessed matrix: fit, choose k, and check stability.

The algorithms and their capabilities are declared in :mod:`core.segment.algorithms`.
Every algorithm takes a seed: same inputs, same labels. Those declared ``sampled``
(memory or time quadratic in the users) run on a stratified sample above
:data:`MAX_EXACT_ROWS` users; the others are then assigned by the algorithm's own
assigner (nearest cluster centre, nearest core point or HDBSCAN's approximate
prediction), and a notice says so. Noise is labelled -1 and shown as "Noise", never as
a cluster (:mod:`core.segment.labels`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_samples
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.common.progress import Progress, silent
from core.segment.algorithms import (
    REGISTRY,
    NearestCentre,
    algorithm,
    centroids_of,
    label,
    limited_threads,
    nearest,
    sweepable,
    with_k,
)
from core.segment.labels import NOISE, cluster_label

Linkage = Literal["ward", "average", "complete"]

#: Above this many users, agglomerative, DBSCAN and HDBSCAN fit a stratified sample
#: (ward on 10 k users took 5 s and 1 GB here, on 30 k 123 s and 7 GB).
MAX_EXACT_ROWS = 10_000
#: Silhouette is quadratic: the sweep measures it on a sample of this size (0.11 s per
#: k here; 10 k users took 1 s and all 100 k 84 s).
SILHOUETTE_SAMPLE = 3_000
#: Silhouettes within this many standard errors of the highest are a tie: the mean over
#: a 3,000-user sample has a standard error near 0.003 on the sample shop.
SILHOUETTE_TIE_SE = 2.0
#: K-Means restarts per k in a sweep (a final fit uses 10): 0.3 s instead of 1 s per k on
#: 100 k users, and the curves barely move. One restart (scikit-learn's "auto") is not
#: enough: on the 100 k sample shop it left the inertia of k = 4 and 5 about 5 % above
#: that of three restarts, which moves the elbow.
SWEEP_N_INIT = 3
#: The sweep measures every k's silhouette on the same sample, so the sample's distance
#: matrix is computed once (72 MB at 3,000 users); above this size it is not kept and
#: each k measures its own (scikit-learn's chunked silhouette_samples).
SHARED_DISTANCES_MAX = 5_000
#: MiniBatch K-Means is suggested above this many users.
MINIBATCH_SUGGESTED_ABOVE = 50_000
#: Mean adjusted Rand index below which a clustering is flagged as unstable.
UNSTABLE_ARI = 0.75


@dataclass(frozen=True)
class ClusterConfig:
    """Settings of one clustering fit."""

    algorithm: str = "kmeans"
    k: int = 6
    linkage: Linkage = "ward"
    eps: float = 0.5
    min_samples: int = 10
    min_cluster_size: int = 50
    random_state: int = 0
    max_exact_rows: int = MAX_EXACT_ROWS


@dataclass
class ClusterResult:
    """Labels (``-1`` = noise), cluster centres and what was done to get them."""

    labels: np.ndarray
    centroids: np.ndarray
    algorithm: str
    sample_size: int | None = None
    notices: list[Notice] = field(default_factory=list)

    @property
    def n_clusters(self) -> int:
        return len(self.centroids)

    @property
    def noise(self) -> int:
        return int((self.labels == NOISE).sum())

    def names(self) -> pd.Series:
        """Label names for display: "Cluster 1", ..., and "Noise"."""
        return pd.Series([cluster_label(v) for v in self.labels])


def _check(matrix: np.ndarray, config: ClusterConfig) -> None:
    n = len(matrix)
    if n < 2:
        raise DataError(f"Clustering needs at least 2 users; there {'is' if n == 1 else 'are'} "
                        f"{n}. Load more data or relax the exclusions.")
    if algorithm(config.algorithm).uses_k and not 2 <= config.k < n:
        raise ConfigError(f"k = {config.k} does not fit {n:,} users: choose k between 2 and "
                          f"{n - 1:,}.")
    if config.algorithm == "dbscan" and config.eps <= 0:
        raise ConfigError("eps must be a positive distance; the k-distance plot suggests one.")


def stratified_sample(matrix: np.ndarray, size: int, random_state: int) -> np.ndarray:
    """Row indices of a sample that keeps the shape of the data.

    Rows are grouped by a quick MiniBatch K-Means into 50 strata and each stratum is
    sampled in proportion, so small dense groups are not lost by chance.
    """
    rng = np.random.default_rng(random_state)
    strata = MiniBatchKMeans(n_clusters=min(50, len(matrix) // 2), random_state=random_state,
                             n_init=1, batch_size=4096).fit_predict(matrix)
    chosen = []
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        take = max(1, round(size * len(members) / len(matrix)))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    rows = np.concatenate(chosen)
    # Rounding per stratum misses the size by a few rows: trim or top up at random.
    if len(rows) > size:
        rows = rng.choice(rows, size=size, replace=False)
    elif len(rows) < size:
        rest = np.setdiff1d(np.arange(len(matrix)), rows)
        rows = np.concatenate([rows, rng.choice(rest, size=size - len(rows), replace=False)])
    return np.sort(rows)


def fit_clusters(matrix: np.ndarray, config: ClusterConfig,
                 progress: Progress | None = None) -> ClusterResult:
    """Cluster the rows of a preprocessed matrix.

    Parameters
    ----------
    matrix : ndarray
        One row per user (see :class:`core.segment.preprocess.Preprocessor`).
    config : ClusterConfig
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    ClusterResult

    Raises
    ------
    ConfigError
        Unknown algorithm, k out of range, non-positive eps.
    DataError
        Fewer than two users, or every user labelled noise.
    """
    _check(matrix, config)
    with limited_threads():
        return _fit(matrix, config, progress or silent)


def _fit(matrix: np.ndarray, config: ClusterConfig, step: Progress) -> ClusterResult:
    n = len(matrix)
    spec = algorithm(config.algorithm)
    name = spec.label
    notices = []
    if config.algorithm == "kmeans" and n > MINIBATCH_SUGGESTED_ABOVE:
        notices.append(Notice("minibatch_suggested",
                              f"With {n:,} users, MiniBatch K-Means is much faster and usually "
                              "as good.", level="info"))
    sampled = spec.sampled and n > config.max_exact_rows
    rows = stratified_sample(matrix, config.max_exact_rows, config.random_state) if sampled \
        else np.arange(n)
    fit_on = matrix[rows]
    step(0.1, f"Fitting {name} on {len(rows):,} users")
    labels_fit, predict = spec.fit(fit_on, config)
    if sampled:
        step(0.7, f"Assigning the other {n - len(rows):,} users")
        labels = np.empty(n, dtype=int)
        labels[rows] = labels_fit
        rest = np.setdiff1d(np.arange(n), rows)
        labels[rest] = predict(matrix[rest])
        notices.append(Notice(
            "fitted_on_sample",
            f"{name} ran on a stratified sample of {len(rows):,} of {n:,} users (its memory "
            "grows with the square of the users); the others were assigned to the nearest "
            "cluster.", level="info"))
    else:
        labels = labels_fit
    labels, order = _renumber(labels)
    if (labels == NOISE).all():
        raise DataError(f"{name} labelled every user as noise. "
                        + ("Raise eps (the k-distance plot suggests a value)."
                           if config.algorithm == "dbscan"
                           else "Lower the minimum cluster size."))
    step(1.0, "Done")
    centres = predict.centres[order] if spec.centre_exact and not sampled \
        and isinstance(predict, NearestCentre) else centroids_of(matrix, labels)
    return ClusterResult(labels, centres, config.algorithm,
                         len(rows) if sampled else None, notices)


def _renumber(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clusters numbered 0, 1, ... by size, largest first (noise stays -1), and the old
    number of each new one."""
    keep = labels != NOISE
    ids, counts = np.unique(labels[keep], return_counts=True)
    by_size = np.argsort(-counts, kind="stable")
    rank = np.empty(len(ids), dtype=int)
    rank[by_size] = np.arange(len(ids))
    renumbered = np.full(len(labels), NOISE, dtype=int)
    renumbered[keep] = rank[np.searchsorted(ids, labels[keep])]
    return renumbered, ids[by_size]


# quality measures -------------------------------------------------------------------------
def scatter_scores(matrix: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Inertia, Davies-Bouldin and Calinski-Harabasz of a labelling, in one pass.

    All three come from the same distances of each user to the mean of its cluster:
    inertia is the sum of their squares; Calinski-Harabasz the between-cluster sum of
    squares over the within-cluster one, each divided by its degrees of freedom;
    Davies-Bouldin the mean over clusters of the largest ``(s_i + s_j) / d(c_i, c_j)``,
    ``s`` being a cluster's mean distance to its centre. The definitions (and edge cases:
    0 when every spread or every centre distance is 0, Calinski-Harabasz 1 when the
    clusters have no spread) are those of ``sklearn.metrics.davies_bouldin_score`` and
    ``calinski_harabasz_score``, which the tests compare with; those compute the centres
    and distances again for each score. Every label counts as a cluster (leave noise out
    first). Needs at least two clusters.
    """
    ids, codes = np.unique(labels, return_inverse=True)
    k, n = len(ids), len(matrix)
    if not 2 <= k < n:
        raise ValueError(f"Quality measures need 2 to {n - 1} clusters, not {k}.")
    counts = np.bincount(codes, minlength=k).astype(float)
    sums = np.column_stack([np.bincount(codes, weights=matrix[:, j], minlength=k)
                            for j in range(matrix.shape[1])])
    centres = sums / counts[:, None]
    offsets = matrix - centres[codes]
    squared = np.einsum("ij,ij->i", offsets, offsets)
    within = float(squared.sum())
    between = float((counts * ((centres - matrix.mean(axis=0)) ** 2).sum(axis=1)).sum())
    calinski = 1.0 if within == 0 else between * (n - k) / (within * (k - 1))
    spread = np.bincount(codes, weights=np.sqrt(squared), minlength=k) / counts
    gaps = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    if np.allclose(spread, 0) or np.allclose(gaps, 0):
        davies = 0.0
    else:
        gaps[gaps == 0] = np.inf
        davies = float(((spread[:, None] + spread[None, :]) / gaps).max(axis=1).mean())
    return {"inertia": within, "davies_bouldin": davies, "calinski_harabasz": calinski}


def silhouette_values(distances: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each point's silhouette (Rousseeuw 1987) from the matrix of distances between the
    points: ``(b - a) / max(a, b)``, ``a`` the mean distance to the rest of its cluster,
    ``b`` the smallest mean distance to another cluster; 0 in a cluster of one.

    The same values as ``sklearn.metrics.silhouette_samples(distances, labels,
    metric="precomputed")`` (the tests compare), with the per-cluster sums of distances
    taken as one matrix product, so one distance matrix serves every k of a sweep.
    """
    ids, codes = np.unique(labels, return_inverse=True)
    n = len(labels)
    if not 2 <= len(ids) < n:
        raise ValueError(f"The silhouette needs 2 to {n - 1} clusters, not {len(ids)}.")
    members = np.zeros((n, len(ids)))
    members[np.arange(n), codes] = 1.0
    totals = distances @ members  # each point's summed distance to each cluster
    counts = members.sum(axis=0)
    rows = np.arange(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = totals[rows, codes] / (counts[codes] - 1)
        means = totals / counts
        means[rows, codes] = np.inf
        nearest_other = means.min(axis=1)
        values = (nearest_other - own) / np.maximum(own, nearest_other)
    return np.nan_to_num(values)


# choosing k ----------------------------------------------------------------------------
@dataclass
class SweepResult:
    """Quality of each k, the elbow of inertia and a suggested k with its reason."""

    table: pd.DataFrame
    knee_k: int | None
    suggested_k: int
    reason: str
    silhouette_sample: int


def knee(ks: list[int], values: list[float]) -> int | None:
    """The elbow of a decreasing curve: the point farthest below the chord (Kneedle)."""
    if len(ks) < 3:
        return None
    x = (np.asarray(ks, float) - ks[0]) / (ks[-1] - ks[0])
    y = np.asarray(values, float)
    span = y.max() - y.min()
    if span == 0:
        return None
    y = (y - y.min()) / span
    chord = 1 - x  # from (0, 1) to (1, 0)
    return int(ks[int(np.argmax(chord - y))])


def k_sweep(matrix: np.ndarray, ks: range | list[int], algorithm: str = "kmeans",
            random_state: int = 0, silhouette_sample: int = SILHOUETTE_SAMPLE,
            progress: Progress | None = None) -> SweepResult:
    """Fit each k and measure inertia, silhouette (sampled), Davies-Bouldin,
    Calinski-Harabasz and, for mixtures, BIC.

    Conventions: K-Means runs :data:`SWEEP_N_INIT` k-means++ restarts per k (a final fit
    runs 10), the other algorithms as registered; inertia, Davies-Bouldin and
    Calinski-Harabasz are measured on every user (:func:`scatter_scores`), the
    silhouette on one random sample of ``silhouette_sample`` users, the same sample for
    every k (:func:`silhouette_values`).

    The suggested k is the smallest whose silhouette cannot be told apart from the
    highest: within :data:`SILHOUETTE_TIE_SE` standard errors of it (the mean silhouette
    is measured on a sample, so it has a sampling error). The reason names the
    runner-up evidence so the analyst can weigh it.
    """
    ks = [int(k) for k in ks]
    if algorithm not in sweepable():
        raise ConfigError("The k sweep runs " + ", ".join(label(a) for a in sweepable())
                          + ".")
    if not ks or min(ks) < 2 or max(ks) >= len(matrix):
        raise ConfigError(f"Choose k values between 2 and {len(matrix) - 1:,}.")
    step = progress or silent
    rng = np.random.default_rng(random_state)
    size = min(silhouette_sample, len(matrix))
    sample = rng.choice(len(matrix), size=size, replace=False)
    with limited_threads():
        distances = pairwise_distances(matrix[sample]) if size <= SHARED_DISTANCES_MAX \
            else None
        rows = [_sweep_row(matrix, k, algorithm, random_state, sample, distances,
                           lambda f, m, i=i: step((i + f) / len(ks), m))
                for i, k in enumerate(ks)]
    step(1.0, "Done")
    table = pd.DataFrame(rows)
    elbow = knee(ks, table["inertia"].tolist())
    suggested, reason = _suggest(table, elbow, size)
    return SweepResult(table, elbow, suggested, reason, size)


def _sweep_row(matrix: np.ndarray, k: int, algorithm: str, random_state: int,
               sample: np.ndarray, distances: np.ndarray | None,
               step: Progress) -> dict[str, float]:
    """One k of the sweep: fit, then inertia, silhouette (on ``sample``, from its
    ``distances`` when given), Davies-Bouldin, Calinski-Harabasz and, for mixtures, BIC."""
    step(0.0, f"k = {k}")
    row: dict[str, float] = {"k": k}
    if algorithm == "gmm":
        model = GaussianMixture(n_components=k, random_state=random_state).fit(matrix)
        labels = model.predict(matrix)
        row["bic"] = float(model.bic(matrix))
    elif algorithm == "kmeans":
        labels = KMeans(n_clusters=k, n_init=SWEEP_N_INIT,
                        random_state=random_state).fit_predict(matrix)
    else:
        labels, _ = REGISTRY[algorithm].fit(matrix, ClusterConfig(
            algorithm=algorithm, k=k, random_state=random_state))
    step(0.8, f"k = {k}: measuring")
    if len(np.unique(labels)) < 2:
        # The inertia about the one centre; the other measures need two clusters.
        centres = centroids_of(matrix, labels)
        row["inertia"] = float(((matrix - centres[0]) ** 2).sum())
        return row
    scores = scatter_scores(matrix, labels)
    if algorithm == "gmm":  # a mixture's inertia is about its component means
        scores["inertia"] = float(((matrix - model.means_[labels]) ** 2).sum())
    row["inertia"] = scores.pop("inertia")
    chosen = labels[sample]
    if len(np.unique(chosen)) > 1:
        values = silhouette_values(distances, chosen) if distances is not None \
            else silhouette_samples(matrix[sample], chosen)
        row["silhouette"] = float(values.mean())
        row["silhouette_se"] = float(values.std(ddof=1) / np.sqrt(len(values)))
    row.update(scores)
    return row


def _suggest(table: pd.DataFrame, elbow: int | None, size: int) -> tuple[int, str]:
    """The suggested k and the reason in words (see :func:`k_sweep`)."""
    best = table.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
    tolerance = SILHOUETTE_TIE_SE * float(best["silhouette_se"])
    close = table[table["silhouette"] >= best["silhouette"] - tolerance]
    suggested = int(close["k"].min())
    sil = float(table.loc[table["k"] == suggested, "silhouette"].iloc[0])
    db_best = int(table.loc[table["davies_bouldin"].idxmin(), "k"])
    if len(close) > 1:
        parts = [f"k = {suggested} is the simplest k whose silhouette ({sil:.3f}) is within "
                 f"{SILHOUETTE_TIE_SE:g} standard errors ({tolerance:.3f}) of the highest "
                 f"({best['silhouette']:.3f} at k = {int(best['k'])}, measured on {size:,} "
                 "users)"]
    else:
        parts = [f"k = {suggested} has the highest silhouette ({sil:.3f}, measured on "
                 f"{size:,} users)"]
    if elbow:
        parts.append(f"the elbow of inertia is at k = {elbow}")
    parts.append(f"Davies-Bouldin is lowest at k = {db_best}")
    return suggested, "; ".join(parts) + "."


# stability -----------------------------------------------------------------------------
#: Hennig's (2007) reading of the mean best-match Jaccard of a cluster over bootstrap
#: refits, as R's fpc::clusterboot documents it: below 0.6 the cluster is not stable (at
#: 0.5 or less it "dissolves"), above 0.75 it is stable, above 0.85 highly stable.
JACCARD_UNSTABLE = 0.6
JACCARD_STABLE = 0.75
JACCARD_HIGHLY_STABLE = 0.85


def jaccard_verdict(value: float) -> str:
    """Hennig's words for a cluster's mean best-match Jaccard (see :data:`JACCARD_STABLE`)."""
    if value != value:  # NaN: the cluster never appeared in a resample
        return "not measured"
    if value > JACCARD_HIGHLY_STABLE:
        return "highly stable"
    if value > JACCARD_STABLE:
        return "stable"
    if value >= JACCARD_UNSTABLE:
        return "a pattern, not clearly a cluster"
    return "unstable"


def best_match_jaccard(original: np.ndarray, refit: np.ndarray, clusters: int) -> np.ndarray:
    """For each original cluster ``0 .. clusters - 1``: its largest Jaccard index with any
    cluster of ``refit``, both labellings of the same (resampled) points.

    Points are counted with their multiplicity in the resample, as fpc::clusterboot does;
    a cluster with no point in the resample is NaN. Noise (-1) in ``refit`` is not a
    cluster to match.
    """
    refit_ids = np.unique(refit[refit != NOISE])
    result = np.full(clusters, np.nan)
    if not len(refit_ids):
        return result
    keep = original != NOISE
    columns = np.searchsorted(refit_ids, refit)
    matched = keep & (refit != NOISE)
    both = np.zeros((clusters, len(refit_ids)))
    np.add.at(both, (original[matched], columns[matched]), 1)
    sizes_original = np.bincount(original[keep], minlength=clusters)[:clusters]
    sizes_refit = np.array([(refit == r).sum() for r in refit_ids])
    union = sizes_original[:, None] + sizes_refit[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, both / union, 0.0)
    present = sizes_original > 0
    result[present] = jaccard[present].max(axis=1)
    return result


@dataclass
class StabilityResult:
    """Agreement between refits on resamples and the full fit: overall (adjusted Rand
    index of every user's labels) and per cluster (mean best-match Jaccard, Hennig's
    clusterwise stability).

    ``jaccard`` holds one row per refit and one column per cluster of the full fit
    (``Cluster 1``, ``Cluster 2``, ...); NaN where the cluster had no point in the resample.
    """

    scores: list[float]
    method: str
    jaccard: list[list[float]] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def sd(self) -> float:
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else 0.0

    @property
    def unstable(self) -> bool:
        return self.mean < UNSTABLE_ARI

    @property
    def by_cluster(self) -> pd.Series:
        """Mean best-match Jaccard of each cluster over the refits (label index)."""
        table = np.asarray(self.jaccard, dtype=float)
        if table.size == 0:
            return pd.Series(dtype=float)
        with warnings.catch_warnings():  # a cluster absent from every resample is NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(table, axis=0)
        return pd.Series(means, index=[cluster_label(i) for i in range(table.shape[1])],
                         name="jaccard")


def stability(matrix: np.ndarray, config: ClusterConfig, runs: int = 10,
              method: Literal["bootstrap", "split-half"] = "bootstrap",
              progress: Progress | None = None,
              reference: np.ndarray | None = None) -> StabilityResult:
    """Refit on resamples and compare with the full fit, overall and per cluster.

    Overall: each refit's cluster centres assign every user (nearest centre), the
    resampled ones and the others, and the adjusted Rand index
    (``sklearn.metrics.adjusted_rand_score``) compares that labelling with the full
    fit's; a mean below :data:`UNSTABLE_ARI` is flagged unstable.

    Per cluster (Hennig 2007, R's ``fpc::clusterboot``): on each resample, every cluster
    of the full fit, restricted to the resampled users, is matched with the most similar
    cluster of the refit on that resample (largest Jaccard index); a cluster's stability
    is that Jaccard averaged over the refits. Read it with :func:`jaccard_verdict`.

    Bootstrap resamples users with replacement; split-half fits a random half. Refit
    ``r`` (1, 2, ...) uses seed ``r`` and the settings of ``config`` (for K-Means its 10
    restarts). ``reference`` is the full fit's labels when they are known (the
    workspace's clustering, fitted once: ``fit_clusters(matrix, config).labels``), so
    they are not fitted again.
    """
    if config.algorithm not in with_k():
        raise ConfigError("Stability by refitting is measured for "
                          + ", ".join(label(a) for a in with_k()) + ".")
    step = progress or silent
    if reference is None:
        reference = fit_clusters(matrix, config).labels
    elif len(reference) != len(matrix):
        raise ConfigError(f"The reference labels are for {len(reference):,} users, the "
                          f"matrix has {len(matrix):,}.")
    reference = np.asarray(reference, dtype=int)
    clusters = int(reference.max()) + 1 if (reference != NOISE).any() else 0
    rng = np.random.default_rng(config.random_state)
    scores, jaccard = [], []
    for run in range(runs):
        step(run / runs, f"Refit {run + 1} of {runs}")
        if method == "bootstrap":
            rows = rng.choice(len(matrix), size=len(matrix), replace=True)
        else:
            rows = rng.choice(len(matrix), size=len(matrix) // 2, replace=False)
        refit = fit_clusters(matrix[rows], replace(config, random_state=run + 1))
        scores.append(float(adjusted_rand_score(reference,
                                                nearest(matrix, refit.centroids))))
        jaccard.append(best_match_jaccard(reference[rows], refit.labels, clusters).tolist())
    step(1.0, "Done")
    return StabilityResult(scores, method, jaccard)


def holdout_agreement(matrix: np.ndarray, config: ClusterConfig, share: float = 0.2) -> float:
    """Fit without a held-out share of users, assign them by nearest centre, and compare
    with their labels in the full fit (adjusted Rand index)."""
    rng = np.random.default_rng(config.random_state)
    held = rng.random(len(matrix)) < share
    full = fit_clusters(matrix, config).labels
    partial = fit_clusters(matrix[~held], config)
    return float(adjusted_rand_score(full[held], nearest(matrix[held], partial.centroids)))


def k_distance(matrix: np.ndarray, k: int = 10, sample: int = 5_000,
               random_state: int = 0) -> tuple[np.ndarray, float]:
    """Sorted distance of each user to its k-th nearest neighbour, and a suggested eps.

    The suggestion is the knee of the sorted curve: past it, distances shoot up and
    points are outliers. Computed on a random sample of at most ``sample`` users.
    """
    if len(matrix) <= k:
        raise ConfigError(f"The k-distance plot needs more than {k} users.")
    rng = np.random.default_rng(random_state)
    rows = rng.choice(len(matrix), size=min(sample, len(matrix)), replace=False)
    points = matrix[rows]
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    curve = np.sort(distances[:, k])
    # Kneedle on an increasing curve: the point farthest below the chord.
    x = np.linspace(0, 1, len(curve))
    span = curve[-1] - curve[0]
    if span == 0:
        return curve, float(curve[0])
    y = (curve - curve[0]) / span
    return curve, float(curve[int(np.argmax(x - y))])
