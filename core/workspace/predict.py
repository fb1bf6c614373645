"""Propensity in a workspace: the defaults that fit its data, the evaluation the page
shows, and the saved model whose scores join the feature table.

A saved target (``churn`` or ``conversion``) keeps its settings, the model as JSON, the
base rate and the evaluation summary in ``ws.prediction.targets[target]``; its score and
band columns (:data:`core.predict.SCORE_COLUMNS`) are added to the feature table, with
definitions, so that segments, rules, personas, the export and the report can use them,
and are added again when the features are recomputed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.common.errors import ConfigError, PersonaLensError
from core.common.notices import Notice
from core.common.progress import Progress
from core.predict import (
    MODELS,
    SCORE_COLUMNS,
    LabelSpec,
    PropensityConfig,
    PropensityResult,
    evaluate_propensity,
    fit_final,
    model_from_json,
    population_now,
    score_users,
)
from core.predict.labels import default_spec as labels_default_spec
from core.predict.models import Model
from core.workspace.journeys import role_event
from core.workspace.store import Workspace, now_utc, require_events, require_features


def propensity_events(ws: Workspace) -> pd.DataFrame:
    """The workspace's events (see :func:`core.workspace.store.require_events`)."""
    return require_events(ws, "Propensity models need an event log")


def default_spec(ws: Workspace, target: str) -> LabelSpec:
    """Settings that fit this data (:func:`core.predict.labels.default_spec`), with the
    workspace's purchase event for conversion."""
    events = propensity_events(ws)
    purchase = role_event(ws, "purchase", set(events["event"].astype(str).unique()))
    return labels_default_spec(events, target, (purchase,) if purchase else ())


def run_propensity(ws: Workspace, config: PropensityConfig,
                   progress: Progress | None = None) -> PropensityResult:
    """Fit and test every model of ``config`` on the workspace's events (nothing is
    saved; the page caches the result)."""
    events = propensity_events(ws)
    feature_config = ws.feature_info.config
    if feature_config is None:
        raise ConfigError("Compute features first (Features page).")
    return evaluate_propensity(events, feature_config, config, progress)


def save_propensity(ws: Workspace, result: PropensityResult, key: str,
                    threshold: float | None = None) -> pd.DataFrame:
    """Fit ``key`` at the test cutoff, score every user and save it all.

    Parameters
    ----------
    result : PropensityResult
        The evaluation the analyst looked at (its settings, features and summary are
        saved with the model).
    key : str
        The model to use (a key of :data:`core.predict.MODELS`).
    threshold : float, optional
        The 'high' band's lower bound; by default the score that flags as many users as
        were positive at the cutoff.

    Returns
    -------
    DataFrame
        The score and band of every user.
    """
    if key not in result.evaluations:
        raise ConfigError(f"'{key}' was not evaluated; choose one of "
                          f"{', '.join(result.evaluations)}.")
    config = result.config
    model, base_rate = fit_final(result, key)
    target = config.labels.target
    entry = {"config": config.to_dict(), "model_key": key, "model": model.to_json(),
             "base_rate": base_rate, "threshold": threshold, "saved": now_utc(),
             "summary": _summary(result)}
    scores = _scores(ws, entry, model)
    ws.prediction.targets = {**ws.prediction.targets, target: entry}
    _store_scores(ws, target, scores)
    ws.mark_step("predict")
    ws.save()
    return scores


def _summary(result: PropensityResult) -> dict[str, Any]:
    table = result.metrics_table().drop(columns=["key"])
    spec = result.config.labels
    return {"metrics": table.round(6).to_dict(orient="records"), "best": result.best,
            "train_cutoff": f"{spec.train_cutoff_ts:%Y-%m-%d}",
            "test_users": len(result.test_labels),
            "test_positive_rate": float(result.test_labels.mean()),
            "features": list(result.features),
            "importance": result.importance.head(10).round(6).to_dict(orient="records")}


def saved_model(ws: Workspace, target: str) -> Model:
    """The saved model of ``target``.

    Raises
    ------
    ConfigError
        Nothing is saved for ``target``.
    """
    entry = ws.prediction.targets.get(target)
    if entry is None:
        raise ConfigError(f"No {target} model is saved in this workspace; fit one on the "
                          "Propensity page first.")
    return model_from_json(entry["model"])


def _scores(ws: Workspace, entry: dict[str, Any], model: Model,
            features: pd.DataFrame | None = None) -> pd.DataFrame:
    config = PropensityConfig.from_dict(entry["config"])
    table = require_features(ws) if features is None else features
    eligible = population_now(propensity_events(ws), config.labels)
    return score_users(model, table, config.labels.target, float(entry["base_rate"]),
                       entry.get("threshold"), eligible)


def _definitions(target: str, entry: dict[str, Any]) -> dict[str, str]:
    score_col, band_col = SCORE_COLUMNS[target]
    spec = LabelSpec.from_dict(entry["config"]["labels"])
    what = (f"no event in the {spec.horizon_days} days after" if target == "churn" else
            f"{' or '.join(spec.target_events)} within {spec.horizon_days} days of")
    model = MODELS[entry["model_key"]].name
    return {score_col: f"Predicted probability of {what} the data's end ({model}, learned "
                       f"at the cutoff {spec.cutoff}).",
            band_col: "high: score at or above the threshold (flags as many users as were "
                      f"positive at the cutoff, {float(entry['base_rate']):.1%}, unless set); "
                      "medium: at or above that rate; low: below it"
                      + ("; lapsed: no event in the last "
                         f"{spec.active_within_days} days, not scored"
                         if spec.active_within_days else "") + "."}


def _store_scores(ws: Workspace, target: str, scores: pd.DataFrame) -> None:
    features = require_features(ws).drop(columns=list(scores.columns), errors="ignore")
    ws.set_frame("features", features.join(scores))
    entry = ws.prediction.targets[target]
    ws.feature_info.definitions = {**ws.feature_info.definitions, **_definitions(target, entry)}
    predictions = ws.frame("predictions")
    if predictions is not None:
        predictions = predictions.drop(columns=list(scores.columns), errors="ignore")
    ws.set_frame("predictions", scores if predictions is None else predictions.join(
        scores, how="outer"))
    ws.changed("features", "predictions")


def forget_propensity(ws: Workspace, target: str) -> None:
    """Remove the saved model of ``target`` and its columns."""
    columns = list(SCORE_COLUMNS[target])
    ws.prediction.targets = {k: v for k, v in ws.prediction.targets.items() if k != target}
    features = ws.features
    if features is not None:
        ws.set_frame("features", features.drop(columns=columns, errors="ignore"))
    predictions = ws.frame("predictions")
    if predictions is not None:
        kept = predictions.drop(columns=columns, errors="ignore")
        ws.set_frame("predictions", kept if len(kept.columns) else None)
    ws.feature_info.definitions = {k: v for k, v in ws.feature_info.definitions.items()
                                   if k not in columns}
    ws.changed("features", "predictions")
    ws.save()


def add_recorded_predictions(ws: Workspace, features: pd.DataFrame
                             ) -> tuple[pd.DataFrame, dict[str, str], list[Notice]]:
    """``features`` (a recomputed table) with every saved model's scores added again;
    a model whose inputs are gone is dropped with a notice."""
    definitions: dict[str, str] = {}
    notices: list[Notice] = []
    for target, entry in list(ws.prediction.targets.items()):
        try:
            scores = _scores(ws, entry, model_from_json(entry["model"]), features)
        except PersonaLensError as exc:
            ws.prediction.targets = {k: v for k, v in ws.prediction.targets.items()
                                     if k != target}
            notices.append(Notice("prediction_dropped", f"The saved {target} model was "
                                  f"removed: {exc}", "warning", subject=target))
            continue
        features = features.drop(columns=list(scores.columns), errors="ignore").join(scores)
        definitions.update(_definitions(target, entry))
    return features, definitions, notices


def persona_risk(ws: Workspace) -> pd.DataFrame | None:
    """Per persona and saved target: users, the share lapsed (not scored), and among the
    scored users the mean score and the share in the high band (None before clustering
    or without a saved model)."""
    labels = ws.persona_labels()
    features = ws.features
    if labels is None or features is None or not ws.prediction.targets:
        return None
    rows = []
    for target in ws.prediction.targets:
        score_col, band_col = SCORE_COLUMNS[target]
        if score_col not in features.columns:
            continue
        frame = features[[score_col, band_col]].join(labels.rename("persona"), how="inner")
        for persona, part in frame.groupby("persona", observed=True):
            scored = part[part[band_col] != "lapsed"]
            rows.append({"persona": str(persona), "target": target, "users": len(part),
                         "scored": len(scored), "mean_score": float(scored[score_col].mean()),
                         "high_share": float((scored[band_col] == "high").mean())
                         if len(scored) else float("nan"),
                         "lapsed_share": float((part[band_col] == "lapsed").mean())})
    return pd.DataFrame(rows) if rows else None


def saved_document(ws: Workspace, target: str) -> dict[str, Any]:
    """The saved ``target`` model as a model file (``python -m core predict score``
    reads it)."""
    from core.predict.document import model_document

    entry = ws.prediction.targets.get(target)
    if entry is None:
        raise ConfigError(f"No {target} model is saved in this workspace.")
    return model_document(PropensityConfig.from_dict(entry["config"]), ws.feature_info.config,
                          entry["model_key"], entry["base_rate"], entry["model"],
                          entry["summary"]["metrics"], entry.get("threshold"))


def explain_user(ws: Workspace, target: str, user_id: str, top: int = 3
                 ) -> tuple[float, str, list[str]]:
    """A user's score and band under the saved ``target`` model and the sentences of
    the features that push it most (against the median user)."""
    from core.predict.explain import user_reasons

    features = require_features(ws)
    if user_id not in features.index:
        raise ConfigError(f"There is no user '{user_id}' in the feature table.")
    score_col, band_col = SCORE_COLUMNS[target]
    model = saved_model(ws, target)
    row = features.loc[[user_id]]
    typical = features[model.features].apply(pd.to_numeric, errors="coerce").median()
    outcome = "churn risk" if target == "churn" else "conversion propensity"
    reasons = [r.sentence(outcome) for r in user_reasons(model, row, typical, top)]
    return float(features.at[user_id, score_col]), str(features.at[user_id, band_col]), reasons
