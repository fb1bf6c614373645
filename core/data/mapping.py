"""Column mapping: which input column plays which canonical role, and which event
values mean product view, add to cart, checkout and purchase.

Names are matched after normalisation (lower case, letters and digits only), so
``userId``, ``user_id`` and ``User ID`` are the same name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from core.common.errors import ConfigError

Role = Literal[
    "user_id", "ts", "event", "session_id", "revenue", "page", "category",
    "product_id", "scroll_depth", "duration_s", "consent",
]
ROLES: tuple[Role, ...] = (
    "user_id", "ts", "event", "session_id", "revenue", "page", "category",
    "product_id", "scroll_depth", "duration_s", "consent",
)
REQUIRED_EVENT_ROLES: tuple[Role, ...] = ("user_id", "ts", "event")

ROLE_LABELS: dict[str, str] = {
    "user_id": "User id",
    "ts": "Timestamp",
    "event": "Event name",
    "session_id": "Session id",
    "revenue": "Revenue",
    "page": "Page",
    "category": "Category",
    "product_id": "Product id",
    "scroll_depth": "Scroll depth (%)",
    "duration_s": "Time on page (s)",
    "consent": "Consent (true/false)",
}

# Column names used by common exports (GA4 BigQuery, Segment, Mixpanel, Amplitude,
# Snowplow, plain CSV dumps), in order of preference within each role.
ALIASES: dict[str, tuple[str, ...]] = {
    # Ids every row has (GA4 user_pseudo_id, Snowplow domain_userid, Mixpanel
    # distinct_id, Segment anonymousId) come before login ids that are often empty.
    "user_id": (
        "user_pseudo_id", "domain_userid", "distinct_id", "client_id", "anonymous_id",
        "anonymousid", "user_id", "userid", "amplitude_id", "network_userid",
        "visitor_id", "customer_id", "uid", "user", "visitor", "customer",
    ),
    "ts": (
        "ts", "timestamp", "event_time", "time", "event_timestamp", "datetime",
        "date_time", "collector_tstamp", "derived_tstamp", "dvce_created_tstamp",
        "created_at", "occurred_at", "received_at", "sent_at", "event_date", "date",
    ),
    "event": (
        "event_name", "event", "event_type", "action", "type", "name", "se_action",
        "event_action", "activity",
    ),
    "session_id": (
        "session_id", "sessionid", "domain_sessionid", "ga_session_id", "session",
        "visit_id", "session_key",
    ),
    "revenue": (
        "revenue", "value", "price", "amount", "order_value", "purchase_revenue",
        "tr_total", "total", "sales", "event_value",
    ),
    "page": ("page", "page_path", "page_urlpath", "url", "page_url", "path", "screen",
             "page_location", "page_title"),
    "category": ("category", "product_category", "item_category", "categories",
                 "section"),
    "product_id": ("product_id", "productid", "item_id", "sku", "product", "item"),
    "scroll_depth": ("scroll_depth", "scroll", "scroll_percent", "percent_scrolled",
                     "scroll_pct"),
    "duration_s": ("duration_s", "duration", "time_on_page", "engagement_time",
                   "engagement_time_msec", "dwell_time", "seconds"),
    "consent": ("consent", "consent_given", "tracking_consent", "analytics_consent",
                "gdpr_consent", "opt_in"),
}

FunnelStep = Literal["product_view", "add_to_cart", "checkout", "purchase"]
FUNNEL_STEPS: tuple[FunnelStep, ...] = ("product_view", "add_to_cart", "checkout", "purchase")
FUNNEL_LABELS: dict[str, str] = {
    "product_view": "Product view",
    "add_to_cart": "Add to cart",
    "checkout": "Checkout",
    "purchase": "Purchase",
}
# Event names used for each funnel step by GA4, Segment's e-commerce spec, Mixpanel,
# Amplitude and Snowplow, normalised.
EVENT_ALIASES: dict[str, tuple[str, ...]] = {
    "product_view": ("product_view", "view_item", "product_viewed", "viewed_product",
                     "productview", "view_product", "item_view", "product_detail_view",
                     "product_page_view", "detail"),
    "add_to_cart": ("add_to_cart", "product_added", "added_to_cart", "addtocart",
                    "cart_add", "add_to_basket", "added_to_basket"),
    "checkout": ("checkout", "begin_checkout", "checkout_started", "initiate_checkout",
                 "checkout_start", "start_checkout"),
    "purchase": ("purchase", "order_completed", "transaction", "purchased", "order",
                 "checkout_completed", "complete_purchase", "order_placed"),
}


def normalise_name(name: object) -> str:
    """Lower-case a column or event name and keep letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass
class ColumnMapping:
    """Which input column plays each canonical role (None when absent)."""

    columns: dict[str, str | None] = field(default_factory=dict)

    def get(self, role: str) -> str | None:
        """Return the input column mapped to ``role``, or None."""
        return self.columns.get(role)

    def mapped(self) -> dict[str, str]:
        """Return only the roles that have a column."""
        return {r: c for r, c in self.columns.items() if c}

    def with_role(self, role: str, column: str | None) -> ColumnMapping:
        """Return a copy with ``role`` mapped to ``column``."""
        if role not in ROLES:
            raise ConfigError(f"Unknown role '{role}'. Valid roles: {', '.join(ROLES)}.")
        return ColumnMapping({**self.columns, role: column})

    def to_dict(self) -> dict[str, str | None]:
        return dict(self.columns)

    @classmethod
    def from_dict(cls, data: Mapping[str, str | None]) -> ColumnMapping:
        unknown = set(data) - set(ROLES)
        if unknown:
            raise ConfigError(
                f"Unknown role(s) {', '.join(sorted(unknown))} in the column mapping. "
                f"Valid roles: {', '.join(ROLES)}."
            )
        return cls(dict(data))

    def validate(self, columns: Iterable[str], kind: str = "events") -> None:
        """Raise ConfigError when a required role is unmapped or a column is missing."""
        columns = list(columns)
        for role, col in self.mapped().items():
            if col not in columns:
                raise ConfigError(
                    f"The mapping uses column '{col}' for {ROLE_LABELS[role]}, but the file "
                    f"has no such column. Columns in the file: {', '.join(columns)}."
                )
        required = REQUIRED_EVENT_ROLES if kind == "events" else ("user_id",)
        for role in required:
            if not self.get(role):
                raise ConfigError(
                    f"No column is mapped to {ROLE_LABELS[role]}: no column name looked like "
                    f"one (looked for {', '.join(ALIASES[role][:6])}, ...). "
                    f"Pick the {ROLE_LABELS[role].lower()} column in the mapping."
                )
        used = [c for c in self.mapped().values()]
        dupes = sorted({c for c in used if used.count(c) > 1})
        if dupes:
            raise ConfigError(
                f"Column '{dupes[0]}' is mapped to more than one role. "
                "Map each column to one role only."
            )


def guess_mapping(columns: Iterable[str], frame: pd.DataFrame | None = None) -> ColumnMapping:
    """Guess each role's column from its name (and, given the data, how full it is).

    Parameters
    ----------
    columns : iterable of str
        Column names of the input, in file order. Nested names such as
        ``properties.time`` also match on their last part.
    frame : DataFrame, optional
        The data. When several columns fit a role (a GA4 export has ``user_id``, filled
        for signed-in users only, and ``user_pseudo_id``, always filled), the one with
        the most values wins; without data, the most preferred alias wins.

    Returns
    -------
    ColumnMapping
        Each role mapped to one column at most; a column is used for one role at most.
    """
    columns = [str(c) for c in columns]
    taken: set[str] = set()
    result: dict[str, str | None] = {}
    for role in ROLES:
        candidates = [c for c in _candidates(role, columns) if c not in taken]
        if frame is not None and len(candidates) > 1:
            filled = {c: int(frame[c].notna().sum()) for c in candidates if c in frame}
            best = max(filled.values(), default=0)
            candidates = [c for c in candidates if filled.get(c, 0) == best] or candidates
        result[role] = candidates[0] if candidates else None
        if result[role]:
            taken.add(result[role])
    return ColumnMapping(result)


def _candidates(role: str, columns: list[str]) -> list[str]:
    """Columns whose name (or last dotted part) is an alias of the role, best first."""
    found: list[str] = []
    for alias in ALIASES[role]:
        key = normalise_name(alias)
        for col in columns:
            last = col.rsplit(".", 1)[-1]
            if col not in found and key in (normalise_name(col), normalise_name(last)):
                found.append(col)
    return found


def guess_event_roles(event_names: Iterable[str]) -> dict[str, list[str]]:
    """Guess which event values mean each funnel step.

    Parameters
    ----------
    event_names : iterable of str
        Distinct event values in the data.

    Returns
    -------
    dict
        ``{step: [event values]}`` for every step in FUNNEL_STEPS (empty list when
        nothing matched).
    """
    names = [str(e) for e in event_names]
    roles: dict[str, list[str]] = {}
    for step in FUNNEL_STEPS:
        aliases = {normalise_name(a) for a in EVENT_ALIASES[step]}
        roles[step] = [e for e in names if normalise_name(e) in aliases]
    return roles
