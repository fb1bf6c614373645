"""Maps of users: 2-D or 3-D projections of the preprocessed matrix.

PCA is linear and instant; UMAP and t-SNE are non-linear and slow, so they take a
progress callback and a sample size (t-SNE always runs on a sample: its memory and time
grow quadratically with the number of users).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from core.common.errors import ConfigError
from core.common.progress import Progress
from core.segment.clustering import stratified_sample

UmapMetric = Literal["euclidean", "manhattan", "cosine", "correlation"]
UMAP_METRICS: tuple[str, ...] = ("euclidean", "manhattan", "cosine", "correlation")
#: Users in the quick UMAP preview: a few seconds on two cores once UMAP is compiled.
UMAP_PREVIEW_SIZE = 3_000
#: Default and largest t-SNE sample (scikit-learn's took 68 s for 10,000 users here).
TSNE_SAMPLE_SIZE = 3_000
TSNE_MAX_SAMPLE = 10_000
#: Share of a UMAP run spent before the layout epochs (neighbour search, initialisation).
_UMAP_NEIGHBOUR_SHARE = 0.4


@dataclass
class Projection:
    """Coordinates per user, and how much of the data each axis carries."""

    coords: pd.DataFrame
    explained: list[float] = field(default_factory=list)
    loadings: pd.DataFrame | None = None
    method: str = "PCA"
    #: Users the projection was computed on, when fewer than all (t-SNE, previews).
    sample_size: int | None = None
    total_users: int = 0
    seconds: float = 0.0
    #: Whether a seed fixed the layout (the same inputs give the same map).
    seeded: bool = True


def pca_projection(matrix: np.ndarray, index: pd.Index, feature_names: list[str],
                   dimensions: int = 2, random_state: int = 0) -> Projection:
    """Project users onto their first principal components.

    Parameters
    ----------
    matrix : ndarray
        Preprocessed (scaled) features, one row per user.
    index : Index
        User ids of the rows.
    feature_names : list of str
        Names of the matrix columns, for the loadings.
    dimensions : int
        2 or 3.

    Returns
    -------
    Projection
        ``coords`` has columns PC1, PC2 (, PC3); ``loadings`` has one row per feature.
    """
    if dimensions not in (2, 3):
        raise ConfigError("A map has 2 or 3 dimensions.")
    if matrix.shape[1] < dimensions:
        raise ConfigError(f"A {dimensions}-D PCA map needs at least {dimensions} features; "
                          f"{matrix.shape[1]} are chosen.")
    pca = PCA(n_components=dimensions, random_state=random_state).fit(matrix)
    names = [f"PC{i + 1}" for i in range(dimensions)]
    coords = pd.DataFrame(pca.transform(matrix), index=index, columns=names)
    loadings = pd.DataFrame(pca.components_.T, index=feature_names, columns=names)
    return Projection(coords, [float(v) for v in pca.explained_variance_ratio_], loadings,
                      total_users=len(matrix))


def _check_dimensions(matrix: np.ndarray, dimensions: int, method: str) -> None:
    if dimensions not in (2, 3):
        raise ConfigError("A map has 2 or 3 dimensions.")
    if len(matrix) < 10:
        raise ConfigError(f"A {method} map needs at least 10 users; there are {len(matrix)}.")
    if matrix.shape[1] < 2:
        raise ConfigError(f"A {method} map needs at least 2 features; 1 is chosen.")


def _sample_rows(matrix: np.ndarray, size: int | None, random_state: int) -> np.ndarray:
    if size is None or size >= len(matrix):
        return np.arange(len(matrix))
    return stratified_sample(matrix, size, random_state)


class _EpochReader:
    """A file-like sink for UMAP's tqdm bar, turning "n/total" lines into progress."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def write(self, text: str) -> None:
        match = re.search(r"(\d+)/(\d+)", text)
        if match and int(match.group(2)):
            done = int(match.group(1)) / int(match.group(2))
            share = _UMAP_NEIGHBOUR_SHARE
            self._progress(share + (1 - share) * done, f"laying out, {done:.0%} of epochs")

    def flush(self) -> None:  # tqdm calls it; nothing is buffered
        pass


def umap_projection(matrix: np.ndarray, index: pd.Index, dimensions: int = 2,
                    n_neighbors: int = 15, min_dist: float = 0.1,
                    metric: UmapMetric = "euclidean", sample_size: int | None = None,
                    random_state: int | None = 0,
                    progress: Progress | None = None) -> Projection:
    """Place users with UMAP.

    Parameters
    ----------
    matrix, index : ndarray, Index
        Preprocessed features (one row per user) and their user ids, as for
        :func:`pca_projection`.
    dimensions : int
        2 or 3.
    n_neighbors, min_dist, metric
        UMAP's parameters: more neighbours favour the global shape, a smaller
        ``min_dist`` packs similar users more tightly.
    sample_size : int, optional
        Place only a stratified sample of this many users (a quick preview).
    random_state : int or None
        Seed; with a seed UMAP runs on one thread (same inputs, same map), without
        one it uses every core.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    Projection
        ``coords`` with columns UMAP1, UMAP2 (, UMAP3) for the placed users.
    """
    _check_dimensions(matrix, dimensions, "UMAP")
    if metric not in UMAP_METRICS:
        raise ConfigError(f"Unknown metric '{metric}'; use one of {', '.join(UMAP_METRICS)}.")
    rows = _sample_rows(matrix, sample_size, random_state or 0)
    if not 2 <= n_neighbors < len(rows):
        raise ConfigError(f"n_neighbors must be between 2 and {len(rows) - 1} (the users "
                          f"on the map minus one); it is {n_neighbors}.")
    import umap  # imported here: loading numba takes seconds and most pages never need it

    report = progress or (lambda fraction, message: None)
    report(0.0, f"finding the {n_neighbors} nearest neighbours of {len(rows):,} users")
    start = time.perf_counter()
    # PCA initialisation instead of UMAP's spectral one: on 100,000 users the spectral
    # step alone took about 25 s of a 58 s map here, and PCA keeps the preview and the
    # full map oriented alike.
    reducer = umap.UMAP(n_components=dimensions, n_neighbors=n_neighbors, min_dist=min_dist,
                        metric=metric, random_state=random_state, init="pca",
                        n_jobs=1 if random_state is not None else -1,
                        tqdm_kwds={"disable": progress is None, "file": _EpochReader(report),
                                   "bar_format": "{n}/{total}", "mininterval": 0.5})
    coords = reducer.fit_transform(matrix[rows])
    report(1.0, "done")
    names = [f"UMAP{i + 1}" for i in range(dimensions)]
    return Projection(pd.DataFrame(coords, index=index[rows], columns=names), method="UMAP",
                      sample_size=len(rows) if len(rows) < len(matrix) else None,
                      total_users=len(matrix), seconds=time.perf_counter() - start,
                      seeded=random_state is not None)


def tsne_projection(matrix: np.ndarray, index: pd.Index, dimensions: int = 2,
                    perplexity: float = 30.0, sample_size: int = TSNE_SAMPLE_SIZE,
                    random_state: int = 0) -> Projection:
    """Place a stratified sample of users with t-SNE.

    t-SNE's time and memory grow quadratically, so it never runs on more than
    ``TSNE_MAX_SAMPLE`` users; the projection says how many it placed.
    """
    _check_dimensions(matrix, dimensions, "t-SNE")
    if sample_size > TSNE_MAX_SAMPLE:
        raise ConfigError(f"t-SNE runs on at most {TSNE_MAX_SAMPLE:,} users (it took over a "
                          f"minute for 10,000 here); choose a smaller sample.")
    rows = _sample_rows(matrix, sample_size, random_state)
    if not 1 <= perplexity < len(rows):
        raise ConfigError(f"Perplexity must be between 1 and {len(rows) - 1} (the users on "
                          f"the map minus one); it is {perplexity:g}.")
    from sklearn.manifold import TSNE

    start = time.perf_counter()
    coords = TSNE(n_components=dimensions, perplexity=perplexity, init="pca",
                  random_state=random_state).fit_transform(matrix[rows])
    names = [f"tSNE{i + 1}" for i in range(dimensions)]
    return Projection(pd.DataFrame(coords, index=index[rows], columns=names), method="t-SNE",
                      sample_size=len(rows) if len(rows) < len(matrix) else None,
                      total_users=len(matrix), seconds=time.perf_counter() - start)


def selection_profile(features: pd.DataFrame, selected: pd.Index) -> pd.DataFrame:
    """Mean of each feature for the selected users against everyone.

    Returns a table with the selected mean, everyone's mean, their ratio and the
    difference in standard deviations, most distinctive first.
    """
    numeric = features.select_dtypes("number")
    chosen = numeric.loc[numeric.index.intersection(selected)]
    everyone = numeric.mean()
    spread = numeric.std(ddof=0).replace(0, np.nan)
    table = pd.DataFrame({
        "Selected": chosen.mean(), "Everyone": everyone,
        "Ratio": chosen.mean() / everyone.replace(0, np.nan),
        "Difference (sd)": (chosen.mean() - everyone) / spread,
    })
    return table.reindex(table["Difference (sd)"].abs().sort_values(ascending=False).index)


#: Rows in the warm-up fits: above 4,096 UMAP runs its approximate neighbour search
#: (pynndescent), below it an exact one; the preview (3,000 users) takes the second path
#: and full maps the first, so both are compiled.
WARM_UP_ROWS = (4_200, 600)


def warm_up_umap() -> float:
    """Compile UMAP's numba code with a throw-away fit; return the seconds it took.

    A fresh process spends about a minute compiling on its first UMAP call. Running
    this once in the background at start-up moves that wait off the analyst's first map.
    """
    start = time.perf_counter()
    for rows in WARM_UP_ROWS:
        data = np.random.default_rng(0).normal(size=(rows, 4))
        umap_projection(data, pd.RangeIndex(rows), random_state=None)
    return time.perf_counter() - start
