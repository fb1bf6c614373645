"""Maps of users: 2-D or 3-D projections of the preprocessed matrix.

PCA is linear and instant; UMAP and t-SNE are non-linear and slow, so they take a
progress callback and a sample size (t-SNE always runs on a sample, at most
``TSNE_MAX_SAMPLE`` users in 2-D). Each slow map has a wait model fitted to timings on
this machine (``tsne_seconds``, ``umap_seconds``, ``umap_warm_up_seconds``), which the
Map page announces and ``bench/bench_maps.py`` checks.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Callable
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
#: Users in the quick UMAP preview.
UMAP_PREVIEW_SIZE = 3_000
#: Layout epochs of the preview: UMAP's own choice above 10,000 users. Its choice below
#: (500) took 5.3 of the 5.5 s of a seeded 3,000-user preview here, 200 took 1.9 s.
UMAP_PREVIEW_EPOCHS = 200
#: Users x layout epochs a large map may cost (see ``umap_epochs``): 100 epochs for
#: 100,000 users took 22 s instead of 53 s for UMAP's 200 here, with 14.6 % instead of
#: 15.8 % of users keeping their 10 nearest neighbours on the map.
UMAP_EPOCH_BUDGET = 10_000_000
UMAP_MIN_EPOCHS = 100
#: Up to this many users UMAP's neighbours are exact (UMAP's own threshold for them).
UMAP_EXACT_NEIGHBOURS = 4_096
#: Random-projection trees seeding UMAP's neighbour search. UMAP's own rule asks for 21
#: on 100,000 users (12.5 s here); 8 took 2 to 8 s and found 99.9 % of the exact 15
#: nearest neighbours of the sample's users.
UMAP_NEIGHBOUR_TREES = 8
#: Default and largest t-SNE samples. FFT-accelerated t-SNE (openTSNE) is 2-D only; 3-D
#: maps use its Barnes-Hut gradient, about 5 times slower (16 to 20 s for 3,000 users).
TSNE_SAMPLE_SIZE = 3_000
TSNE_MAX_SAMPLE = 20_000
TSNE_SAMPLE_SIZE_3D = 1_000
TSNE_MAX_SAMPLE_3D = 5_000
#: t-SNE iterations: openTSNE's 250 with early exaggeration, then 250 instead of its 500
#: (on 20,000 users 16 s instead of 21 s for 350 here; the 10 nearest neighbours kept:
#: 46.6 % of users against 47.6 % for 350 and 49.9 % for all of openTSNE's defaults).
TSNE_EXAGGERATION_ITERATIONS = 250
TSNE_ITERATIONS = 250
#: Grid of openTSNE's FFT gradient: cells 2 units wide, at least 20 of them, instead of
#: 1 unit and 50. The pip wheel computes its FFTs with numpy, so the grid dominates: 20,000
#: users took 119 s with the defaults and 30 s with these (the 10 nearest neighbours kept:
#: 48.2 % of users against 49.9 %).
TSNE_CELL_WIDTH = 2.0
TSNE_MIN_CELLS = 20
#: Threads of the t-SNE gradient. Two were no faster than one here (the numpy FFTs and
#: the update run on one) and took half as much CPU again from the app's other work.
TSNE_THREADS = 1
#: Iterations between two progress reports of t-SNE.
TSNE_REPORT_EVERY = 25

#: The wait models, measured on this machine (2 cores, Python 3.11) and refitted by
#: ``bench/bench_maps.py``: ``seconds = intercept + per_user * users ** exponent`` per kind
#: of run, at t-SNE's default perplexity and UMAP's default neighbours (for UMAP, per 200
#: layout epochs). 2-D t-SNE is linear (every iteration visits every user's neighbours
#: and an FFT grid); 3-D t-SNE's Barnes-Hut tree grows faster than the users.
SECONDS_MODEL: dict[str, tuple[float, float, float]] = {
    "tsne_2d": (0.93, 0.000873, 1.0),
    "tsne_3d": (0.0, 0.00257, 1.094),
    "umap_seeded": (0.44, 0.00057, 1.0),
    "umap_parallel": (0.12, 0.00046, 1.0),
}
#: Share of t-SNE's per-user time that grows with the perplexity (its 3 x perplexity
#: neighbours), up to 30; above, the FFT grid dominates. Measured on 10,000 users: 6.6 s
#: at perplexity 5, 11.9 s at 30, 12.1 s at 50.
TSNE_PERPLEXITY_SHARE = 0.5
#: Seconds of the warm-up (``warm_up_umap``) in a fresh process until the default metric
#: is compiled, then for each other metric.
UMAP_WARM_UP_S = 50.0
UMAP_WARM_UP_METRIC_S = 15.0


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


def tsne_max_sample(dimensions: int) -> int:
    """The largest t-SNE sample for a 2-D or 3-D map."""
    return TSNE_MAX_SAMPLE if dimensions == 2 else TSNE_MAX_SAMPLE_3D


def tsne_default_sample(dimensions: int) -> int:
    """The t-SNE sample a 2-D or 3-D map starts with."""
    return TSNE_SAMPLE_SIZE if dimensions == 2 else TSNE_SAMPLE_SIZE_3D


def _model(kind: str, users: float) -> float:
    intercept, per_user, exponent = SECONDS_MODEL[kind]
    return intercept + per_user * users ** exponent


def tsne_seconds(users: int, dimensions: int = 2, perplexity: float = 30.0) -> float:
    """Expected seconds of :func:`tsne_projection` on ``users`` users on this machine
    (the ``SECONDS_MODEL`` fitted to measured runs, scaled for the perplexity)."""
    share = TSNE_PERPLEXITY_SHARE
    scale = 1 - share + share * min(perplexity, 30.0) / 30.0
    kind = "tsne_2d" if dimensions == 2 else "tsne_3d"
    intercept = SECONDS_MODEL[kind][0]
    return intercept + (_model(kind, users) - intercept) * scale


def umap_seconds(users: int, seeded: bool, preview: bool = False,
                 n_neighbors: int = 15) -> float:
    """Expected seconds of :func:`umap_projection` placing ``users`` users, once compiled.

    A seeded map runs on one thread, an unseeded one on every core; the model's per-user
    cost is for 200 layout epochs and 15 neighbours, scaled by the epochs the map runs
    (:func:`umap_epochs`) and by log2 of its neighbours.
    """
    kind = "umap_seeded" if seeded else "umap_parallel"
    # UMAP samples each edge in proportion to its weight, and a user's weights add up to
    # log2(n_neighbors) (smooth_knn_dist's target): the layout's work grows with that.
    work = users * _epochs(users, preview) / 200 * np.log2(n_neighbors) / np.log2(15)
    return _model(kind, work)


def umap_warm_up_seconds(metric: str = "euclidean") -> float:
    """Expected seconds from the warm-up's start until maps with ``metric`` are compiled
    (:func:`warm_up_umap` compiles the metrics in ``UMAP_METRICS`` order)."""
    return UMAP_WARM_UP_S + UMAP_WARM_UP_METRIC_S * UMAP_METRICS.index(metric)


def umap_epochs(users: int, preview: bool = False) -> int:
    """Layout epochs of a UMAP map of ``users`` users.

    umap-learn runs 500 epochs up to 10,000 users and 200 above, a cliff where 10,001
    users are placed faster than 10,000. Here the work (users x epochs) never falls as
    users grow: 500 epochs up to 4,000 users, 2 million user-epochs up to 10,000, 200
    epochs up to 50,000, then ``UMAP_EPOCH_BUDGET`` user-epochs down to
    ``UMAP_MIN_EPOCHS``.
    """
    return round(_epochs(users, preview))


def _epochs(users: int, preview: bool) -> float:
    if preview:
        return UMAP_PREVIEW_EPOCHS
    users = max(users, 1)
    epochs = min(500.0, max(200.0, 2_000_000 / users))
    return max(UMAP_MIN_EPOCHS, min(epochs, UMAP_EPOCH_BUDGET / users))


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
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: MiniBatch K-Means runs a hundred tiny parallel steps, and with
    # two threads on a busy 2-core machine each step waits for the descheduled one:
    # 5 s instead of 0.45 s for the strata of 100,000 users here (0.4 s either way when
    # the machine is idle).
    with threadpool_limits(limits=1, user_api="openmp"):
        return stratified_sample(matrix, size, random_state)


class _EpochReader:
    """A file-like sink for UMAP's tqdm bar, turning "n/total" lines into progress."""

    def __init__(self, progress: Progress, start: float) -> None:
        self._progress = progress
        self._start = start

    def write(self, text: str) -> None:
        match = re.search(r"(\d+)/(\d+)", text)
        if match and int(match.group(2)):
            done = int(match.group(1)) / int(match.group(2))
            self._progress(self._start + (1 - self._start) * done,
                           f"laying out, {done:.0%} of epochs")

    def flush(self) -> None:  # tqdm calls it; nothing is buffered
        pass


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1


def _umap_neighbours(data: np.ndarray, n_neighbors: int, metric: str,
                     random_state: int | None, n_jobs: int,
                     exact: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_neighbors`` nearest neighbours of every row, each row first at distance 0.

    Up to ``UMAP_EXACT_NEIGHBOURS`` rows (unless ``exact`` says otherwise) they are exact
    (scikit-learn, brute force: hundredths of a second for the preview); above, they are
    pynndescent's, as UMAP finds them, with fewer trees (``UMAP_NEIGHBOUR_TREES``).
    """
    rows = len(data)
    if exact if exact is not None else rows <= UMAP_EXACT_NEIGHBOURS:
        from sklearn.neighbors import NearestNeighbors

        # Without arguments ``kneighbors`` leaves each row out, even among duplicates.
        distances, indices = NearestNeighbors(n_neighbors=n_neighbors - 1, metric=metric,
                                              algorithm="brute").fit(data).kneighbors()
        return (np.hstack([np.arange(rows)[:, None], indices]),
                np.hstack([np.zeros((rows, 1)), distances]).astype(np.float32))
    from pynndescent import NNDescent

    index = NNDescent(data, n_neighbors=n_neighbors, metric=metric,
                      random_state=random_state, n_jobs=n_jobs, low_memory=True,
                      compressed=False, max_candidates=60,  # as UMAP asks
                      n_trees=min(UMAP_NEIGHBOUR_TREES, 5 + round(rows ** 0.5 / 20)),
                      n_iters=max(5, round(np.log2(rows))))
    return index.neighbor_graph


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
        Place only a stratified sample of this many users (a quick preview, with
        ``UMAP_PREVIEW_EPOCHS`` layout epochs).
    random_state : int or None
        Seed; with a seed UMAP runs on one thread (same inputs, same map), without
        one it uses every core.
    progress : callable, optional
        ``progress(fraction, message)``: the sampling, the neighbour search, then every
        few layout epochs.

    Returns
    -------
    Projection
        ``coords`` with columns UMAP1, UMAP2 (, UMAP3) for the placed users.
    """
    _check_dimensions(matrix, dimensions, "UMAP")
    if metric not in UMAP_METRICS:
        raise ConfigError(f"Unknown metric '{metric}'; use one of {', '.join(UMAP_METRICS)}.")
    report = progress or (lambda fraction, message: None)
    start = time.perf_counter()
    preview = sample_size is not None and sample_size < len(matrix)
    if preview:
        report(0.0, f"sampling {sample_size:,} of {len(matrix):,} users")
    rows = _sample_rows(matrix, sample_size, random_state or 0)
    if not 2 <= n_neighbors < len(rows):
        raise ConfigError(f"n_neighbors must be between 2 and {len(rows) - 1} (the users "
                          f"on the map minus one); it is {n_neighbors}.")
    import umap  # imported here: loading numba takes seconds and most pages never need it

    seeded = random_state is not None
    n_jobs = 1 if seeded else _cores()
    data = np.ascontiguousarray(matrix[rows], dtype=np.float32)
    epochs = umap_epochs(len(rows), preview)
    report(0.02 if preview else 0.0,
           f"finding the {n_neighbors} nearest neighbours of {len(rows):,} users")
    # The neighbours are found here rather than inside UMAP: below 4,096 users UMAP
    # computes all distances through a Python callback (9 million calls, 10 s of the
    # 3,000-user preview's 12 s here), and this way the search is a step of the progress.
    knn = _umap_neighbours(data, n_neighbors, metric, random_state, n_jobs)
    laid_out = _neighbour_share(len(rows), seeded, preview, n_neighbors)
    report(laid_out, "laying out")
    # PCA initialisation instead of UMAP's spectral one: on 100,000 users the spectral
    # step alone took about 25 s of a 58 s map here, and PCA keeps the preview and the
    # full map oriented alike.
    reducer = umap.UMAP(n_components=dimensions, n_neighbors=n_neighbors, min_dist=min_dist,
                        metric=metric, random_state=random_state, init="pca",
                        n_epochs=epochs, n_jobs=n_jobs, precomputed_knn=knn,
                        force_approximation_algorithm=True,
                        tqdm_kwds={"disable": progress is None,
                                   "file": _EpochReader(report, laid_out),
                                   "bar_format": "{n}/{total}", "mininterval": 0.5})
    # Without a search index UMAP warns that it cannot place new users later; the map
    # never does. (A filter for good: catch_warnings is not thread-safe.)
    warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
    coords = reducer.fit_transform(data)
    report(1.0, "done")
    names = [f"UMAP{i + 1}" for i in range(dimensions)]
    return Projection(pd.DataFrame(coords, index=index[rows], columns=names), method="UMAP",
                      sample_size=len(rows) if len(rows) < len(matrix) else None,
                      total_users=len(matrix), seconds=time.perf_counter() - start,
                      seeded=seeded)


def _neighbour_share(users: int, seeded: bool, preview: bool, n_neighbors: int) -> float:
    """Expected share of a UMAP run spent before the layout epochs (measured: about 2 s
    per 100,000 users for the neighbours and the graph)."""
    before = 0.2 + 2.0 * users / 100_000
    total = umap_seconds(users, seeded, preview, n_neighbors)
    return float(np.clip(before / total, 0.05, 0.6))


class _TsneProgress:
    """An openTSNE callback reporting the share of iterations done."""

    def __init__(self, progress: Progress, start: float, total: int) -> None:
        self._progress = progress
        self._start = start
        self._total = total
        self._done = 0

    def __call__(self, iteration: int, error: float, embedding: np.ndarray) -> bool:
        # openTSNE counts iterations from 0 in each of its two phases; count calls.
        self._done += TSNE_REPORT_EVERY
        done = min(self._done / self._total, 1.0)
        phase = "early exaggeration" if self._done <= TSNE_EXAGGERATION_ITERATIONS \
            else "refining"
        self._progress(self._start + (1 - self._start) * done,
                       f"placing users ({phase}), {done:.0%} of iterations")
        return False  # never stop early


def tsne_projection(matrix: np.ndarray, index: pd.Index, dimensions: int = 2,
                    perplexity: float = 30.0, sample_size: int = TSNE_SAMPLE_SIZE,
                    random_state: int = 0, progress: Progress | None = None) -> Projection:
    """Place a stratified sample of users with t-SNE (openTSNE, FFT-accelerated in 2-D).

    The exact ``3 * perplexity`` nearest neighbours of each user give the affinities
    (scikit-learn, brute force: 2 s for 20,000 users here, against 12 s for openTSNE's
    approximate search); the layout starts from PCA and is seeded. It runs on at most
    ``tsne_max_sample(dimensions)`` users; the projection says how many it placed.

    Parameters
    ----------
    progress : callable, optional
        ``progress(fraction, message)``: the neighbour search, then every
        ``TSNE_REPORT_EVERY`` iterations.
    """
    _check_dimensions(matrix, dimensions, "t-SNE")
    top = tsne_max_sample(dimensions)
    if sample_size > top:
        raise ConfigError(
            f"A {dimensions}-D t-SNE map places at most {top:,} users (about "
            f"{tsne_seconds(top, dimensions, perplexity):.0f} s here); choose a smaller sample"
            + (" or the 2-D view." if dimensions == 3 else "."))
    report = progress or (lambda fraction, message: None)
    start = time.perf_counter()
    sampled = sample_size < len(matrix)
    if sampled:
        report(0.0, f"sampling {sample_size:,} of {len(matrix):,} users")
    rows = _sample_rows(matrix, sample_size, random_state)
    if not 1 <= perplexity < len(rows):
        raise ConfigError(f"Perplexity must be between 1 and {len(rows) - 1} (the users on "
                          f"the map minus one); it is {perplexity:g}.")
    from openTSNE import TSNE
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import PrecomputedNeighbors
    from sklearn.neighbors import NearestNeighbors

    data = np.ascontiguousarray(matrix[rows], dtype=np.float64)
    k = min(len(rows) - 1, int(3 * perplexity))  # openTSNE's own choice
    report(0.02 if sampled else 0.0,
           f"finding the {k} nearest neighbours of {len(rows):,} users")
    distances, neighbours = NearestNeighbors(n_neighbors=k, algorithm="brute") \
        .fit(data).kneighbors()
    affinities = PerplexityBasedNN(perplexity=perplexity, n_jobs=TSNE_THREADS,
                                   knn_index=PrecomputedNeighbors(neighbours, distances))
    placed = 0.1
    report(placed, "placing users")
    total = TSNE_EXAGGERATION_ITERATIONS + TSNE_ITERATIONS
    tsne = TSNE(n_components=dimensions, perplexity=perplexity, initialization="pca",
                early_exaggeration_iter=TSNE_EXAGGERATION_ITERATIONS, n_iter=TSNE_ITERATIONS,
                negative_gradient_method="fft" if dimensions == 2 else "bh",
                ints_in_interval=TSNE_CELL_WIDTH, min_num_intervals=TSNE_MIN_CELLS,
                n_jobs=TSNE_THREADS, random_state=random_state,
                callbacks=_TsneProgress(report, placed, total) if progress else None,
                callbacks_every_iters=TSNE_REPORT_EVERY)
    coords = np.asarray(tsne.fit(data, affinities=affinities))
    report(1.0, "done")
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


#: Rows of the throw-away warm-up fits (compiling is what takes the time, not the rows);
#: the preview fits sample ``WARM_UP_SAMPLE`` of them, as the page's preview does.
WARM_UP_ROWS = 400
WARM_UP_SAMPLE = 300


def warm_up_fits(metric: str) -> list[dict]:
    """The fits :func:`warm_up_umap` runs for one metric: every combination the Map page
    can ask for. numba compiles per function and argument types, so the seeded fit (one
    thread, UMAP's serial layout) and the unseeded one (its parallel layout) compile
    different code; 2-D and 3-D, the preview's and the full map's settings only change
    values, and are run to prove it.
    """
    return [{"metric": metric, "dimensions": dimensions, "random_state": seed,
             "sample_size": sample}
            for seed in (0, None) for dimensions in (2, 3) for sample in (WARM_UP_SAMPLE, None)]


def warm_up_umap(metrics: tuple[str, ...] = UMAP_METRICS,
                 ready: Callable[[str], None] | None = None,
                 progress: Progress | None = None) -> float:
    """Compile UMAP's numba code with throw-away fits; return the seconds it took.

    A fresh process spends 45 s or more compiling on its first UMAP call, and about
    15 s more for each other metric. Running this once in the background at start-up
    moves that wait off the analyst's maps. For each metric it runs
    :func:`warm_up_fits` (small maps: exact neighbours, then the layouts) and the
    approximate neighbour search of larger maps, seeded and not (pynndescent compiles
    per metric). ``ready(metric)`` is called as soon as a metric is done, the default
    metric first, and ``progress(share of the metrics done, metric)`` too (the form
    :class:`core.common.worker.Worker` passes back from its process).
    """
    start = time.perf_counter()
    data = np.random.default_rng(0).normal(size=(WARM_UP_ROWS, 4))
    for metric in metrics:
        for fit in warm_up_fits(metric):
            umap_projection(data, pd.RangeIndex(WARM_UP_ROWS), **fit)
        for seed in (0, None):
            _umap_neighbours(data.astype(np.float32), 15, metric, seed,
                             1 if seed is not None else _cores(), exact=False)
        if ready:
            ready(metric)
        if progress:
            progress((metrics.index(metric) + 1) / len(metrics), metric)
    return time.perf_counter() - start
