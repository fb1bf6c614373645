"""Clustering on synthetic blobs whose true groups are known (scikit-learn's make_blobs)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_samples

from core.common.errors import ConfigError, DataError
from core.segment.clustering import (
    NOISE,
    ClusterConfig,
    fit_clusters,
    holdout_agreement,
    k_sweep,
    knee,
    stability,
)


@pytest.fixture(scope="module")
def blobs():
    # Four well-separated groups of unequal size.
    points, y = make_blobs(n_samples=[400, 300, 200, 100], centers=[[0, 0], [10, 0], [0, 10],
                      [10, 10]], cluster_std=1.0, random_state=0)
    return points, y


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "gmm", "agglomerative"])
def test_algorithms_with_k_recover_separated_groups(blobs, algorithm):
    points, y = blobs
    result = fit_clusters(points, ClusterConfig(algorithm=algorithm, k=4))
    assert adjusted_rand_score(y, result.labels) == pytest.approx(1.0)
    assert result.n_clusters == 4 and result.noise == 0
    # Clusters are numbered by size, largest first.
    sizes = np.bincount(result.labels)
    assert list(sizes) == sorted(sizes, reverse=True) == [400, 300, 200, 100]


def test_same_seed_same_labels(blobs):
    points, _ = blobs
    a = fit_clusters(points, ClusterConfig(k=5, random_state=3)).labels
    b = fit_clusters(points, ClusterConfig(k=5, random_state=3)).labels
    assert (a == b).all()


def test_quadratic_methods_run_on_a_sample_and_say_so(blobs):
    points, y = blobs
    result = fit_clusters(points, ClusterConfig(algorithm="agglomerative", k=4,
                                           max_exact_rows=200))
    assert result.sample_size is not None and 180 <= result.sample_size <= 230
    assert [n.code for n in result.notices] == ["fitted_on_sample"]
    assert adjusted_rand_score(y, result.labels) == pytest.approx(1.0)


def test_density_methods_mark_noise(blobs):
    points, y = blobs
    far = np.vstack([points, [[50.0, 50.0], [-40.0, 30.0]]])
    result = fit_clusters(far, ClusterConfig(algorithm="dbscan", eps=1.5, min_samples=5))
    assert result.labels[-1] == NOISE and result.labels[-2] == NOISE
    assert result.n_clusters == 4
    assert "Noise" in set(result.names())
    assert adjusted_rand_score(y, result.labels[:-2]) > 0.95
    hdb = fit_clusters(far, ClusterConfig(algorithm="hdbscan", min_cluster_size=30))
    assert hdb.n_clusters == 4 and hdb.labels[-1] == NOISE
    sampled = fit_clusters(far, ClusterConfig(algorithm="dbscan", eps=1.5, min_samples=3,
                                              max_exact_rows=300))
    assert sampled.sample_size is not None
    assert adjusted_rand_score(y, sampled.labels[:-2]) > 0.9


def test_bad_settings_get_messages(blobs):
    points, _ = blobs
    with pytest.raises(ConfigError, match="k = 2000 does not fit 1,000 users"):
        fit_clusters(points, ClusterConfig(k=2000))
    with pytest.raises(DataError, match=r"every user as noise.*Raise eps"):
        fit_clusters(points, ClusterConfig(algorithm="dbscan", eps=1e-4, min_samples=5))
    with pytest.raises(DataError, match="at least 2 users"):
        fit_clusters(points[:1], ClusterConfig(k=2))
    with pytest.raises(ConfigError, match="Unknown algorithm"):
        fit_clusters(points, ClusterConfig(algorithm="spectral"))  # type: ignore[arg-type]


def test_sweep_suggests_the_true_k(blobs):
    points, _ = blobs
    sweep = k_sweep(points, range(2, 8))
    assert sweep.suggested_k == 4
    assert sweep.knee_k == 4
    assert list(sweep.table["k"]) == list(range(2, 8))
    assert {"inertia", "silhouette", "davies_bouldin", "calinski_harabasz"} <= set(
        sweep.table.columns)
    assert sweep.table["inertia"].is_monotonic_decreasing
    assert "k = 4 has the highest silhouette" in sweep.reason
    gmm = k_sweep(points, [3, 4, 5], algorithm="gmm")
    assert gmm.table.loc[gmm.table["bic"].idxmin(), "k"] == 4


def test_knee_of_a_simple_curve():
    # Drops fast until 3, then flattens: the elbow is at 3.
    assert knee([1, 2, 3, 4, 5, 6], [100, 50, 12, 10, 9, 8]) == 3
    assert knee([2, 3], [5, 4]) is None


def test_stability_high_for_real_groups_and_flagged_for_noise(blobs):
    points, _ = blobs
    real = stability(points, ClusterConfig(k=4), runs=5)
    assert real.mean > 0.99 and not real.unstable
    rng = np.random.default_rng(0)
    uniform = rng.uniform(size=(600, 2))
    # k = 7 on structureless data: refits cut the square differently each time.
    noise = stability(uniform, ClusterConfig(k=7), runs=5, method="split-half")
    assert noise.mean < real.mean
    assert holdout_agreement(points, ClusterConfig(k=4)) == pytest.approx(1.0)


def test_k_distance_suggests_an_eps_that_separates_the_groups(blobs):
    from core.segment.clustering import k_distance

    points, y = blobs
    curve, eps = k_distance(points, k=5)
    assert len(curve) == len(points) and (np.diff(curve) >= 0).all()
    # Inside a blob (sd 1) the 5th neighbour is close; between blobs (10 apart) far.
    assert 0.2 < eps < 3.0
    result = fit_clusters(points, ClusterConfig(algorithm="dbscan", eps=eps, min_samples=5))
    assert adjusted_rand_score(y[result.labels != NOISE],
                               result.labels[result.labels != NOISE]) > 0.95


def test_dendrogram_draws_the_last_merges(blobs):
    from core.segment.charts import dendrogram

    points, _ = blobs
    fig = dendrogram(points, "ward", leaves=12, sample=500)
    labels = fig.layout.xaxis.ticktext
    assert len(labels) == 12
    # Truncated leaves are labelled with the number of users they hold, e.g. "(37)".
    sizes = [int(t.strip("()")) if t.startswith("(") else 1 for t in labels]
    assert sum(sizes) == 500
    assert len(fig.data) == 11  # n leaves are joined by n - 1 merges


def test_kmeans_with_the_suggested_k_recovers_the_planted_personas():
    """The issue's bar: on the sample with its default features, K-Means with the k the
    sweep suggests matches the generator's ground truth with ARI >= 0.8."""
    from sklearn.metrics import adjusted_rand_score

    from core.data.mapping import guess_mapping
    from core.data.sample import generate_sample
    from core.features.pipeline import features_from_source
    from core.model.fitting import preprocess_config
    from core.segment.preprocess import Preprocessor

    sample = generate_sample(5000, 90, seed=42)
    table, _ = features_from_source(sample.events, guess_mapping(
        list(sample.events.columns), sample.events), "sample")
    pre = Preprocessor(preprocess_config(table, None))
    matrix = pre.fit_transform(table.frame)
    sweep = k_sweep(matrix, range(2, 11))
    result = fit_clusters(matrix, ClusterConfig(algorithm="kmeans", k=sweep.suggested_k))
    truth = sample.personas.set_index("user_id")["persona"].reindex(pre.index_)
    assert truth.notna().all()
    assert adjusted_rand_score(truth, result.labels) >= 0.8, sweep.reason


# quality measures against scikit-learn's ------------------------------------------------
def _labellings():
    """Small labellings of three kinds: K-Means on blobs, random labels on noise (with
    unequal sizes) and one with a cluster of a single user."""
    rng = np.random.default_rng(7)
    points, _ = make_blobs(n_samples=300, centers=4, n_features=3, random_state=1)
    yield points, KMeans(4, n_init=3, random_state=0).fit_predict(points)
    noise = rng.normal(size=(200, 5))
    yield noise, rng.choice([3, 7, 11], size=200, p=[0.6, 0.3, 0.1])
    single = rng.integers(0, 3, size=120)
    single[17] = 9
    yield rng.normal(size=(120, 2)), single


@pytest.mark.parametrize("case", range(3))
def test_scatter_scores_equal_scikit_learns(case):
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    from core.segment.algorithms import centroids_of
    from core.segment.clustering import scatter_scores

    points, labels = list(_labellings())[case]
    scores = scatter_scores(points, labels)
    assert scores["davies_bouldin"] == pytest.approx(davies_bouldin_score(points, labels),
                                                     rel=1e-9)
    assert scores["calinski_harabasz"] == pytest.approx(
        calinski_harabasz_score(points, labels), rel=1e-9)
    codes = np.unique(labels, return_inverse=True)[1]
    centres = centroids_of(points, codes)
    assert scores["inertia"] == pytest.approx(((points - centres[codes]) ** 2).sum(), rel=1e-12)


def test_scatter_scores_edge_cases_follow_scikit_learn():
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    from core.segment.clustering import scatter_scores

    # Every user on its cluster's centre: no spread, so DB is 0 and CH is 1 (sklearn's).
    points = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.0]])
    labels = np.array([0, 0, 1, 1])
    scores = scatter_scores(points, labels)
    assert scores["davies_bouldin"] == davies_bouldin_score(points, labels) == 0.0
    assert scores["calinski_harabasz"] == calinski_harabasz_score(points, labels) == 1.0
    with pytest.raises(ValueError, match="2 to 3 clusters"):
        scatter_scores(points, np.zeros(4, dtype=int))


@pytest.mark.parametrize("case", range(3))
def test_silhouette_values_equal_scikit_learns(case):
    from sklearn.metrics import pairwise_distances, silhouette_samples

    from core.segment.clustering import silhouette_values

    points, labels = list(_labellings())[case]
    distances = pairwise_distances(points)
    values = silhouette_values(distances, labels)
    np.testing.assert_allclose(values, silhouette_samples(points, labels), atol=1e-12)
    np.testing.assert_allclose(
        values, silhouette_samples(distances, labels, metric="precomputed"), atol=1e-12)
    if case == 2:  # a cluster of one user has silhouette 0
        assert values[17] == 0.0


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "gmm"])
def test_sweep_metrics_are_scikit_learns_on_the_fitted_labels(blobs, algorithm):
    """Each row of the sweep holds scikit-learn's measures of that k's labels: silhouette
    on the documented sample (one random sample, the same for every k), the others on
    every user."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
    from sklearn.mixture import GaussianMixture

    from core.segment.algorithms import REGISTRY, limited_threads
    from core.segment.clustering import SWEEP_N_INIT

    points, _ = blobs
    sweep = k_sweep(points, [2, 3, 5], algorithm=algorithm, random_state=4,
                    silhouette_sample=250)
    sample = np.random.default_rng(4).choice(len(points), size=250, replace=False)
    assert sweep.silhouette_sample == 250
    for row in sweep.table.to_dict("records"):
        k = int(row["k"])
        with limited_threads():  # as the sweep fits (one thread: the same sums)
            if algorithm == "kmeans":
                labels = KMeans(k, n_init=SWEEP_N_INIT, random_state=4).fit_predict(points)
            elif algorithm == "gmm":
                labels = GaussianMixture(k, random_state=4).fit(points).predict(points)
            else:
                labels = REGISTRY[algorithm].fit(points, ClusterConfig(
                    algorithm=algorithm, k=k, random_state=4))[0]
        values = silhouette_samples(points[sample], labels[sample])
        assert row["silhouette"] == pytest.approx(values.mean(), abs=1e-12)
        assert row["silhouette_se"] == pytest.approx(
            values.std(ddof=1) / np.sqrt(len(values)), abs=1e-12)
        assert row["davies_bouldin"] == pytest.approx(davies_bouldin_score(points, labels),
                                                      rel=1e-9)
        assert row["calinski_harabasz"] == pytest.approx(
            calinski_harabasz_score(points, labels), rel=1e-9)


def test_stability_scores_are_scikit_learns_ari_of_nearest_centre_labels(blobs):
    """The convention written out: refit r on a bootstrap resample with seed r, assign
    every user to the refit's nearest centre, adjusted Rand index with the full fit."""
    from dataclasses import replace

    from core.segment.algorithms import nearest

    points, _ = blobs
    config = ClusterConfig(k=5, random_state=2)
    result = stability(points, config, runs=4)
    reference = fit_clusters(points, config).labels
    rng = np.random.default_rng(config.random_state)
    expected = []
    for run in range(4):
        rows = rng.choice(len(points), size=len(points), replace=True)
        refit = fit_clusters(points[rows], replace(config, random_state=run + 1))
        expected.append(adjusted_rand_score(reference, nearest(points, refit.centroids)))
    assert result.scores == pytest.approx(expected, abs=1e-12)
    # The reference labels of a fit kept elsewhere give the same result without a refit.
    again = stability(points, config, runs=4, reference=reference)
    assert again.scores == result.scores and again.jaccard == result.jaccard
    with pytest.raises(ConfigError, match="reference labels are for 3 users"):
        stability(points, config, runs=2, reference=reference[:3])


def test_fits_and_sweeps_run_on_the_declared_threads(blobs, monkeypatch):
    """OpenMP and BLAS are held at algorithms.THREADS while clustering (see there why)."""
    from threadpoolctl import threadpool_info

    from core.segment import algorithms

    seen = []

    def probe(matrix, config):
        seen.append({p["user_api"]: p["num_threads"] for p in threadpool_info()})
        return algorithms._kmeans(matrix, config)

    monkeypatch.setitem(algorithms.REGISTRY, "probe", replace_fit(
        algorithms.REGISTRY["kmeans"], probe))
    points, _ = blobs
    fit_clusters(points, ClusterConfig(algorithm="probe", k=4))
    k_sweep(points, [2, 3], algorithm="probe")
    assert len(seen) == 3
    assert all(set(threads.values()) == {algorithms.THREADS} for threads in seen)


def replace_fit(spec, fit):
    from dataclasses import replace

    return replace(spec, key="probe", fit=fit)


def test_renumbering_orders_clusters_by_size_and_keeps_noise():
    from core.segment.clustering import _renumber

    labels = np.array([4, 4, -1, 9, 9, 9, 2, 4, 9, -1])
    renumbered, order = _renumber(labels)
    assert renumbered.tolist() == [1, 1, -1, 0, 0, 0, 2, 1, 0, -1]
    assert order.tolist() == [9, 4, 2]
