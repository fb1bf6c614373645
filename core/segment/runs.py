"""Every clustering fit as a run: its settings, its quality and its labels, to compare.

A :class:`ClusterRun` is made from one fit (:func:`new_run`): algorithm, k, seed, the
preprocessing and clustering settings, the users, the cluster sizes, the silhouette (on
a sample of at most :data:`SILHOUETTE_SAMPLE` users, as in the k sweep), the
Davies-Bouldin index and, once measured, the stability overall and per cluster.
Its labels are kept compactly (one byte per user of the feature table, compressed) so
that any two runs can be compared by the adjusted Rand index on the users both
clustered (:func:`compare_runs`).

Everything here is pure: the workspace keeps the list (``core.workspace``), capped at
:data:`MAX_RUNS`.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, silhouette_score

from core.common.errors import DataError
from core.segment.algorithms import REGISTRY, limited_threads
from core.segment.clustering import SILHOUETTE_SAMPLE as SWEEP_SILHOUETTE_SAMPLE
from core.segment.clustering import ClusterConfig, StabilityResult, scatter_scores
from core.segment.labels import NOISE, NOISE_LABEL, cluster_label, label_order
from core.segment.preprocess import PreprocessConfig

#: Runs kept per workspace: the oldest go first. Twenty covers a sweep of settings by
#: hand; each run costs about a byte per user (compressed) in workspace.json.
MAX_RUNS = 20
#: Silhouette is quadratic in the users: a run measures it on a random sample of this
#: many, as the k sweep does (0.2 s here on 5,000 users; a 5,000 sample took 0.4 s and
#: the full 100 k would take minutes); a run with fewer users is measured on all.
SILHOUETTE_SAMPLE = SWEEP_SILHOUETTE_SAMPLE
#: Byte codes of the stored labels: cluster ``c`` is ``c``; these two are not clusters.
_NOISE_CODE = 254
_ABSENT_CODE = 255
#: Clusters a run can store (codes 0 .. 253).
MAX_STORED_CLUSTERS = 254


def users_key(index: pd.Index) -> str:
    """A key of the users and their order (the feature table's index)."""
    hashed = pd.util.hash_pandas_object(pd.Index(index).astype(str), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


@dataclass
class ClusterRun:
    """One clustering fit, kept to compare with the others.

    Attributes
    ----------
    number : int
        1, 2, ... in the order of the fits ("Run 3").
    time : str
        When it was fitted (UTC, ``YYYY-MM-DDTHH:MM:SSZ``).
    algorithm, k, seed
        The algorithm key, the k asked for (None for density methods) and the seed.
    preprocess, config : dict
        :class:`PreprocessConfig` and :class:`ClusterConfig` as dicts.
    n_users, n_clusters, noise : int
        Users clustered, clusters found, users labelled noise.
    sizes : dict
        ``{"Cluster 1": users, ..., "Noise": users}``.
    silhouette : float or None
        Mean silhouette (noise left out), on ``silhouette_sample`` users.
    davies_bouldin : float or None
        On every clustered user (noise left out); lower is better.
    stability, stability_sd, stability_refits
        Mean and sd of the adjusted Rand index of bootstrap refits, once measured.
    cluster_stability : dict
        ``{"Cluster 1": mean best-match Jaccard, ...}``, once measured.
    users_key : str
        :func:`users_key` of the feature table the labels are coded against.
    labels : str
        One byte per user of that table (cluster code, noise, or not clustered),
        zlib-compressed and base64-encoded.
    """

    number: int
    time: str
    algorithm: str
    k: int | None
    seed: int
    preprocess: dict[str, Any]
    config: dict[str, Any]
    n_users: int
    n_clusters: int
    noise: int
    sizes: dict[str, int]
    silhouette: float | None
    silhouette_sample: int
    davies_bouldin: float | None
    users_key: str
    labels: str
    stability: float | None = None
    stability_sd: float | None = None
    stability_refits: int | None = None
    cluster_stability: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"Run {self.number}"

    @property
    def cluster_config(self) -> ClusterConfig:
        known = {f.name for f in fields(ClusterConfig)}
        return ClusterConfig(**{k: v for k, v in self.config.items() if k in known})

    @property
    def preprocess_config(self) -> PreprocessConfig:
        return PreprocessConfig.from_dict(self.preprocess)

    def settings(self) -> str:
        """The settings in words: "K-Means, k = 6, seed 42"."""
        return describe(self.cluster_config)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterRun:
        """Rebuild from :meth:`to_json` output.

        Raises
        ------
        DataError
            When a field is missing or of the wrong kind.
        """
        if not isinstance(data, dict):
            raise DataError("A saved clustering run is not a JSON object.")
        known = {f.name for f in fields(cls)}
        try:
            run = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise DataError(f"A saved clustering run is damaged ({exc}).") from exc
        if not isinstance(run.sizes, dict) or not isinstance(run.labels, str):
            raise DataError("A saved clustering run is damaged (sizes or labels).")
        return run


# labels ----------------------------------------------------------------------------------
def label_code(label: str) -> int:
    """The cluster code of a label: "Cluster 1" -> 0, "Noise" -> -1."""
    if label == NOISE_LABEL:
        return NOISE
    tail = str(label).rsplit(" ", 1)[-1]
    return int(tail) - 1


def _code(label: str) -> int:
    code = label_code(label)
    return _NOISE_CODE if code == NOISE else code


def encode_labels(labels: pd.Series, users: pd.Index) -> str:
    """Each user of ``users`` as one byte: its cluster in ``labels`` (cluster labels,
    user id index), noise, or not clustered; compressed and base64-encoded."""
    codes = np.full(len(users), _ABSENT_CODE, dtype=np.uint8)
    distinct = {value: _code(value) for value in labels.astype(str).unique()}
    if any(c >= MAX_STORED_CLUSTERS and c != _NOISE_CODE for c in distinct.values()):
        raise DataError(f"A run keeps at most {MAX_STORED_CLUSTERS} clusters.")
    where = users.get_indexer(labels.index)
    found = where >= 0
    codes[where[found]] = labels.astype(str).map(distinct).to_numpy()[found]
    return base64.b64encode(zlib.compress(codes.tobytes(), 6)).decode("ascii")


def decode_labels(run: ClusterRun, users: pd.Index) -> pd.Series | None:
    """The run's cluster label of each user it clustered (user id index), or None when
    ``users`` is not the feature table the run was coded against."""
    if run.users_key != users_key(users):
        return None
    codes = np.frombuffer(zlib.decompress(base64.b64decode(run.labels)), dtype=np.uint8)
    if len(codes) != len(users):
        return None
    kept = codes != _ABSENT_CODE
    names = np.array([cluster_label(NOISE if c == _NOISE_CODE else int(c))
                      for c in range(256)], dtype=object)
    return pd.Series(names[codes[kept]], index=users[kept], name="cluster")


# making a run ----------------------------------------------------------------------------
def quality(matrix: np.ndarray, codes: np.ndarray, random_state: int = 0,
            sample: int = SILHOUETTE_SAMPLE) -> tuple[float | None, int, float | None]:
    """Silhouette (on at most ``sample`` users), users it was measured on, and
    Davies-Bouldin (every user, ``scatter_scores``: scikit-learn's definition); noise is
    left out, None with fewer than two clusters."""
    keep = codes != NOISE
    points, labels = matrix[keep], codes[keep]
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return None, 0, None
    size = min(sample, len(labels))
    with limited_threads():
        silhouette = float(silhouette_score(points, labels, sample_size=size,
                                            random_state=random_state)
                           if size < len(labels) else silhouette_score(points, labels))
        davies_bouldin = scatter_scores(points, labels)["davies_bouldin"]
    return silhouette, size, davies_bouldin


def new_run(number: int, time: str, matrix: np.ndarray, codes: np.ndarray,
            users: pd.Index, table_users: pd.Index, pre_config: PreprocessConfig,
            config: ClusterConfig) -> ClusterRun:
    """A run of one fit.

    Parameters
    ----------
    number : int
        Its number among the workspace's runs.
    time : str
        When it was fitted.
    matrix : ndarray
        The preprocessed matrix it was fitted on (one row per user of ``users``).
    codes : ndarray
        Cluster code per row (``-1`` = noise).
    users : Index
        The clustered users, in the order of the rows.
    table_users : Index
        Every user of the feature table (the labels are coded against it).
    pre_config, config
        The settings of the fit.
    """
    codes = np.asarray(codes, dtype=int)
    labels = pd.Series([cluster_label(int(c)) for c in codes], index=users)
    sizes = labels.value_counts()
    silhouette, measured, db = quality(matrix, codes, config.random_state)
    uses_k = REGISTRY[config.algorithm].uses_k
    return ClusterRun(
        number=number, time=time, algorithm=config.algorithm,
        k=int(config.k) if uses_k else None, seed=int(config.random_state),
        preprocess=pre_config.to_dict(), config=asdict(config), n_users=len(users),
        n_clusters=len(np.unique(codes[codes != NOISE])), noise=int((codes == NOISE).sum()),
        sizes={str(k): int(sizes[k]) for k in sorted(sizes.index, key=label_order)},
        silhouette=silhouette, silhouette_sample=measured, davies_bouldin=db,
        users_key=users_key(table_users), labels=encode_labels(labels, table_users))


def with_stability(run: ClusterRun, result: StabilityResult) -> ClusterRun:
    """The run with its stability (overall and per cluster) filled in."""
    by_cluster = result.by_cluster
    return ClusterRun(**{**asdict(run), "stability": result.mean, "stability_sd": result.sd,
                         "stability_refits": len(result.scores),
                         "cluster_stability": {str(k): round(float(v), 4)
                                               for k, v in by_cluster.items()}})


def add_run(runs: list[ClusterRun], run: ClusterRun, table_users: pd.Index,
            cap: int = MAX_RUNS) -> list[ClusterRun]:
    """``runs`` with ``run`` appended: runs coded against another feature table (an
    earlier dataset) are dropped, and only the last ``cap`` are kept."""
    key = users_key(table_users)
    kept = [r for r in runs if r.users_key == key]
    return [*kept, run][-cap:]


def next_number(runs: list[ClusterRun]) -> int:
    return max((r.number for r in runs), default=0) + 1


def current_run_number(runs: list[ClusterRun], pre_config: PreprocessConfig,
                       config: ClusterConfig, n_users: int) -> int | None:
    """The number of the latest run with these settings and users (the one a clustering
    with them comes from: fits are deterministic), or None."""
    for run in reversed(runs):
        if run.n_users == n_users and not settings_changes(
                pre_config, config, run.preprocess_config, run.cluster_config):
            return run.number
    return None


# settings --------------------------------------------------------------------------------
def describe(config: ClusterConfig) -> str:
    """A fit's settings in words: "K-Means, k = 6, seed 42"."""
    spec = REGISTRY[config.algorithm]
    parts = [spec.label]
    if spec.uses_k:
        parts.append(f"k = {config.k}")
    if "linkage" in spec.parameters:
        parts.append(f"{config.linkage} linkage")
    if "eps" in spec.parameters:
        parts.append(f"eps = {config.eps:g}")
    if "min_samples" in spec.parameters:
        parts.append(f"min samples {config.min_samples}")
    if "min_cluster_size" in spec.parameters:
        parts.append(f"min cluster size {config.min_cluster_size}")
    parts.append(f"seed {config.random_state}")
    return ", ".join(parts)


def _effective_preprocess(pre: PreprocessConfig) -> dict[str, Any]:
    """The preprocessing settings that change the matrix (others are ignored)."""
    out = {"features": sorted(pre.features), "log transform": sorted(pre.log_features),
           "missing values": pre.missing, "outliers": pre.outlier_method,
           "scaling": pre.scaling, "PCA": pre.pca}
    if pre.outlier_method != "none":
        out["outlier threshold"] = round(pre.threshold, 6)
        out["outlier handling"] = pre.outlier_action
    if pre.pca == "components":
        out["PCA components"] = pre.pca_components
    if pre.pca == "variance":
        out["variance kept"] = round(pre.pca_variance, 6)
    return out


def _effective_config(config: ClusterConfig) -> dict[str, Any]:
    spec = REGISTRY[config.algorithm]
    out: dict[str, Any] = {"algorithm": spec.label, "seed": config.random_state}
    names = {"min_samples": "min samples", "min_cluster_size": "min cluster size"}
    for name in spec.parameters:
        if name != "random_state" and hasattr(config, name):
            out[names.get(name, name)] = getattr(config, name)
    return out


def settings_changes(shown_pre: PreprocessConfig, shown: ClusterConfig,
                     fitted_pre: PreprocessConfig, fitted: ClusterConfig) -> list[str]:
    """What differs between the settings on screen and those of the fit, in words
    ("k: 6 → 7", "features"); empty when the fit is up to date."""
    changes = []
    for before, now in ((_effective_config(fitted), _effective_config(shown)),
                        (_effective_preprocess(fitted_pre), _effective_preprocess(shown_pre))):
        for name in dict.fromkeys([*before, *now]):
            old, new = before.get(name), now.get(name)
            if old == new:
                continue
            if isinstance(old, list) and isinstance(new, list):
                added = [f for f in new if f not in old]
                removed = [f for f in old if f not in new]
                parts = ([f"added {', '.join(added)}"] if added else []) + \
                    ([f"removed {', '.join(removed)}"] if removed else [])
                changes.append(f"{name}: {'; '.join(parts)}")
            elif old is None or new is None:
                changes.append(name)
            else:
                changes.append(f"{name}: {old} → {new}")
    return changes


# comparing -------------------------------------------------------------------------------
@dataclass
class RunComparison:
    """Runs side by side.

    ``table``: one row per run, headers in words ("Least stable cluster" is the lowest
    mean Jaccard of its clusters, "Agreement with shown run" the adjusted Rand index
    with the run shown on the page). ``ari``: adjusted Rand index between
    every two runs on the users both clustered (1 on the diagonal, NaN when fewer than
    two users are shared). ``common``: those shared users. ``sizes``: users per cluster
    and run in long form (``Run``, ``Cluster``, ``Users``, ``Share``).
    """

    table: pd.DataFrame
    ari: pd.DataFrame
    common: pd.DataFrame
    sizes: pd.DataFrame


def compare_runs(runs: list[ClusterRun], table_users: pd.Index,
                 current: int | None = None) -> RunComparison:
    """Compare runs: quality side by side and agreement (adjusted Rand index) between
    each two, on the users both clustered.

    Parameters
    ----------
    runs : list of ClusterRun
    table_users : Index
        The feature table's users (the labels are decoded against it; a run coded
        against another table has no agreement, NaN).
    current : int, optional
        Number of the run shown on the page: marked in the table, which then also has
        each run's agreement with it.
    """
    names = [r.name for r in runs]
    labels = {r.name: decode_labels(r, table_users) for r in runs}
    ari = pd.DataFrame(np.nan, index=names, columns=names)
    common = pd.DataFrame(0, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i:]:
            first, second = labels[a], labels[b]
            if first is None or second is None:
                continue
            shared = first.index.intersection(second.index)
            common.loc[a, b] = common.loc[b, a] = len(shared)
            if len(shared) >= 2:
                value = 1.0 if a == b else float(adjusted_rand_score(first[shared],
                                                                     second[shared]))
                ari.loc[a, b] = ari.loc[b, a] = value
    ari.index.name = ari.columns.name = "Run"
    shown = next((r.name for r in runs if r.number == current), None)
    rows = []
    for r in runs:
        sizes = [v for k, v in r.sizes.items() if k != NOISE_LABEL]
        row = {
            "Run": r.name + (" (shown)" if r.number == current else ""),
            "Fitted (UTC)": r.time.replace("T", " ").removesuffix("Z"),
            "Settings": r.settings(),
            "Features": len(r.preprocess.get("features", ())),
            "Users": r.n_users,
            "Clusters": r.n_clusters,
            "Noise": r.noise,
            "Largest cluster": max(sizes, default=0),
            "Smallest cluster": min(sizes, default=0),
            "Silhouette": r.silhouette,
            "Davies-Bouldin": r.davies_bouldin,
            "Stability (ARI)": r.stability,
            "Least stable cluster": min(r.cluster_stability.values(), default=np.nan),
        }
        if shown is not None:
            value = ari.at[r.name, shown]
            row["Agreement with shown run"] = float(value)
        rows.append(row)
    table = pd.DataFrame(rows)
    numbers = ["Silhouette", "Davies-Bouldin", "Stability (ARI)", "Least stable cluster",
               "Agreement with shown run"]
    for column in (c for c in numbers if c in table):  # unmeasured: NaN, shown empty
        table[column] = pd.to_numeric(table[column]).astype(float)
    long = [{"Run": r.name, "Cluster": k, "Users": v, "Share": v / r.n_users if r.n_users else 0}
            for r in runs for k, v in r.sizes.items()]
    sizes = pd.DataFrame(long, columns=["Run", "Cluster", "Users", "Share"])
    return RunComparison(table=table, ari=ari, common=common, sizes=sizes)


def ari_between(first: ClusterRun, second: ClusterRun, table_users: pd.Index) -> float | None:
    """Adjusted Rand index of two runs on the users both clustered (None if not known)."""
    value = compare_runs([first, second], table_users).ari.iat[0, 1]
    return None if pd.isna(value) else float(value)
