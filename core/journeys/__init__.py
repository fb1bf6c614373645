"""Journeys: how users move, split by persona or segment.

Every view reads the canonical events frame (``user_id``, ``ts``, ``event``, optional
``session_id`` and properties) and an optional Series of group labels per user:

- :mod:`core.journeys.funnels`: ordered or any-order funnels within a conversion
  window, step and overall conversion, time between steps, a chi-square test across
  groups with Holm-corrected pairs, and the users who dropped at a step;
- :mod:`core.journeys.paths`: the next (or previous) N events from a start (to an end)
  event as a Sankey whose every column sums to the users who did the start event, and
  step matrices with a difference view;
- :mod:`core.journeys.sequences`: PrefixSpan over sessions or user histories, the
  patterns that set a group apart (tested, Benjamini-Hochberg corrected), and patterns
  as per-user features;
- :mod:`core.journeys.retention`: cohort retention (N-period or unbounded) by week or
  month, retention curves and lifecycle (new, returning, resurrected, dormant).

Charts are in :mod:`core.journeys.flow_charts` and :mod:`core.journeys.retention_charts`.
"""

from core.journeys.funnels import FunnelResult, FunnelSpec, Step, dropped_at, funnel
from core.journeys.paths import PathResult, paths
from core.journeys.retention import RetentionResult, lifecycle, retention, retention_curve
from core.journeys.sequences import (
    build_sequences,
    distinguishing_patterns,
    frequent_patterns,
    pattern_feature,
)

__all__ = [
    "FunnelResult",
    "FunnelSpec",
    "PathResult",
    "RetentionResult",
    "Step",
    "build_sequences",
    "distinguishing_patterns",
    "dropped_at",
    "frequent_patterns",
    "funnel",
    "lifecycle",
    "paths",
    "pattern_feature",
    "retention",
    "retention_curve",
]
