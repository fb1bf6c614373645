"""The sample's A/B-test table, with a planted, persona-dependent lift in conversion."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.sample.profiles import K_BOT, profile_column

# A/B test: revenue of a converted user follows pre-period revenue with this
# elasticity on the log scale, plus lognormal noise.
_EXPERIMENT_REVENUE_ELASTICITY = 0.35
_EXPERIMENT_REVENUE_SIGMA = 0.35
_PRE_REVENUE_SIGMA = 0.8


def draw_experiment(
    kind: np.ndarray, user_ids: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """One A/B-test row per non-bot user with the planted persona lifts."""
    people = np.flatnonzero(kind != K_BOT)
    k = kind[people]
    n = len(people)
    treatment = rng.random(n) < 0.5
    has_pre = rng.random(n) >= profile_column("pre_revenue_zero_p")[k]
    pre_median = profile_column("pre_revenue_median")[k]
    pre = np.where(has_pre, np.round(rng.lognormal(np.log(pre_median), _PRE_REVENUE_SIGMA), 2), 0.0)
    p = profile_column("conversion_baseline")[k] + treatment * profile_column("conversion_lift")[k]
    converted = rng.random(n) < np.clip(p, 0.0, 1.0)
    # Revenue follows the persona's order value and the user's own pre-period
    # revenue (what CUPED-style adjustment can exploit).
    log_revenue = (
        np.log(profile_column("order_value_median")[k])
        + _EXPERIMENT_REVENUE_ELASTICITY * (np.log1p(pre) - np.log1p(pre_median))
        + rng.normal(0.0, _EXPERIMENT_REVENUE_SIGMA, n)
    )
    revenue = np.where(converted, np.maximum(0.01, np.round(np.exp(log_revenue), 2)), 0.0)
    return pd.DataFrame(
        {
            "user_id": pd.array(user_ids[people], dtype="str"),
            "variant": pd.array(np.where(treatment, "treatment", "control"), dtype="str"),
            "converted": converted,
            "revenue": revenue,
            "pre_period_revenue": pre,
        }
    )
