"""A logistic propensity model as one SQL query, to score users where their features
live (the same numbers as :meth:`LogisticModel.predict`, checked in DuckDB by test).
Gradient boosting has no such form: :func:`model_sql` says so instead of guessing."""

from __future__ import annotations

from core.common.errors import ConfigError
from core.predict.models import LogisticModel, Model


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _number(value: float) -> str:
    return repr(float(value))


def logit_sql(model: LogisticModel) -> str:
    """The model's log-odds as a SQL expression over the feature columns."""
    terms = [_number(model.intercept)]
    for j, name in enumerate(model.features):
        value = f"CAST({_quote(name)} AS DOUBLE)"
        if name in model.logged:
            value = f"ln(1 + greatest({value}, 0))"
        filled = f"coalesce({value}, {_number(model.medians[j])})"
        terms.append(f"{_number(model.coef[j])} * (({filled} - {_number(model.means[j])}) / "
                     f"{_number(model.scales[j])})")
    return "\n    + ".join(terms)


def model_sql(model: Model, table: str = "features", score_column: str = "score",
              user_column: str = "user_id") -> str:
    """``SELECT user_id, <probability> AS score FROM table`` for a logistic model.

    Raises
    ------
    ConfigError
        The model is gradient boosting, which has no single-expression SQL form.
    """
    if not isinstance(model, LogisticModel):
        raise ConfigError("Gradient boosting cannot be written as one SQL expression (it "
                          "is 200 trees); export the logistic model for SQL, or score with "
                          "`python -m core predict score`.")
    return (f"-- Persona Lens propensity model ({model.key}): P(outcome) = 1 / (1 + "
            f"exp(-logit))\nSELECT {_quote(user_column)},\n  1.0 / (1.0 + exp(-(\n    "
            f"{logit_sql(model)}\n  ))) AS {_quote(score_column)}\nFROM {_quote(table)}")
