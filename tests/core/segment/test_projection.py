"""Maps: UMAP and t-SNE keep groups together, respect samples and settings, report progress."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.neighbors import KNeighborsClassifier

from core.common.errors import ConfigError
from core.segment import charts
from core.segment.projection import (
    TSNE_MAX_SAMPLE,
    pca_projection,
    tsne_projection,
    umap_projection,
)


@pytest.fixture(scope="module")
def blobs():
    # Below 4,096 rows UMAP skips its approximate neighbour search: a shorter compile.
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
    with pytest.raises(ConfigError, match="at most"):
        tsne_projection(matrix, index, sample_size=TSNE_MAX_SAMPLE + 1)
    with pytest.raises(ConfigError, match="Perplexity"):
        tsne_projection(matrix[:50], index[:50], perplexity=60)


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
