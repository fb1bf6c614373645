"""The model file: a fitted propensity model with everything needed to score new data
the same way (the label settings, the feature settings, the base rate), as written by
the Propensity page's download and by ``python -m core predict fit``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.common.errors import DataError
from core.features.table import FeatureConfig
from core.predict.models import Model
from core.predict.propensity import PropensityConfig

#: What a model file says it is, and the version this code reads.
MODEL_FORMAT = "persona-lens-propensity"
MODEL_VERSION = 1


def model_document(config: PropensityConfig, feature_config: FeatureConfig, key: str,
                   base_rate: float, model: Model | dict[str, Any],
                   metrics: list[dict[str, Any]], threshold: float | None = None
                   ) -> dict[str, Any]:
    """The JSON-ready model file."""
    return {"format": MODEL_FORMAT, "version": MODEL_VERSION, "config": config.to_dict(),
            "feature_config": feature_config.to_dict(), "model_key": key,
            "base_rate": float(base_rate), "threshold": threshold,
            "model": model if isinstance(model, dict) else model.to_json(),
            "metrics": metrics}


def read_model_document(path: str | Path) -> dict[str, Any]:
    """A model file written by :func:`model_document`.

    Raises
    ------
    DataError
        Not JSON, or not a Persona Lens propensity model of a known version.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not a readable model file ({exc}).") from exc
    if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
        raise DataError(f"{path} is not a propensity model (written by the Propensity page "
                        "or `python -m core predict fit`).")
    if document.get("version") != MODEL_VERSION:
        raise DataError(f"{path} has model version {document.get('version')}; this version "
                        f"reads {MODEL_VERSION}. Fit it again.")
    return document
