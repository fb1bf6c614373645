"""Suggested persona names, descriptions and actions, and what each persona looks at.

Archetypes ("High-value repeat buyers", "Dormant", ...) are assigned to clusters by the
Hungarian algorithm on how well each cluster's standardised differences fit them, so no
two clusters get the same one; the same profiles always give the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from core.personas.profiles import ClusterProfiles, feature_label

#: An archetype name is suggested only when the cluster fits it by at least this many
#: standard deviations (after the archetype's weight).
MIN_ARCHETYPE_SCORE = 0.3
#: A cluster this many sd on the wrong side of a contradicting feature cannot take the name.
MAX_CONTRADICTION = 0.5


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
    #: A signed feature ("+days_since_last_event") on which only the most extreme
    #: cluster may take this name: "Dormant" is the most lapsed cluster, never another.
    extreme: str | None = None
    #: Signed features the name would contradict: "New visitors" who have been away
    #: for months are not new. Any of them above :data:`MAX_CONTRADICTION` sd rules it out.
    contradicted_by: tuple[str, ...] = ()

    def score(self, z: pd.Series) -> float:
        """How well a cluster's standardised differences fit; -inf when features lack
        or the cluster contradicts the name."""
        for s in self.contradicted_by:
            if s[1:] in z and (1 if s[0] == "+" else -1) * z[s[1:]] > MAX_CONTRADICTION:
                return -np.inf
        fits = []
        for group in self.signature:
            values = [(1 if s[0] == "+" else -1) * z[s[1:]] for s in group if s[1:] in z]
            if not values:
                return -np.inf
            fits.append(max(values))
        return self.weight * float(min(fits))


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("High-value repeat buyers",
              (("+revenue",), ("+orders", "+purchases", "+count_purchase")),
              "Buy often and spend the most",
              "Reward loyalty: early access, a members' programme and premium "
              "recommendations; avoid discounts they do not need.",
              extreme="+revenue"),
    Archetype("Bargain hunters",
              (("+count_coupon_use", "+orders", "+purchases", "+count_purchase"),
               ("-average_order_value",)),
              "Buy often, in small orders",
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
              "and returns information.",
              extreme="-days_since_first_event", contradicted_by=("+days_since_last_event",)),
    Archetype("Dormant", (("+days_since_last_event",),),
              "Have not been back for a long time",
              "Win-back campaign: a reminder of what they browsed and a time-limited "
              "offer; stop after two unanswered messages.",
              extreme="+days_since_last_event"),
    Archetype("Window shoppers", (("+product_views", "+count_product_view"),
                                  ("-purchases", "-count_purchase")),
              "Browse many products, rarely buy",
              "Show reviews, social proof and price-drop alerts on viewed products."),
    Archetype("Night owls", (("+night_share",),), "Mostly active at night (local time)",
              "Send emails and pushes in their late hours.", weight=0.7),
    Archetype("Weekend browsers", (("+weekend_share",),), "Mostly active at weekends",
              "Time campaigns and new arrivals for Saturday and Sunday.", weight=0.7),
    Archetype("Frequent visitors", (("+sessions_per_week", "+sessions"),),
              "Come back often", "Personalise the home page with what is new since their "
                                  "last visit.", weight=0.7,
              extreme="+sessions_per_week",
              contradicted_by=("+days_since_last_event", "-days_since_first_event")),
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


#: Plain names for a cluster named after its most distinguishing feature, by direction.
TRAIT_NAMES: dict[tuple[str, bool], str] = {
    ("days_since_last_event", True): "Lapsing", ("days_since_last_event", False):
    "Recently active", ("tenure_days", True): "Long-standing", ("tenure_days", False):
    "Short-lived", ("days_since_first_event", True): "Long-standing",
    ("active_days", True): "Often active", ("active_days", False): "Seldom active",
    ("events_per_session", True): "Intense sessions", ("events_per_session", False):
    "Quick sessions", ("average_order_value", True): "Big baskets",
    ("average_order_value", False): "Small baskets", ("revenue", True): "Big spenders",
    ("revenue", False): "Low spenders", ("weekend_share", False): "Weekday users",
    ("night_share", False): "Daytime users",
}


def _trait_name(feature: str, high: bool) -> str:
    known = TRAIT_NAMES.get((feature, high))
    return known or f"{'High' if high else 'Low'} {feature_label(feature)}".capitalize()


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
        z = profiles.z[profiles.described or list(profiles.z.columns)]
        scores = np.array([[a.score(z.loc[label]) if _may_take(a, label, profiles.medians)
                            else -np.inf for a in free] for label in labels])
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
            name = _trait_name(top.feature, top.z > 0) if top else label
            blurb, action = f"{profiles.share_users[label]:.0%} of users", DEFAULT_ACTION
        name = _unique(name, taken)
        taken.add(name)
        detail = "; ".join(t.text for t in traits[:2])
        result[label] = Suggestion(label, name, f"{blurb}: {detail}." if detail else blurb,
                                   action, archetype.name if archetype else None)
    return result


def _may_take(archetype: Archetype, label: str, medians: pd.DataFrame) -> bool:
    """Whether ``label`` may take an archetype that names an extreme: only the cluster
    with the highest (or lowest) median of its feature among all clusters may (the
    median the card shows, robust to a few extreme users)."""
    if archetype.extreme is None:
        return True
    feature = archetype.extreme[1:]
    if feature not in medians.columns:
        return False
    signed = medians[feature] if archetype.extreme[0] == "+" else -medians[feature]
    return signed.idxmax() == label


#: A value must make up at least this share of a cluster's events to count as preferred.
MIN_CONTENT_SHARE = 0.05
#: ... and be at least this many times more common than among everyone's events.
MIN_CONTENT_LIFT = 1.2


def preferred_content(events: pd.DataFrame | None, labels: pd.Series) -> dict[str, str]:
    """What each cluster's events are about, more than everyone's.

    For the product ``category`` (when the events have one) and the event type, the
    value with the highest lift (the cluster's share over everyone's share) among those
    making up at least :data:`MIN_CONTENT_SHARE` of the cluster's events, when that lift
    is at least :data:`MIN_CONTENT_LIFT`. A column with one value for everyone (the one
    event of a purchase log) says nothing and is left out.
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
        if frame[column].nunique() < 2:
            continue
        counts = pd.crosstab(frame["cluster"], frame[column])
        share = counts.div(counts.sum(axis=1), axis=0)
        lift = share / (counts.sum() / counts.to_numpy().sum())
        for label in counts.index:
            common = lift.loc[label][(share.loc[label] >= MIN_CONTENT_SHARE)
                                     & (lift.loc[label] >= MIN_CONTENT_LIFT)]
            if common.empty:
                continue
            value = common.sort_values(ascending=False, kind="stable").index[0]
            parts.setdefault(str(label), []).append(
                f"{noun} {value} ({share.at[label, value]:.0%} of their events, "
                f"{common[value]:.1f}× everyone)")
    return {label: "; ".join(texts) for label, texts in parts.items()}


