"""Personas: readable profiles of clusters, suggested names, and names that persist.

A persona is a cluster with a name, a one-line description, traits, preferred content
and a recommended action. This module

- profiles each cluster against everyone (:func:`profile_clusters`): size, share of
  users and of revenue, mean and median of every numeric feature, the standardised
  difference from everyone and the most distinguishing features in words;
- suggests unique names and descriptions from those profiles (:func:`suggest_names`),
  deterministically for the same data;
- matches new clusters to earlier personas after a re-clustering (:func:`match`) with
  the Hungarian algorithm on centroid distance, so names persist and unmatched clusters
  are marked new;
- keeps all of it in ``ws.personas`` (:func:`refresh_personas`, :func:`update_persona`).

Matching space
--------------
A persona's centroid is its *standardised difference from everyone*: for each numeric
feature of the feature table, (cluster mean - everyone's mean) / everyone's standard
deviation, computed on values winsorised at the 1st and 99th percentiles so that a few
bots cannot define a persona. It lives in the features' own terms, not in the
preprocessed matrix, so it survives new k, other preprocessing, other chosen features
and new data (a persona stays "the ones who buy most" even when everyone buys more).
Matching uses the features the current clustering was made from that the earlier
centroids also have (all shared features when fewer than :data:`MIN_MATCH_FEATURES`),
and the distance is the root mean square difference in standard deviations.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.segment.labels import NOISE_LABEL, label_order, sorted_labels
from core.workspace.store import Workspace

STATE_VERSION = 1
#: Root-mean-square distance (in standard deviations) above which a new cluster is not
#: the same persona as an earlier one. On the 5,000-user sample (12 default features),
#: re-runs with other seeds matched personas at 0.00-0.04, a persona split by k = 5, 7
#: or 8 moved by up to 0.45, while distinct personas were 0.76 or more apart.
MATCH_THRESHOLD = 0.5
#: Fewer shared clustering features than this and matching uses every shared feature.
MIN_MATCH_FEATURES = 2
#: An archetype name is suggested only when the cluster fits it by at least this many
#: standard deviations (after the archetype's weight).
MIN_ARCHETYPE_SCORE = 0.3
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


# profiles ----------------------------------------------------------------------------
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


def profile_clusters(features: pd.DataFrame, labels: pd.Series) -> ClusterProfiles:
    """Profile each cluster against everyone clustered.

    Parameters
    ----------
    features : DataFrame
        The feature table (user id index); every numeric column is profiled.
    labels : Series
        Cluster label per user (user id index), e.g. ``ws.clusters["cluster"]``.

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
    nonnegative = (numeric.min() >= 0).to_dict()
    for label in order:
        profiles.traits[label] = _traits(profiles, label, nonnegative)
    return profiles


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"


def describe_difference(feature: str, z: float, cluster_mean: float, everyone_mean: float,
                        nonnegative: bool = True) -> str:
    """Say in words how a cluster differs on one feature.

    Counts and amounts of non-negative features read as ratios ("3.4× more sessions
    than average", "80% fewer purchases than average", "no purchases"); small
    differences and features that can be negative read in standard deviations.
    """
    label = feature_label(feature)
    values = f" ({_fmt(cluster_mean)} vs {_fmt(everyone_mean)})"
    if nonnegative and everyone_mean > 0 and np.isfinite(cluster_mean):
        ratio = cluster_mean / everyone_mean
        if ratio == 0:
            return f"no {label} (average {_fmt(everyone_mean)})"
        if ratio >= RATIO_WORDS:
            return f"{ratio:.1f}× more {label} than average" + values
        if ratio <= 1 / RATIO_WORDS:
            return f"{1 - ratio:.0%} fewer {label} than average" + values
    side = "above" if z > 0 else "below"
    return f"{label} {abs(z):.1f} sd {side} average" + values


def _traits(profiles: ClusterProfiles, label: str, nonnegative: dict[str, bool]
            ) -> list[Trait]:
    z = profiles.z.loc[label, profiles.distinct]
    ranked = z.abs().sort_values(ascending=False, kind="stable").index[:TOP_TRAITS]
    traits = []
    for f in ranked:
        values = (float(z[f]), float(profiles.means.at[label, f]),
                  float(profiles.everyone_mean[f]))
        traits.append(Trait(f, *values, describe_difference(f, *values, nonnegative[f])))
    return traits


# suggested names ---------------------------------------------------------------------
@dataclass(frozen=True)
class Archetype:
    """A persona name that fits clusters with a given signature.

    ``signature`` is a tuple of groups of signed features ("+revenue", "-purchases"):
    the fit is the minimum over groups of the best signed standardised difference in
    the group (all groups must hold; any feature of a group will do).
    """

    name: str
    signature: tuple[tuple[str, ...], ...]
    blurb: str
    action: str
    weight: float = 1.0

    def score(self, z: pd.Series) -> float:
        """How well a cluster's standardised differences fit; -inf when features lack."""
        fits = []
        for group in self.signature:
            values = [(1 if s[0] == "+" else -1) * z[s[1:]] for s in group if s[1:] in z]
            if not values:
                return -np.inf
            fits.append(max(values))
        return self.weight * float(min(fits))


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("High-value repeat buyers", (("+revenue",), ("+purchases", "+count_purchase")),
              "Buy often and spend the most",
              "Reward loyalty: early access, a members' programme and premium "
              "recommendations; avoid discounts they do not need."),
    Archetype("Bargain hunters",
              (("+count_coupon_use", "+purchases", "+count_purchase"),
               ("-average_order_value",)),
              "Buy cheap items often, with coupons",
              "Lead with deals and bundles; lift basket size with free-shipping thresholds."),
    Archetype("Cart abandoners", (("+cart_abandonment_rate",), ("+cart_adds",)),
              "Fill the cart and leave without buying",
              "Send a cart reminder within 24 hours; show delivery costs and returns early."),
    Archetype("Content explorers",
              (("+mean_scroll_depth", "+mean_time_on_page_s", "+count_video_play"),),
              "Read, scroll and watch; rarely buy",
              "Recommend guides and articles, then weave in shoppable content and a "
              "newsletter sign-up."),
    Archetype("New visitors", (("-days_since_first_event",), ("-tenure_days",)),
              "Arrived recently",
              "Welcome series: best-sellers, a first-order incentive and clear delivery "
              "and returns information."),
    Archetype("Dormant", (("+days_since_last_event",),),
              "Have not been back for a long time",
              "Win-back campaign: a reminder of what they browsed and a time-limited "
              "offer; stop after two unanswered messages."),
    Archetype("Window shoppers", (("+product_views", "+count_product_view"),
                                  ("-purchases", "-count_purchase")),
              "Browse many products, rarely buy",
              "Show reviews, social proof and price-drop alerts on viewed products."),
    Archetype("Night owls", (("+night_share",),), "Mostly active at night (UTC)",
              "Send emails and pushes in their late hours.", weight=0.7),
    Archetype("Weekend browsers", (("+weekend_share",),), "Mostly active at weekends",
              "Time campaigns and new arrivals for Saturday and Sunday.", weight=0.7),
    Archetype("Frequent visitors", (("+sessions_per_week", "+sessions"),),
              "Come back often", "Personalise the home page with what is new since their "
                                  "last visit.", weight=0.7),
)
DEFAULT_ACTION = ("Look at the distinguishing traits and choose an offer or content that "
                  "fits them; test it against a control group.")


@dataclass(frozen=True)
class Suggestion:
    """A suggested persona for one cluster."""

    label: str
    name: str
    description: str
    action: str
    archetype: str | None


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate.lower() in {t.lower() for t in taken}:
        candidate, n = f"{name} {n}", n + 1
    return candidate


def suggest_names(profiles: ClusterProfiles, labels: list[str] | None = None,
                  taken: set[str] | None = None) -> dict[str, Suggestion]:
    """Suggest a unique name, a one-line description and an action per cluster.

    Archetypes (:data:`ARCHETYPES`) are assigned to clusters by the Hungarian algorithm
    on how well each cluster fits each archetype, so no two clusters get the same one;
    a cluster that fits none well (:data:`MIN_ARCHETYPE_SCORE`) is named after its most
    distinguishing feature. The same profiles always give the same names.

    Parameters
    ----------
    profiles : ClusterProfiles
    labels : list of str, optional
        Clusters to name (default: all).
    taken : set of str, optional
        Names already in use (kept personas); suggestions avoid them.
    """
    labels = list(profiles.labels if labels is None else labels)
    taken = set(taken or ())
    free = list(ARCHETYPES)
    chosen: dict[str, Archetype] = {}
    if labels and free:
        scores = np.array([[a.score(profiles.z.loc[label]) for a in free] for label in labels])
        fit = np.where(np.isfinite(scores), scores, -10.0)
        rows, cols = linear_sum_assignment(-fit)
        chosen = {labels[r]: free[c] for r, c in zip(rows, cols, strict=True)
                  if fit[r, c] >= MIN_ARCHETYPE_SCORE}
    result = {}
    for label in labels:
        traits = profiles.traits[label]
        archetype = chosen.get(label)
        if archetype:
            name, blurb, action = archetype.name, archetype.blurb, archetype.action
        else:
            top = traits[0] if traits else None
            name = (f"{'High' if top.z > 0 else 'Low'} {feature_label(top.feature)}"
                    if top else label).capitalize()
            blurb, action = f"{profiles.share_users[label]:.0%} of users", DEFAULT_ACTION
        name = _unique(name, taken)
        taken.add(name)
        detail = "; ".join(t.text for t in traits[:2])
        result[label] = Suggestion(label, name, f"{blurb}: {detail}." if detail else blurb,
                                   action, archetype.name if archetype else None)
    return result


#: A value must make up at least this share of a cluster's events to count as preferred.
MIN_CONTENT_SHARE = 0.05


def preferred_content(events: pd.DataFrame | None, labels: pd.Series) -> dict[str, str]:
    """What each cluster's events are about, more than everyone's.

    For the product ``category`` (when the events have one) and the event type, the
    value with the highest lift (the cluster's share over everyone's share) among those
    making up at least :data:`MIN_CONTENT_SHARE` of the cluster's events.
    """
    if events is None or events.empty:
        return {}
    parts: dict[str, list[str]] = {}
    for column, noun in (("category", "category"), ("event", "event")):
        if column not in events.columns:
            continue
        frame = events[["user_id", column]].dropna()
        cluster = frame["user_id"].map(labels)
        frame = frame.assign(cluster=cluster).dropna(subset=["cluster"])
        if frame.empty:
            continue
        counts = pd.crosstab(frame["cluster"], frame[column])
        share = counts.div(counts.sum(axis=1), axis=0)
        lift = share / (counts.sum() / counts.to_numpy().sum())
        for label in counts.index:
            common = lift.loc[label][share.loc[label] >= MIN_CONTENT_SHARE]
            if common.empty:
                continue
            value = common.sort_values(ascending=False, kind="stable").index[0]
            parts.setdefault(str(label), []).append(
                f"{noun} {value} ({share.at[label, value]:.0%} of their events, "
                f"{common[value]:.1f}× everyone)")
    return {label: "; ".join(texts) for label, texts in parts.items()}


# matching ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """How a new cluster relates to the earlier personas."""

    label: str
    previous: str | None
    distance: float | None

    @property
    def is_new(self) -> bool:
        return self.previous is None


def matching_features(previous: dict[str, dict[str, float]], current: pd.DataFrame,
                      clustered_on: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Features both sides share, restricted to those the clustering used when possible."""
    shared = set(current.columns)
    for centroid in previous.values():
        shared &= set(centroid)
    preferred = [f for f in clustered_on if f in shared]
    if len(preferred) >= MIN_MATCH_FEATURES:
        return preferred
    return [f for f in current.columns if f in shared]


def match(previous: dict[str, dict[str, float]], current: pd.DataFrame,
          clustered_on: list[str] | tuple[str, ...] = (),
          threshold: float = MATCH_THRESHOLD) -> list[Match]:
    """Match current clusters to earlier personas by centroid distance.

    Parameters
    ----------
    previous : dict
        ``{earlier label: {feature: standardised difference}}``.
    current : DataFrame
        Standardised differences of the current clusters (rows: labels).
    clustered_on : sequence of str
        Features of the current clustering, preferred for the distance.
    threshold : float
        Pairs farther apart than this (RMS, in standard deviations) do not match.

    Returns
    -------
    list of Match
        One per current cluster, in the order of ``current``.
    """
    labels = list(current.index)
    features = matching_features(previous, current, clustered_on) if previous else []
    if not features:
        return [Match(label, None, None) for label in labels]
    old_labels = list(previous)
    old = np.array([[previous[o][f] for f in features] for o in old_labels])
    new = current[features].to_numpy(dtype=float)
    cost = np.sqrt(((new[:, None, :] - old[None, :, :]) ** 2).mean(axis=2))
    rows, cols = linear_sum_assignment(cost)
    paired = {int(r): int(c) for r, c in zip(rows, cols, strict=True)
              if cost[r, c] <= threshold}
    return [Match(label, old_labels[paired[i]], float(cost[i, paired[i]]))
            if i in paired else Match(label, None, float(cost[i].min()))
            for i, label in enumerate(labels)]


# state in ws.personas ------------------------------------------------------------------
EDITABLE = ("name", "description", "traits", "preferred_content", "action")
MAX_NAME_LENGTH = 80


@dataclass
class PersonaRefresh:
    """What a refresh did: which personas kept their names, which are new or gone."""

    matches: list[Match]
    kept: list[str]
    new: list[str]
    retired: list[str]
    notices: list[Notice] = field(default_factory=list)


def _hash(values: pd.Series | pd.Index) -> str:
    hashed = pd.util.hash_pandas_object(values, index=isinstance(values, pd.Series))
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


def clusters_fingerprint(clusters: pd.DataFrame | None) -> str | None:
    """A key that changes whenever the users or their cluster labels change."""
    if clusters is None:
        return None
    return _hash(clusters["cluster"].astype(str))


def snapshot(labels: pd.Series) -> dict[str, Any]:
    """Labels of every user in compact JSON form (for a later before/after comparison)."""
    order = sorted(labels.astype(str).unique(), key=label_order)
    codes = pd.Categorical(labels.astype(str), categories=order).codes.astype(np.uint16)
    return {"users": _hash(labels.index), "labels": order,
            "codes": base64.b64encode(codes.tobytes()).decode("ascii")}


def from_snapshot(snap: dict[str, Any], index: pd.Index) -> pd.Series | None:
    """Labels saved by :func:`snapshot` for ``index``, or None if the users differ."""
    if not snap or snap.get("users") != _hash(index):
        return None
    codes = np.frombuffer(base64.b64decode(snap["codes"]), dtype=np.uint16)
    if len(codes) != len(index):
        return None
    return pd.Series(np.asarray(snap["labels"], dtype=object)[codes], index=index)


def is_fresh(ws: Workspace) -> bool:
    """True when ``ws.personas`` was built for the workspace's current clusters."""
    fingerprint = clusters_fingerprint(ws.clusters)
    return fingerprint is not None and ws.personas.get("fingerprint") == fingerprint


def build_state(ws: Workspace, previous: dict[str, Any] | None = None
                ) -> tuple[dict[str, Any], PersonaRefresh]:
    """Persona state for the workspace's clusters, matched to ``previous`` (pure).

    Matched clusters keep the earlier persona's name and whatever the analyst edited;
    the rest of their fields follow the new data. Unmatched clusters get suggested names
    and are marked new (unless there were no personas before).
    """
    clusters = ws.clusters
    if clusters is None or ws.features is None:
        raise ConfigError("There are no clusters yet. Cluster the users on the Clustering "
                          "page first.")
    previous = previous or {}
    labels = clusters["cluster"].astype(str)
    profiles = profile_clusters(ws.features, labels)
    old = previous.get("personas", {})
    old_names = previous.get("names", {})
    centroids = {k: v["centroid"] for k, v in old.items() if v.get("centroid")}
    clustered_on = tuple(ws.preprocess_config.get("features", ()))
    if centroids:
        matches = match(centroids, profiles.z, clustered_on)
    else:  # names given before any profile existed stay with their labels
        matches = [Match(k, k if k in old_names else None, None) for k in profiles.labels]
    kept = {m.label: old_names.get(m.previous, m.previous) for m in matches if m.previous}
    suggestions = suggest_names(profiles, [m.label for m in matches if not m.previous],
                                taken=set(kept.values()))
    content = preferred_content(ws.events, labels)
    personas, names = {}, {}
    for m in matches:
        fresh = _fresh_fields(profiles, m.label, suggestions.get(m.label), content)
        earlier = old.get(m.previous, {}) if m.previous else {}
        edited = list(earlier.get("edited", []))
        carried = {f: earlier[f] for f in edited if f in earlier and f != "name"}
        names[m.label] = kept.get(m.label) or suggestions[m.label].name
        personas[m.label] = {
            **fresh, **carried, "edited": edited,
            "suggested_name": suggestions[m.label].name if m.label in suggestions else None,
            "new": m.is_new and bool(old or old_names), "matched_from": m.previous,
            "distance": None if m.distance is None else round(m.distance, 4),
            "users": int(profiles.sizes[m.label]),
            "centroid": {f: round(float(v), 4) for f, v in profiles.z.loc[m.label].items()},
        }
    state = {"version": STATE_VERSION, "fingerprint": clusters_fingerprint(clusters),
             "space": SPACE, "names": names, "personas": personas,
             "snapshot": snapshot(labels)}
    if previous.get("snapshot") and previous.get("fingerprint") != state["fingerprint"]:
        state["previous"] = {"names": old_names, "snapshot": previous["snapshot"],
                             "fingerprint": previous.get("fingerprint")}
    elif previous.get("previous"):
        state["previous"] = previous["previous"]
    matched_old = {m.previous for m in matches if m.previous}
    refresh = PersonaRefresh(
        matches=matches, kept=[names[m.label] for m in matches if m.previous],
        new=[names[m.label] for m in matches if m.is_new],
        retired=[old_names.get(k, k) for k in old if k not in matched_old],
        notices=profiles.notices)
    return state, refresh


def _fresh_fields(profiles: ClusterProfiles, label: str, suggestion: Suggestion | None,
                  content: dict[str, str]) -> dict[str, Any]:
    traits = [t.text for t in profiles.traits[label]]
    if suggestion is None:  # a kept persona: describe it from the new data
        suggestion = suggest_names(profiles, [label])[label]
    return {"description": suggestion.description, "traits": traits,
            "preferred_content": content.get(label, ""), "action": suggestion.action,
            "archetype": suggestion.archetype}


def refresh_personas(ws: Workspace, save: bool = True) -> PersonaRefresh:
    """Rebuild ``ws.personas`` for the current clusters, keeping earlier names.

    Call it when :func:`is_fresh` is False (the clusters changed). The earlier labels are
    kept as ``ws.personas["previous"]`` for a before/after comparison.

    Raises
    ------
    ConfigError
        There are no clusters.
    """
    state, refresh = build_state(ws, ws.personas)
    ws.personas = state
    if save:
        ws.save()
    return refresh


def persona_state(ws: Workspace) -> dict[str, Any]:
    """The workspace's persona state, rebuilt (without saving) if the clusters changed."""
    return ws.personas if is_fresh(ws) else build_state(ws, ws.personas)[0]


def update_persona(ws: Workspace, label: str, **changes: Any) -> None:
    """Save the analyst's edits of one persona (name, description, traits, ...).

    Raises
    ------
    ConfigError
        Unknown persona or field, an empty, too long or duplicate name.
    """
    if not is_fresh(ws):
        refresh_personas(ws, save=False)
    personas, names = ws.personas["personas"], ws.personas["names"]
    if label not in personas:
        raise ConfigError(f"There is no persona for '{label}'. Choose one of "
                          f"{', '.join(personas)}.")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ConfigError(f"Cannot edit {', '.join(sorted(unknown))}; editable: "
                          f"{', '.join(EDITABLE)}.")
    if "name" in changes:
        _check_name(str(changes["name"]), label, names)
        changes["name"] = str(changes["name"]).strip()
    if "traits" in changes:
        traits = changes["traits"]
        lines = traits.splitlines() if isinstance(traits, str) else list(traits)
        changes["traits"] = [str(t).strip() for t in lines if str(t).strip()]
    persona = personas[label]
    for key, value in changes.items():
        current = names[label] if key == "name" else persona.get(key)
        if value == current:
            continue
        if key == "name":
            names[label] = value
        else:
            persona[key] = value
        if key not in persona["edited"]:
            persona["edited"].append(key)
    ws.save()


def _check_name(name: str, label: str, names: dict[str, str]) -> None:
    name = name.strip()
    if not name:
        raise ConfigError("Give the persona a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(f"Keep the persona name under {MAX_NAME_LENGTH} characters.")
    clash = [k for k, v in names.items() if k != label and v.strip().lower() == name.lower()]
    if clash:
        raise ConfigError(f"Another persona ({clash[0]}) is already called '{name}'. "
                          "Choose a different name.")

