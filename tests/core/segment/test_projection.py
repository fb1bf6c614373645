"""Maps: UMAP and t-SNE keep groups together, respect samples and settings, report progress."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

from core.common.errors import ConfigError
from core.segment import charts, projection
from core.segment.projection import (
    TSNE_MAX_SAMPLE,
    TSNE_MAX_SAMPLE_3D,
    UMAP_METRICS,
    pca_projection,
    tsne_projection,
    tsne_seconds,
    umap_epochs,
    umap_projection,
    umap_seconds,
    warm_up_fits,
    warm_up_umap,
)


@pytest.fixture(scope="module")
def blobs():
    # Below 4,096 rows the map's neighbours are exact: no pynndescent compile in tests.
    matrix, truth = make_blobs(1200, n_features=6, centers=4, cluster_std=1.0, random_state=3)
    return matrix, truth, pd.Index([f"u{i}" for i in range(len(matrix))])


def _neighbours_agree(coords: pd.DataFrame, truth: np.ndarray) -> float:
    """Share of users whose 5 nearest map neighbours mostly share their true group."""
    model = KNeighborsClassifier(5).fit(coords.to_numpy(), truth)
    return float((model.predict(coords.to_numpy()) == truth).mean())


def test_umap_keeps_groups_together_and_reports_progress(blobs):
    matrix, truth, index = blobs
    seen: list[float] = []
    projection = umap_projection(matrix, index, n_neighbors=15, random_state=0,
                                 progress=lambda fraction, message: seen.append(fraction))
    assert list(projection.coords.columns) == ["UMAP1", "UMAP2"]
    assert projection.coords.index.equals(index) and projection.sample_size is None
    assert _neighbours_agree(projection.coords, truth) > 0.98
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert any(0.4 < f < 1.0 for f in seen)  # epochs reported on the way


def test_umap_is_reproducible_with_a_seed_and_places_a_stratified_sample(blobs):
    matrix, truth, index = blobs
    first = umap_projection(matrix, index, dimensions=3, sample_size=400, random_state=7)
    again = umap_projection(matrix, index, dimensions=3, sample_size=400, random_state=7)
    assert first.coords.shape == (400, 3) and first.sample_size == 400
    assert first.total_users == 1200
    np.testing.assert_allclose(first.coords.to_numpy(), again.coords.to_numpy())
    groups = pd.Series(truth, index=index)[first.coords.index].value_counts(normalize=True)
    assert groups.between(0.2, 0.3).all()  # four equal groups stay about equal


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_neighbors": 1}, "n_neighbors must be between 2"),
    ({"metric": "hamming"}, "Unknown metric"),
    ({"dimensions": 4}, "2 or 3 dimensions"),
])
def test_umap_refuses_bad_settings(blobs, kwargs, message):
    matrix, _, index = blobs
    with pytest.raises(ConfigError, match=message):
        umap_projection(matrix, index, **kwargs)


def test_maps_need_two_features_and_ten_users(blobs):
    matrix, _, index = blobs
    with pytest.raises(ConfigError, match="at least 2 features"):
        umap_projection(matrix[:, :1], index)
    with pytest.raises(ConfigError, match="at least 10 users"):
        tsne_projection(matrix[:5], index[:5])


def test_tsne_places_only_a_sample_and_keeps_groups(blobs):
    matrix, truth, index = blobs
    projection = tsne_projection(matrix, index, sample_size=500, perplexity=20)
    assert projection.coords.shape == (500, 2) and projection.sample_size == 500
    assert _neighbours_agree(projection.coords, pd.Series(truth, index=index)
                             [projection.coords.index].to_numpy()) > 0.98
    with pytest.raises(ConfigError, match="at most 20,000"):
        tsne_projection(matrix, index, sample_size=TSNE_MAX_SAMPLE + 1)
    with pytest.raises(ConfigError, match=r"at most 5,000 users .* or the 2-D view"):
        tsne_projection(matrix, index, dimensions=3, sample_size=TSNE_MAX_SAMPLE_3D + 1)
    with pytest.raises(ConfigError, match="Perplexity"):
        tsne_projection(matrix[:50], index[:50], perplexity=60)


def test_tsne_is_seeded_trustworthy_and_reports_rising_progress(blobs):
    matrix, _, index = blobs
    seen: list[float] = []
    first = tsne_projection(matrix, index, sample_size=400, perplexity=20, random_state=4,
                            progress=lambda fraction, message: seen.append(fraction))
    again = tsne_projection(matrix, index, sample_size=400, perplexity=20, random_state=4)
    assert first.coords.index.equals(again.coords.index)
    np.testing.assert_array_equal(first.coords.to_numpy(), again.coords.to_numpy())
    # trustworthiness (Venna & Kaski, as scikit-learn computes it): 1 when no map
    # neighbour is a stranger in the data; t-SNE of separated blobs keeps it near 1.
    placed = matrix[index.get_indexer(first.coords.index)]
    assert trustworthiness(placed, first.coords.to_numpy(), n_neighbors=10) > 0.9
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert len([f for f in seen if 0.1 < f < 1.0]) >= 15  # every 25 of 500 iterations


def test_tsne_in_3d_has_three_axes(blobs):
    matrix, _, index = blobs
    projection = tsne_projection(matrix, index, dimensions=3, sample_size=200, perplexity=10)
    assert list(projection.coords.columns) == ["tSNE1", "tSNE2", "tSNE3"]


def test_wait_estimates_grow_with_the_users_and_name_their_model():
    sizes = [500, 3_000, 10_000, 20_000]
    for estimate in (lambda n: tsne_seconds(n, 2), lambda n: tsne_seconds(n, 3),
                     lambda n: umap_seconds(n, seeded=True),
                     lambda n: umap_seconds(n, seeded=False)):
        seconds = [estimate(n) for n in sizes]
        assert all(0 < a < b for a, b in itertools.pairwise(seconds))
    assert tsne_seconds(20_000, 3) > tsne_seconds(20_000, 2)  # Barnes-Hut in 3-D
    assert umap_seconds(100_000, seeded=False) > umap_seconds(20_000, seeded=False)
    # The layout's work (users x epochs) never falls as users grow: no cliff at
    # umap-learn's 10,000 users (500 epochs below, 200 above).
    grid = range(100, 300_000, 700)
    for seeded in (True, False):
        seconds = [umap_seconds(n, seeded) for n in grid]
        assert all(a <= b + 1e-9 for a, b in itertools.pairwise(seconds))  # flat, then up
    work = [n * umap_epochs(n) for n in grid]
    assert all(a <= b + n for a, b, n in zip(work, work[1:], grid, strict=False))  # rounding
    assert umap_epochs(3_000) == 500 and umap_epochs(20_000) == 200
    assert umap_epochs(100_000) == 100 and umap_epochs(1_000_000) == 100
    assert umap_epochs(3_000, preview=True) == 200


def test_warm_up_compiles_every_path_the_map_page_uses(monkeypatch):
    fits, searches, ready = [], [], []
    monkeypatch.setattr(projection, "umap_projection",
                        lambda data, index, **kwargs: fits.append(kwargs))
    monkeypatch.setattr(projection, "_umap_neighbours",
                        lambda data, k, metric, seed, jobs, exact: searches.append(
                            (metric, seed, jobs, exact)))
    warm_up_umap(ready=ready.append)
    assert ready == list(UMAP_METRICS) and ready[0] == "euclidean"  # the default first
    for metric in UMAP_METRICS:
        mine = [f for f in fits if f["metric"] == metric]
        assert mine == warm_up_fits(metric)
        # Seeded (serial layout) and unseeded (parallel), 2-D and 3-D, preview and full.
        assert {(f["random_state"] is None, f["dimensions"], f["sample_size"] is None)
                for f in mine} == {(p, d, s) for p in (True, False) for d in (2, 3)
                                   for s in (True, False)}
        assert {(seed, jobs) for m, seed, jobs, exact in searches
                if m == metric and exact is False} == {(0, 1), (None, projection._cores())}


def test_biplot_draws_arrows_for_the_strongest_features(blobs):
    matrix, truth, index = blobs
    names = [f"f{i}" for i in range(matrix.shape[1])]
    projection = pca_projection(matrix, index, names)
    plot = projection.coords.assign(group=[f"G{t}" for t in truth], user_id=index)
    fig = charts.projection_scatter(plot, ["PC1", "PC2"], "group",
                                    loadings=projection.loadings)
    arrows = [a.text for a in fig.layout.annotations]
    strength = np.hypot(projection.loadings["PC1"], projection.loadings["PC2"])
    assert arrows == list(strength.sort_values(ascending=False).index[:charts.BIPLOT_ARROWS])
    assert fig.layout.dragmode == "select"
    plain = charts.projection_scatter(plot, ["PC1", "PC2"], "group")
    assert not plain.layout.annotations


@pytest.mark.parametrize("size", [97, 400, 1111])
def test_stratified_sample_has_exactly_the_asked_size(blobs, size):
    from core.segment.clustering import stratified_sample

    rows = stratified_sample(blobs[0], size, random_state=1)
    assert len(rows) == size == len(np.unique(rows))
