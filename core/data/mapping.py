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
    "product_id", "order_id", "quantity", "scroll_depth", "duration_s", "consent",
]
ROLES: tuple[Role, ...] = (
    "user_id", "ts", "event", "session_id", "revenue", "page", "category",
    "product_id", "order_id", "quantity", "scroll_depth", "duration_s", "consent",
)
#: An event log needs a user and a time. Without an event column every row is one event
#: of the same kind (a purchase log, a rating log), named on the Data page.
REQUIRED_EVENT_ROLES: tuple[Role, ...] = ("user_id", "ts")

ROLE_LABELS: dict[str, str] = {
    "user_id": "User id",
    "ts": "Timestamp",
    "event": "Event name",
    "session_id": "Session id",
    "revenue": "Revenue",
    "page": "Page",
    "category": "Category",
    "product_id": "Product id",
    "order_id": "Order / basket id",
    "quantity": "Quantity",
    "scroll_depth": "Scroll depth (%)",
    "duration_s": "Time on page (s)",
    "consent": "Consent (true/false)",
}

# Column names used by common exports (GA4 BigQuery, Segment, Mixpanel, Amplitude,
# Snowplow, plain CSV dumps), transaction logs (dunnhumby, Online Retail, Instacart,
# H&M), rating logs (MovieLens, RecBole atomic files, Amazon reviews), in order of
# preference within each role. A dotted alias matches the whole column name only.
ALIASES: dict[str, tuple[str, ...]] = {
    # Ids every row has (GA4 user_pseudo_id, Snowplow domain_userid, Mixpanel
    # distinct_id, Segment anonymousId) come before login ids that are often empty.
    "user_id": (
        "user_pseudo_id", "domain_userid", "distinct_id", "client_id", "anonymous_id",
        "anonymousid", "user_id", "userid", "amplitude_id", "network_userid",
        "visitor_id", "customer_id", "household_id", "household_key", "cust_id",
        "member_id", "shopper_id", "reviewer_id", "uid", "user", "visitor", "customer",
    ),
    # Full date-times before dates; trans_time is dunnhumby's HHMM time of day in its
    # original release, taken only when the data shows full timestamps (TIME_OF_DAY_NAMES).
    "ts": (
        "ts", "timestamp", "event_time", "time", "event_timestamp", "datetime",
        "date_time", "collector_tstamp", "derived_tstamp", "dvce_created_tstamp",
        "created_at", "occurred_at", "received_at", "sent_at", "transaction_timestamp",
        "order_purchase_timestamp", "trans_time", "order_date", "purchase_date",
        "invoice_date", "transaction_date", "event_date", "date",
    ),
    # Not click, policy or position: in impression logs they are outcomes and settings
    # of a served item, not the name of what the user did.
    "event": (
        "event_name", "event", "event_type", "action", "type", "name", "se_action",
        "event_action", "activity",
    ),
    "session_id": (
        "session_id", "sessionid", "domain_sessionid", "ga_session_id", "session",
        "visit_id", "session_key",
    ),
    # GA4's purchase revenue comes before param.value, which add_to_cart and
    # begin_checkout carry too; line totals of transaction logs before a unit price.
    "revenue": (
        "ecommerce.purchase_revenue", "revenue", "sales_value", "net_sales", "line_total",
        "price_paid", "dollar_value", "dollars", "value", "price", "amount", "order_value",
        "purchase_revenue", "tr_total", "total", "sales", "event_value", "spend",
    ),
    "page": ("page", "page_path", "page_urlpath", "url", "page_url", "path", "screen",
             "page_location", "current_url", "page_title"),
    "category": ("category", "product_category", "item_category", "categories",
                 "section"),
    "product_id": ("product_id", "productid", "item_id", "sku", "movie_id", "movieid",
                   "article_id", "asin", "stock_code", "product", "item"),
    "order_id": ("ecommerce.transaction_id", "order_id", "orderid", "basket_id",
                 "basketid", "transaction_id", "transactionid", "invoice_no", "invoiceno",
                 "invoice", "receipt_id", "order_number", "basket"),
    "quantity": ("quantity", "qty", "units", "item_quantity", "quantity_sold",
                 "total_item_quantity"),
    "scroll_depth": ("scroll_depth", "scroll", "scroll_percent", "percent_scrolled",
                     "scroll_pct"),
    # engagement_time_msec (GA4) is in milliseconds: the name is mapped, the unit is
    # the cleaning step's to convert.
    "duration_s": ("duration_s", "duration", "time_on_page", "engagement_time",
                   "engagement_time_msec", "dwell_time", "seconds"),
    "consent": ("consent", "consent_given", "tracking_consent", "analytics_consent",
                "gdpr_consent", "opt_in"),
}
#: Roles whose right column is filled on some events only while a wrong one is filled
#: on more (GA4: ecommerce.purchase_revenue on purchases, param.value on carts too), so
#: the preference order decides, not how full a column is.
ORDER_DECIDES: tuple[str, ...] = ("revenue",)
#: Timestamp names that hold a bare time of day (HHMM, 1631) in some logs (dunnhumby's
#: TRANS_TIME next to a day number): taken only when the data shows full timestamps.
TIME_OF_DAY_NAMES = ("trans_time",)
#: Nested parts describing the user, device, place or traffic source rather than the
#: event (GA4 user_ltv.revenue is lifetime revenue and device.category is "desktop";
#: Segment context.traits.*, Amplitude user_properties.*): their columns match an alias
#: by their whole name only, never by their last part.
DESCRIPTIVE_PREFIXES = (
    "user_ltv.", "user_property.", "user_properties.", "device.", "geo.", "app_info.",
    "traffic_source.", "collected_traffic_source.", "session_traffic_source_last_click.",
    "privacy_info.", "items.", "context.traits.", "context.device.", "context.os.",
    "context.app.", "context.library.", "context.location.", "context.network.",
    "context.screen.", "context.campaign.", "context.referrer.",
)
#: Values read for the time-of-day check; the first rows are enough to tell.
TIME_SAMPLE_ROWS = 1000
#: A clock time without a date: 9:05, 16:31, 16:31:07.250.
CLOCK_TIME = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?"
#: RecBole atomic files type their headers (user_id:token, rating:float); the type is
#: not part of the name.
TYPED_HEADER = re.compile(r":(token|token_seq|float|float_seq)$")

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
    """Lower-case a column or event name and keep letters and digits only.

    A RecBole type suffix is dropped first: ``user_id:token`` is ``userid``.
    """
    return re.sub(r"[^a-z0-9]", "", TYPED_HEADER.sub("", str(name).strip().lower()))


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
        ``properties.time`` also match on their last part, except under parts that
        describe the user, device or traffic source (DESCRIPTIVE_PREFIXES); RecBole
        typed names such as ``user_id:token`` match without their type.
    frame : DataFrame, optional
        The data. When several columns fit a role (a GA4 export has ``user_id``, filled
        for signed-in users only, and ``user_pseudo_id``, always filled), the one with
        the most values wins, except for ORDER_DECIDES roles; without data, the most
        preferred alias wins. A timestamp candidate holding bare times of day (16:31)
        is skipped; one named like TIME_OF_DAY_NAMES is taken only when the data shows
        full timestamps.

    Returns
    -------
    ColumnMapping
        Each role mapped to one column at most; a column is used for one role at most.
    """
    columns = [str(c) for c in columns]
    taken: set[str] = set()
    result: dict[str, str | None] = {}
    for role in ROLES:
        candidates = [c for c in _candidates(role, columns)
                      if c not in taken and (role != "ts" or _full_timestamp(c, frame))]
        if frame is not None and len(candidates) > 1 and role not in ORDER_DECIDES:
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
    names = {col: _match_keys(col) for col in columns}
    for alias in ALIASES[role]:
        key = normalise_name(alias)
        found.extend(col for col in columns if col not in found and key in names[col])
    return found


def _match_keys(column: str) -> tuple[str, ...]:
    """The normalised names a column answers to: its own, and its last dotted part."""
    whole = normalise_name(column)
    if "." not in column or column.lower().startswith(DESCRIPTIVE_PREFIXES):
        return (whole,)
    return whole, normalise_name(column.rsplit(".", 1)[-1])


def _full_timestamp(column: str, frame: pd.DataFrame | None) -> bool:
    """False for a column of bare times of day, or of a TIME_OF_DAY_NAMES name not seen."""
    hhmm_name = normalise_name(column.rsplit(".", 1)[-1]) in {
        normalise_name(n) for n in TIME_OF_DAY_NAMES}
    if frame is None or column not in frame:
        return not hhmm_name
    text = frame[column].dropna().head(TIME_SAMPLE_ROWS).astype(str).str.strip()
    if text.empty:
        return not hhmm_name
    if text.str.fullmatch(CLOCK_TIME).all():
        return False
    return not (hhmm_name and _all_hhmm(text))


def _all_hhmm(text: pd.Series) -> bool:
    """Every value is a 1-4 digit HHMM time: hours below 24, minutes below 60."""
    if not text.str.fullmatch(r"\d{1,4}").all():
        return False
    hhmm = text.astype("int64")
    return bool(((hhmm // 100) < 24).all() and ((hhmm % 100) < 60).all())


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
