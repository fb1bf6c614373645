"""The personas of one clustering: names, cards, and what carried over from the last one.

:func:`build_state` turns a clustering (the feature table and each user's cluster label)
into a :class:`PersonaState`: a suggested name and a card per cluster, matched to the
earlier state so that a persona keeps its name and the analyst's edits when the clusters
are recomputed (:mod:`core.personas.matching`). :func:`edit_persona` applies the
analyst's edits. Both are pure: they take and return values, and the workspace keeps the
state (``core.workspace.personas``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.personas.matching import Match, match
from core.personas.naming import Suggestion, preferred_content, suggest_names
from core.personas.profiles import SPACE, ClusterProfiles, profile_clusters
from core.segment.labels import label_order

STATE_VERSION = 1
#: Re-clusterings kept in a state's history: the oldest go first.
MAX_HISTORY = 20
EDITABLE = ("name", "description", "traits", "preferred_content", "action")
MAX_NAME_LENGTH = 80


@dataclass
class PersonaState:
    """Persona names and cards of one clustering.

    Attributes
    ----------
    fingerprint : str or None
        :func:`clusters_fingerprint` of the clustering the state was built for.
    names : dict
        ``{cluster label: persona name}``.
    personas : dict
        ``{cluster label: card}``; a card holds ``description``, ``traits``,
        ``preferred_content``, ``action``, ``archetype``, the fields the analyst
        ``edited``, ``suggested_name``, whether it is ``new``, what it was
        ``matched_from`` at which ``distance``, its ``users`` and its ``centroid``
        (standardised differences, the matching space).
    snapshot : dict
        Every user's label in compact form (:func:`snapshot`).
    previous : dict or None
        Names and snapshot of the clustering before the last re-run, for a comparison.
    history : list of dict
        One entry per clustering the personas were matched to, oldest first (at most
        :data:`MAX_HISTORY`): when, which run, which personas kept their names, which
        are new or gone, and how many users kept their persona (:func:`history_entry`).
    """

    fingerprint: str | None = None
    space: str = SPACE
    names: dict[str, str] = field(default_factory=dict)
    personas: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, Any] | None = None
    version: int = STATE_VERSION
    history: list[dict[str, Any]] = field(default_factory=list)

    def is_for(self, clusters: pd.DataFrame | None) -> bool:
        """True when the state was built for these clusters (same users, same labels)."""
        fingerprint = clusters_fingerprint(clusters)
        return fingerprint is not None and self.fingerprint == fingerprint

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PersonaState:
        """Rebuild from :meth:`to_json` output (an empty dict gives an empty state).

        Raises
        ------
        DataError
            When the names or cards are not what a workspace writes.
        """
        data = dict(data or {})
        names, personas = data.get("names", {}), data.get("personas", {})
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise DataError("The saved persona names are not a table of cluster -> name.")
        if not isinstance(personas, dict) or not all(isinstance(v, dict)
                                                     for v in personas.values()):
            raise DataError("The saved persona cards are damaged.")
        return cls(fingerprint=data.get("fingerprint"), space=str(data.get("space", SPACE)),
                   names={str(k): v for k, v in names.items()},
                   personas={str(k): v for k, v in personas.items()},
                   snapshot=dict(data.get("snapshot") or {}),
                   previous=data.get("previous") or None,
                   version=int(data.get("version", STATE_VERSION)),
                   # States saved before the history was kept have none.
                   history=_history(data.get("history")))


@dataclass
class PersonaRefresh:
    """What a refresh did: which personas kept their names, which are new or gone."""

    matches: list[Match]
    kept: list[str]
    new: list[str]
    retired: list[str]
    notices: list[Notice] = field(default_factory=list)


# fingerprints and snapshots --------------------------------------------------------------
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


def _history(data: Any) -> list[dict[str, Any]]:
    if not data:
        return []
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise DataError("The saved history of re-clusterings is damaged.")
    return [dict(e) for e in data][-MAX_HISTORY:]


# building ---------------------------------------------------------------------------------
def build_state(features: pd.DataFrame, labels: pd.Series, events: pd.DataFrame | None,
                clustered_on: tuple[str, ...] | list[str] = (),
                previous: PersonaState | None = None
                ) -> tuple[PersonaState, PersonaRefresh]:
    """Persona state for a clustering, matched to the ``previous`` state.

    Matched clusters keep the earlier persona's name and whatever the analyst edited;
    the rest of their fields follow the new data. Unmatched clusters get suggested names
    and are marked new (unless there were no personas before).

    Parameters
    ----------
    features : DataFrame
        The feature table (user id index).
    labels : Series
        Cluster label per user (user id index).
    events : DataFrame or None
        The event log, for each persona's preferred content.
    clustered_on : sequence of str
        Features the clustering used (preferred for matching).
    previous : PersonaState, optional
        The state of the earlier clustering.
    """
    previous = previous or PersonaState()
    labels = labels.astype(str)
    profiles = profile_clusters(features, labels, clustered_on)
    old, old_names = previous.personas, previous.names
    centroids = {k: v["centroid"] for k, v in old.items() if v.get("centroid")}
    if centroids:
        matches = match(centroids, profiles.z, tuple(clustered_on))
    else:  # names given before any profile existed stay with their labels
        matches = [Match(k, k if k in old_names else None, None) for k in profiles.labels]
    kept = {m.label: old_names.get(m.previous, m.previous) for m in matches if m.previous}
    suggestions = suggest_names(profiles, [m.label for m in matches if not m.previous],
                                taken=set(kept.values()))
    content = preferred_content(events, labels)
    personas, names = {}, {}
    for m in matches:
        names[m.label] = kept.get(m.label) or suggestions[m.label].name
        personas[m.label] = _card(profiles, m, old, suggestions, content, bool(old or old_names))
    fingerprint = _hash(labels)
    state = PersonaState(fingerprint=fingerprint, names=names, personas=personas,
                         snapshot=snapshot(labels), previous=_previous(previous, fingerprint),
                         history=list(previous.history))
    matched_old = {m.previous for m in matches if m.previous}
    refresh = PersonaRefresh(
        matches=matches, kept=[names[m.label] for m in matches if m.previous],
        new=[names[m.label] for m in matches if m.is_new],
        retired=[old_names.get(k, k) for k in old if k not in matched_old],
        notices=profiles.notices)
    return state, refresh


def _card(profiles: ClusterProfiles, m: Match, old: dict[str, dict[str, Any]],
          suggestions: dict[str, Suggestion], content: dict[str, str],
          had_personas: bool) -> dict[str, Any]:
    """One persona's card: fresh fields from the data, the analyst's edits carried over."""
    fresh = _fresh_fields(profiles, m.label, suggestions.get(m.label), content)
    earlier = old.get(m.previous, {}) if m.previous else {}
    edited = list(earlier.get("edited", []))
    carried = {f: earlier[f] for f in edited if f in earlier and f != "name"}
    return {
        **fresh, **carried, "edited": edited,
        "suggested_name": suggestions[m.label].name if m.label in suggestions else None,
        "new": m.is_new and had_personas, "matched_from": m.previous,
        "distance": None if m.distance is None else round(m.distance, 4),
        "users": int(profiles.sizes[m.label]),
        "centroid": {f: round(float(v), 4) for f, v in profiles.z.loc[m.label].items()},
    }


def _previous(previous: PersonaState, fingerprint: str) -> dict[str, Any] | None:
    """What to keep of the earlier clustering for a before/after comparison."""
    if previous.snapshot and previous.fingerprint != fingerprint:
        return {"names": previous.names, "snapshot": previous.snapshot,
                "fingerprint": previous.fingerprint}
    return previous.previous


def _fresh_fields(profiles: ClusterProfiles, label: str, suggestion: Suggestion | None,
                  content: dict[str, str]) -> dict[str, Any]:
    traits = [t.text for t in profiles.traits[label]]
    if suggestion is None:  # a kept persona: describe it from the new data
        suggestion = suggest_names(profiles, [label])[label]
    return {"description": suggestion.description, "traits": traits,
            "preferred_content": content.get(label, ""), "action": suggestion.action,
            "archetype": suggestion.archetype}


# editing ----------------------------------------------------------------------------------
def edit_persona(state: PersonaState, label: str, **changes: Any) -> PersonaState:
    """A copy of ``state`` with the analyst's edits of one persona.

    Raises
    ------
    ConfigError
        Unknown persona or field, an empty, too long or duplicate name.
    """
    if label not in state.personas:
        raise ConfigError(f"There is no persona for '{label}'. Choose one of "
                          f"{', '.join(state.personas)}.")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ConfigError(f"Cannot edit {', '.join(sorted(unknown))}; editable: "
                          f"{', '.join(EDITABLE)}.")
    if "name" in changes:
        _check_name(str(changes["name"]), label, state.names)
        changes["name"] = str(changes["name"]).strip()
    if "traits" in changes:
        traits = changes["traits"]
        lines = traits.splitlines() if isinstance(traits, str) else list(traits)
        changes["traits"] = [str(t).strip() for t in lines if str(t).strip()]
    names = dict(state.names)
    card = {**state.personas[label], "edited": list(state.personas[label]["edited"])}
    for key, value in changes.items():
        current = names[label] if key == "name" else card.get(key)
        if value == current:
            continue
        if key == "name":
            names[label] = value
        else:
            card[key] = value
        if key not in card["edited"]:
            card["edited"].append(key)
    return replace(state, names=names, personas={**state.personas, label: card})


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


# history ----------------------------------------------------------------------------------
def history_entry(before: PersonaState, after: PersonaState, refresh: PersonaRefresh,
                  labels: pd.Series, time: str, run: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """What one re-clustering did to the personas, for the history.

    Parameters
    ----------
    before, after : PersonaState
        The states before and after matching the new clusters.
    refresh : PersonaRefresh
        What :func:`build_state` reported.
    labels : Series
        Each user's new cluster label (user id index).
    time : str
        When (UTC).
    run : dict, optional
        ``{"number": ..., "name": "Run 3", "settings": "K-Means, k = 6, seed 0"}``.

    Returns
    -------
    dict
        ``time``, ``run``, ``first`` (no personas before), ``personas``, ``kept``, ``new``,
        ``retired``, ``users``, and ``stayed`` / ``moved`` (users whose persona name stayed
        or changed; None when the users are not the same as before, as after a change of
        the exclusions or the data).
    """
    labels = labels.astype(str)
    old = from_snapshot(before.snapshot, labels.index) if before.snapshot else None
    stayed = moved = None
    if old is not None:
        was = old.map(lambda label: before.names.get(label, label))
        now = labels.map(lambda label: after.names.get(label, label))
        stayed = int((was == now).sum())
        moved = len(labels) - stayed
    return {"time": time, "run": dict(run) if run else None,
            "first": not before.personas and not before.names,
            "personas": len(after.names), "kept": list(refresh.kept),
            "new": list(refresh.new), "retired": list(refresh.retired),
            "users": len(labels), "stayed": stayed, "moved": moved}


def with_history(state: PersonaState, entry: dict[str, Any]) -> PersonaState:
    """A copy of ``state`` with ``entry`` added to its history (the last
    :data:`MAX_HISTORY` kept)."""
    return replace(state, history=[*state.history, entry][-MAX_HISTORY:])


def history_table(state: PersonaState) -> pd.DataFrame:
    """The history, newest first, with headers in words."""
    rows = []
    for entry in reversed(state.history):
        run = entry.get("run") or {}
        stayed = entry.get("stayed")
        rows.append({
            "When (UTC)": str(entry.get("time", "")).replace("T", " ").removesuffix("Z"),
            "Run": run.get("name", ""),
            "Settings": run.get("settings", ""),
            "Personas": entry.get("personas"),
            "Kept their names": ", ".join(entry.get("kept", [])) or
            ("(first clustering)" if entry.get("first") else "none"),
            "New": ", ".join(entry.get("new", [])) or "none",
            "No longer found": ", ".join(entry.get("retired", [])) or "none",
            "Users": entry.get("users"),
            "Same persona": stayed,
            "Changed persona": entry.get("moved"),
        })
    return pd.DataFrame(rows, columns=["When (UTC)", "Run", "Settings", "Personas",
                                       "Kept their names", "New", "No longer found", "Users",
                                       "Same persona", "Changed persona"])
