"""One contract every registered clustering algorithm must keep (scikit-learn's
``check_estimator`` idea): seeded and deterministic, labels for every user numbered by
size, noise only where declared, sampling where declared, and assignment of new users."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from core.common.errors import ConfigError
from core.segment import algorithms
from core.segment.clustering import ClusterConfig, fit_clusters
from core.segment.labels import NOISE

#: Settings that find the three blobs below for each algorithm.
SETTINGS = {"k": 3, "eps": 0.8, "min_samples": 5, "min_cluster_size": 15}
KEYS = list(algorithms.REGISTRY)


def blobs(n_per: int = 60, seed: int = 0, outliers: int = 0) -> np.ndarray:
    """Three well separated groups of different sizes in 2-D, and far outliers."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    sizes = [n_per * 2, n_per, n_per // 2]
    parts = [rng.normal(c, 0.5, size=(s, 2)) for c, s in zip(centres, sizes, strict=True)]
    parts.append(rng.uniform(30, 40, size=(outliers, 2)))
    return np.vstack(parts)


def config(key: str, **overrides) -> ClusterConfig:
    return ClusterConfig(algorithm=key, random_state=3, **{**SETTINGS, **overrides})


def test_every_algorithm_declares_its_parameters_as_config_fields():
    fields = set(ClusterConfig.__dataclass_fields__)
    for spec in algorithms.REGISTRY.values():
        assert set(spec.parameters) <= fields, spec.key
        assert ("k" in spec.parameters) == spec.uses_k, spec.key


@pytest.mark.parametrize("key", KEYS)
def test_seeded_fits_are_identical(key):
    matrix = blobs()
    first = fit_clusters(matrix, config(key)).labels
    second = fit_clusters(matrix, config(key)).labels
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("key", KEYS)
def test_labels_cover_every_user_and_find_the_groups(key):
    matrix = blobs()
    result = fit_clusters(matrix, config(key))
    assert result.labels.shape == (len(matrix),)
    truth = np.repeat([0, 1, 2], [120, 60, 30])
    assert adjusted_rand_score(truth, result.labels) > 0.95
    clusters = result.labels[result.labels != NOISE]
    sizes = np.bincount(clusters)
    # Numbered 0, 1, ... with no gaps, largest first.
    assert list(np.unique(clusters)) == list(range(len(sizes)))
    assert list(sizes) == sorted(sizes, reverse=True)
    assert result.n_clusters == len(sizes) == len(result.centroids)


@pytest.mark.parametrize("key", KEYS)
def test_noise_only_where_declared(key):
    spec = algorithms.REGISTRY[key]
    matrix = blobs(outliers=6)
    labels = fit_clusters(matrix, config(key)).labels
    if spec.has_noise:
        assert (labels[-6:] == NOISE).all()  # the far outliers are noise, not a cluster
    else:
        assert (labels != NOISE).all()


@pytest.mark.parametrize("key", KEYS)
def test_sampled_where_declared(key):
    spec = algorithms.REGISTRY[key]
    matrix = blobs(n_per=200)
    result = fit_clusters(matrix, config(key, max_exact_rows=150))
    if spec.sampled:
        assert result.sample_size == 150
        assert "fitted_on_sample" in [n.code for n in result.notices]
        truth = np.repeat([0, 1, 2], [400, 200, 100])
        assert adjusted_rand_score(truth, result.labels) > 0.95  # the rest were assigned
    else:
        assert result.sample_size is None


@pytest.mark.parametrize("key", [k for k in KEYS if algorithms.REGISTRY[k].assigns_new])
def test_assigns_new_users_to_the_fitted_clusters(key):
    train, fresh = blobs(seed=1), blobs(seed=2)
    spec = algorithms.REGISTRY[key]
    _, assign = spec.fit(train, config(key))
    assigned = assign(fresh)
    assert assigned.shape == (len(fresh),)
    truth = np.repeat([0, 1, 2], [120, 60, 30])
    assert adjusted_rand_score(truth, assigned) > 0.95


@pytest.mark.parametrize("key", [k for k in KEYS if algorithms.REGISTRY[k].centre_exact])
def test_centre_exact_means_nearest_centre_reproduces_the_labels(key):
    matrix = blobs()
    result = fit_clusters(matrix, config(key))
    np.testing.assert_array_equal(algorithms.nearest(matrix, result.centroids), result.labels)


@pytest.mark.parametrize("key", algorithms.with_k())
def test_k_out_of_range_is_refused(key):
    with pytest.raises(ConfigError, match="between 2 and"):
        fit_clusters(blobs(), replace(config(key), k=1))


def test_unknown_algorithm_names_the_registered_ones():
    with pytest.raises(ConfigError, match="kmeans, minibatch"):
        fit_clusters(blobs(), ClusterConfig(algorithm="spectral"))


def test_sweepable_algorithms_take_k_and_fit_everyone():
    assert algorithms.sweepable() == ["kmeans", "minibatch", "gmm"]
    assert set(algorithms.sweepable()) <= set(algorithms.with_k())
