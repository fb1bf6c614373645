"""Profiles of clusters: size, share of users and revenue, and how each differs.

:func:`profile_clusters` compares each cluster with everyone clustered: mean and median
of every numeric feature, the *standardised difference from everyone* (for each feature,
(cluster mean - everyone's mean) / everyone's standard deviation, on values winsorised at
the 1st and 99th percentiles so that a few bots cannot define a persona) and the most
distinguishing features in words. The standardised difference lives in the features' own
terms, not in the preprocessed matrix, so it survives new k, other preprocessing and new
data; personas are matched across runs in this space (:mod:`core.personas.matching`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common.errors import DataError
from core.common.notices import Notice
from core.common.style import short_number
from core.features.table import informative
from core.segment.labels import NOISE_LABEL, label_order, sorted_labels

#: Ratios beyond these read as "N× more" / "N% fewer"; closer ones in standard deviations.
RATIO_WORDS = 1.5
#: Features listed as a persona's traits.
TOP_TRAITS = 5
#: Winsorising percentiles for the standardised difference (see the module docstring).
WINSOR = (0.01, 0.99)
REVENUE_FEATURE = "revenue"
SPACE = ("standardised difference from everyone per feature (cluster mean minus "
         "everyone's mean, over everyone's standard deviation, on values winsorised at the "
         "1st and 99th percentiles)")


@dataclass(frozen=True)
class Trait:
    """One distinguishing feature of a cluster, with the sentence that says it."""

    feature: str
    z: float
    cluster_mean: float
    everyone_mean: float
    text: str


@dataclass
class ClusterProfiles:
    """Per-cluster statistics against everyone (rows: cluster labels; Noise left out).

    ``z`` is the standardised difference (see the module docstring); ``means`` and
    ``medians`` are in the features' own units.
    """

    sizes: pd.Series
    share_users: pd.Series
    share_revenue: pd.Series | None
    means: pd.DataFrame
    medians: pd.DataFrame
    z: pd.DataFrame
    everyone_mean: pd.Series
    everyone_median: pd.Series
    traits: dict[str, list[Trait]]
    #: Features worth describing: those not identical to another one.
    distinct: list[str] = field(default_factory=list)
    #: Features traits and suggested names may use (see :func:`profile_clusters`).
    described: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return list(self.sizes.index)


def feature_label(feature: str) -> str:
    """Readable name of a feature: ``mean_session_duration_s`` -> 'mean session duration (s)'."""
    text = feature.replace("_", " ")
    for unit in (" s", " pct"):
        if text.endswith(unit):
            text = text[: -len(unit)] + f" ({unit.strip()})"
    return text.removeprefix("count ") + (" events" if feature.startswith("count_") else "")


def _duplicates(numeric: pd.DataFrame) -> set[str]:
    """Columns identical to another one (count_product_view = product_views).

    The named feature is kept and the per-event count left out of the traits.
    """
    seen: set[int] = set()
    duplicates = set()
    for col in sorted(numeric.columns, key=lambda c: (c.startswith("count_"), c)):
        key = int(pd.util.hash_pandas_object(numeric[col], index=False).sum())
        if key in seen:
            duplicates.add(col)
        seen.add(key)
    return duplicates


def standardised_difference(numeric: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Each cluster's mean minus everyone's, over everyone's standard deviation, per
    feature, on values winsorised at :data:`WINSOR` (see the module docstring).

    Rows are in label order ("Cluster 2" before "Cluster 10"); a constant feature is 0.
    """
    low, high = numeric.quantile(WINSOR[0]), numeric.quantile(WINSOR[1])
    clipped = numeric.clip(lower=low, upper=high, axis=1)
    spread = clipped.std(ddof=0).replace(0, np.nan)
    table = clipped.groupby(labels).mean().sub(clipped.mean()).div(spread).fillna(0.0)
    return table.loc[sorted_labels(table.index)]


def profile_clusters(features: pd.DataFrame, labels: pd.Series,
                     clustered_on: tuple[str, ...] | list[str] = ()) -> ClusterProfiles:
    """Profile each cluster against everyone clustered.

    Traits and suggested names use only the features that mean something here: those
    the clustering used and those that can tell users apart in this data
    (:func:`core.features.table.informative`), so a constant or mostly missing feature
    never names a persona.

    Parameters
    ----------
    features : DataFrame
        The feature table (user id index); every numeric column is profiled.
    labels : Series
        Cluster label per user (user id index), e.g. ``ws.clusters["cluster"]``.
    clustered_on : sequence of str
        The features the clustering used.

    Returns
    -------
    ClusterProfiles

    Raises
    ------
    DataError
        No clustered user is in the feature table, or every user is noise.
    """
    common = labels.index.intersection(features.index)
    if len(common) == 0:
        raise DataError("None of the clustered users is in the feature table; cluster "
                        "again on the Clustering page.")
    labels = labels.loc[common].astype(str)
    labels = labels[labels != NOISE_LABEL]
    if labels.empty:
        raise DataError("Every user is labelled noise, so there are no personas. Cluster "
                        "again with other settings.")
    numeric = features.loc[labels.index].select_dtypes("number").astype(float)
    order = sorted(labels.unique(), key=label_order)
    groups = numeric.groupby(labels)
    sizes = labels.value_counts().reindex(order)
    share_revenue = None
    notices = []
    if REVENUE_FEATURE in numeric and numeric[REVENUE_FEATURE].sum() > 0:
        share_revenue = (groups[REVENUE_FEATURE].sum() / numeric[REVENUE_FEATURE].sum()
                         ).reindex(order)
    else:
        notices.append(Notice("no_revenue", "There is no revenue feature (or no revenue), "
                                            "so the share of revenue is not shown.", level="info"))
    duplicates = _duplicates(numeric)
    profiles = ClusterProfiles(
        sizes=sizes, share_users=sizes / sizes.sum(), share_revenue=share_revenue,
        means=groups.mean().reindex(order), medians=groups.median().reindex(order),
        z=standardised_difference(numeric, labels).reindex(order),
        everyone_mean=numeric.mean(), everyone_median=numeric.median(), traits={},
        distinct=[c for c in numeric.columns if c not in duplicates], notices=notices)
    profiles.described = [c for c in profiles.distinct
                          if c in clustered_on or informative(numeric[c])]
    nonnegative = (numeric.min() >= 0).to_dict()
    for label in order:
        profiles.traits[label] = _traits(profiles, label, nonnegative)
    return profiles


def describe_difference(feature: str, z: float, cluster_mean: float, everyone_mean: float,
                        nonnegative: bool = True) -> str:
    """Say in words how a cluster differs on one feature.

    Counts and amounts of non-negative features read as ratios ("3.4× more sessions
    than average", "80% fewer purchases than average", "no purchases"); small
    differences and features that can be negative read in standard deviations.
    """
    label = feature_label(feature)
    values = f" ({short_number(cluster_mean)} vs {short_number(everyone_mean)})"
    if nonnegative and everyone_mean > 0 and np.isfinite(cluster_mean):
        ratio = cluster_mean / everyone_mean
        if ratio == 0:
            return f"no {label} (average {short_number(everyone_mean)})"
        if ratio >= RATIO_WORDS:
            return f"{ratio:.1f}× more {label} than average" + values
        if ratio <= 1 / RATIO_WORDS:
            return f"{1 - ratio:.0%} fewer {label} than average" + values
    side = "above" if z > 0 else "below"
    return f"{label} {abs(z):.1f} sd {side} average" + values


def _traits(profiles: ClusterProfiles, label: str, nonnegative: dict[str, bool]
            ) -> list[Trait]:
    z = profiles.z.loc[label, profiles.described]
    ranked = z.abs().sort_values(ascending=False, kind="stable").index[:TOP_TRAITS]
    traits = []
    for f in ranked:
        values = (float(z[f]), float(profiles.means.at[label, f]),
                  float(profiles.everyone_mean[f]))
        traits.append(Trait(f, *values, describe_difference(f, *values, nonnegative[f])))
    return traits


