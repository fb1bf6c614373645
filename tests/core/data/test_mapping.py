"""Tests of column and event-role guessing (core/data/mapping.py).

Column names are those of the vendors' documented exports: GA4 BigQuery export schema,
Segment Spec (track call and warehouse `tracks` table), Mixpanel raw event export,
Amplitude export API, Snowplow canonical event model (atomic.events). Expected roles
are worked out by hand from those documents.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import ConfigError
from core.data.mapping import (
    ALIASES,
    FUNNEL_STEPS,
    ROLES,
    ColumnMapping,
    guess_event_roles,
    guess_mapping,
    normalise_name,
)
from core.data.readers import read_bytes


def _roles(columns: list[str], *roles: str) -> dict[str, str | None]:
    mapping = guess_mapping(columns)
    return {r: mapping.get(r) for r in roles}


@pytest.mark.parametrize(
    ("vendor", "columns", "expected"),
    [
        ("GA4", ["event_date", "event_timestamp", "event_name", "user_pseudo_id",
                 "platform", "stream_id"],
         {"user_id": "user_pseudo_id", "ts": "event_timestamp", "event": "event_name"}),
        # Without data, the id every Segment row has (anonymousId) wins over userId,
        # which is empty until a user logs in.
        ("Segment", ["messageId", "type", "event", "userId", "anonymousId", "timestamp",
                     "receivedAt", "sentAt"],
         {"user_id": "anonymousId", "ts": "timestamp", "event": "event"}),
        ("Segment anonymous", ["type", "event", "anonymousId", "timestamp"],
         {"user_id": "anonymousId", "ts": "timestamp", "event": "event"}),
        ("Mixpanel", ["event", "distinct_id", "time", "$insert_id", "mp_country_code"],
         {"user_id": "distinct_id", "ts": "time", "event": "event"}),
        ("Amplitude", ["user_id", "device_id", "event_time", "event_type", "session_id",
                       "revenue", "client_event_time", "server_upload_time"],
         {"user_id": "user_id", "ts": "event_time", "event": "event_type",
          "session_id": "session_id", "revenue": "revenue"}),
        ("Snowplow", ["app_id", "platform", "collector_tstamp", "event_id", "domain_userid",
                      "domain_sessionidx", "domain_sessionid", "event_name", "page_urlpath"],
         {"user_id": "domain_userid", "ts": "collector_tstamp", "event": "event_name",
          "session_id": "domain_sessionid", "page": "page_urlpath"}),
    ],
)
def test_vendor_columns_guessed(vendor: str, columns: list[str],
                                expected: dict[str, str]) -> None:
    assert _roles(columns, *expected) == expected, vendor


@pytest.mark.parametrize(
    ("vendor", "columns", "expected"),
    [
        # GA4 BigQuery export: `user_id` is only set for signed-in users (often empty);
        # `user_pseudo_id` is the id every event has.
        ("GA4 full export", [
            "event_date", "event_timestamp", "event_name", "event_params",
            "event_previous_timestamp", "event_value_in_usd", "event_bundle_sequence_id",
            "user_id", "user_pseudo_id", "user_first_touch_timestamp", "device", "geo",
            "platform", "stream_id"],
         {"user_id": "user_pseudo_id", "ts": "event_timestamp", "event": "event_name"}),
        # Snowplow atomic.events: `event` is the coarse type (page_view, struct,
        # unstruct) and `user_id` is the optional business id; `event_name` and
        # `domain_userid` are the per-event name and the cookie id every web event has.
        ("Snowplow atomic.events", [
            "app_id", "platform", "etl_tstamp", "collector_tstamp", "dvce_created_tstamp",
            "event", "event_id", "name_tracker", "user_id", "user_ipaddress",
            "domain_userid", "domain_sessionidx", "network_userid", "page_url",
            "page_urlpath", "se_category", "se_action", "tr_total", "domain_sessionid",
            "derived_tstamp", "event_vendor", "event_name", "event_format"],
         {"user_id": "domain_userid", "ts": "collector_tstamp", "event": "event_name",
          "session_id": "domain_sessionid"}),
    ],
)
def test_full_vendor_exports_guess_the_always_present_ids(
        vendor: str, columns: list[str], expected: dict[str, str]) -> None:
    assert _roles(columns, *expected) == expected, vendor


def test_mixpanel_raw_export_read_and_guessed() -> None:
    # Mixpanel's raw event export: one JSON object per line with the distinct_id and
    # the epoch-seconds time nested under "properties".
    data = (
        b'{"event": "Product Viewed", "properties": {"time": 1709294400, '
        b'"distinct_id": "u1", "$insert_id": "a1"}}\n'
        b'{"event": "Order Completed", "properties": {"time": 1709298000, '
        b'"distinct_id": "u1", "$insert_id": "a2"}}\n'
    )
    table = read_bytes(data, "mixpanel.jsonl")
    assert "properties.distinct_id" in table.frame.columns
    roles = _roles(list(table.frame.columns), "user_id", "ts", "event")
    assert roles == {"user_id": "properties.distinct_id", "ts": "properties.time",
                     "event": "event"}


def test_column_used_for_one_role_only() -> None:
    # 'user', 'time', 'name', 'session' and 'value' are low-preference aliases of
    # user_id, ts, event, session_id and revenue; each column is used once.
    mapping = guess_mapping(["user", "time", "name", "value", "session"])
    assert mapping.mapped() == {"user_id": "user", "ts": "time", "event": "name",
                                "session_id": "session", "revenue": "value"}
    # Two columns with the same normalised name: the first in file order is used and
    # the other is left for no role.
    mapping = guess_mapping(["User ID", "user_id", "Timestamp", "Event"])
    assert mapping.mapped() == {"user_id": "User ID", "ts": "Timestamp", "event": "Event"}


def test_preference_order_within_a_role() -> None:
    # 'ts' is preferred over 'timestamp' whatever the file order.
    assert guess_mapping(["timestamp", "ts", "user_id", "event"]).get("ts") == "ts"
    # 'event_name' before 'event': in Snowplow 'event' is only the coarse event type.
    assert guess_mapping(["event", "event_name", "uid"]).get("event") == "event_name"
    # An id every row has before a login id that is often empty (GA4, Snowplow).
    assert guess_mapping(["user_id", "user_pseudo_id", "ts", "event"]).get("user_id") \
        == "user_pseudo_id"


def test_normalise_name() -> None:
    assert normalise_name("User ID") == "userid"
    assert normalise_name("userId") == "userid"
    assert normalise_name("user_id") == "userid"
    assert normalise_name("Event-Name!") == "eventname"


@pytest.mark.parametrize(
    ("columns", "role_label", "aliases"),
    [
        (["visitor_key", "ts", "event"], "User id", "user_pseudo_id, domain_userid, distinct_id"),
        (["user_id", "when", "event"], "Timestamp", "ts, timestamp, event_time"),
    ],
)
def test_validate_names_missing_role_and_fix(columns: list[str], role_label: str,
                                             aliases: str) -> None:
    mapping = guess_mapping(columns)
    with pytest.raises(ConfigError) as info:
        mapping.validate(columns)
    message = str(info.value)
    assert f"No column is mapped to {role_label}" in message  # the problem
    assert aliases in message  # what was looked for
    assert f"Pick the {role_label.lower()} column in the mapping" in message  # the fix


def test_validate_event_log_without_event_column() -> None:
    # REQUIRED_EVENT_ROLES is (user_id, ts): a purchase or rating log has no event
    # column, every row is one event of the same kind (named by LoadConfig.event_name).
    # This replaces the "Event name" case of the test above, which expected an error.
    columns = ["user_id", "ts", "what"]
    mapping = guess_mapping(columns)
    assert mapping.get("event") is None
    mapping.validate(columns)
    with pytest.raises(ConfigError, match="No column is mapped to Timestamp"):
        ColumnMapping({"user_id": "user_id", "event": "what"}).validate(columns)


def test_validate_user_table_needs_user_id_only() -> None:
    ColumnMapping({"user_id": "id"}).validate(["id", "spend"], kind="users")
    with pytest.raises(ConfigError, match="User id"):
        ColumnMapping({}).validate(["id"], kind="users")


def test_validate_column_not_in_file() -> None:
    mapping = ColumnMapping({"user_id": "uid", "ts": "time", "event": "ev"})
    with pytest.raises(ConfigError, match="uses column 'ev' for Event name, but the file"):
        mapping.validate(["uid", "time", "event"])


def test_validate_one_column_two_roles() -> None:
    mapping = ColumnMapping({"user_id": "uid", "ts": "time", "event": "ev", "page": "ev"})
    with pytest.raises(ConfigError, match="'ev' is mapped to more than one role"):
        mapping.validate(["uid", "time", "ev"])


def test_with_role_and_dict_round_trip() -> None:
    mapping = guess_mapping(["user_id", "ts", "event"])
    changed = mapping.with_role("page", "ts")
    assert changed.get("page") == "ts"
    assert mapping.get("page") is None  # the original is unchanged
    assert ColumnMapping.from_dict(changed.to_dict()) == changed
    assert set(mapping.to_dict()) == set(ROLES)
    with pytest.raises(ConfigError, match="Unknown role 'colour'"):
        mapping.with_role("colour", "x")
    with pytest.raises(ConfigError, match="Unknown role"):
        ColumnMapping.from_dict({"user_id": "a", "colour": "b"})


def test_event_roles_ga4() -> None:
    names = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase",
             "session_start"]
    assert guess_event_roles(names) == {
        "product_view": ["view_item"],
        "add_to_cart": ["add_to_cart"],
        "checkout": ["begin_checkout"],
        "purchase": ["purchase"],
    }


def test_event_roles_segment() -> None:
    names = ["Page Viewed", "Product Viewed", "Product Added", "Checkout Started",
             "Order Completed", "Signed Up"]
    assert guess_event_roles(names) == {
        "product_view": ["Product Viewed"],
        "add_to_cart": ["Product Added"],
        "checkout": ["Checkout Started"],
        "purchase": ["Order Completed"],
    }


def test_event_roles_none_match() -> None:
    assert guess_event_roles(["login", "logout"]) == {step: [] for step in FUNNEL_STEPS}


# --- property: a column is used for one role at most -----------------------------------

ALIAS_NAMES = sorted({a for aliases in ALIASES.values() for a in aliases})
COLUMN_NAME = st.one_of(
    st.sampled_from(ALIAS_NAMES),
    st.sampled_from(ALIAS_NAMES).map(str.upper),
    st.sampled_from(ALIAS_NAMES).map(lambda a: a.replace("_", " ").title()),
    st.text(max_size=10),
)


@settings(max_examples=50, deadline=None, database=None, derandomize=True)
@given(columns=st.lists(COLUMN_NAME, max_size=25))
def test_guess_mapping_never_maps_a_column_twice(columns: list[str]) -> None:
    mapping = guess_mapping(columns)
    used = list(mapping.mapped().values())
    assert len(used) == len(set(used))
    assert set(used) <= set(columns)
    assert set(mapping.to_dict()) == set(ROLES)


def test_with_data_the_fullest_candidate_wins() -> None:
    # Segment warehouse rows: userId only after login, anonymousId always.
    frame = pd.DataFrame({"userId": ["a", None, None], "anonymousId": ["x", "y", "z"],
                          "timestamp": ["t"] * 3, "event": ["e"] * 3})
    assert guess_mapping(frame.columns, frame).get("user_id") == "anonymousId"
    frame["userId"] = ["a", "b", "c"]
    frame["anonymousId"] = ["x", None, None]
    assert guess_mapping(frame.columns, frame).get("user_id") == "userId"


# --- transaction, rating and impression logs; nested exports --------------------------


def test_recbole_typed_headers_match_without_their_type() -> None:
    # RecBole atomic files (ml-100k.inter) type every header as name:type.
    assert normalise_name("user_id:token") == "userid"
    assert normalise_name("item_id_list:token_seq") == "itemidlist"
    assert normalise_name("Rating:FLOAT") == "rating"
    assert normalise_name("ratio:1") == "ratio1"  # only RecBole's types are dropped
    columns = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
    assert guess_mapping(columns).mapped() == {
        "user_id": "user_id:token", "ts": "timestamp:float", "product_id": "item_id:token"}


@pytest.mark.parametrize(
    ("source", "columns", "expected"),
    [
        # dunnhumby "The Complete Journey" (2.0) transactions.
        ("Complete Journey", ["household_id", "store_id", "basket_id", "product_id",
                              "quantity", "sales_value", "retail_disc", "coupon_disc",
                              "coupon_match_disc", "week", "transaction_timestamp"],
         {"user_id": "household_id", "ts": "transaction_timestamp", "revenue": "sales_value",
          "product_id": "product_id", "order_id": "basket_id", "quantity": "quantity"}),
        # UCI Online Retail: UnitPrice is a unit price, not the line's revenue.
        ("Online Retail", ["InvoiceNo", "StockCode", "Description", "Quantity",
                           "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
         {"user_id": "CustomerID", "ts": "InvoiceDate", "product_id": "StockCode",
          "order_id": "InvoiceNo", "quantity": "Quantity"}),
        ("card export", ["cust_id", "receipt_id", "sku", "qty", "dollar_value",
                         "purchase_date"],
         {"user_id": "cust_id", "ts": "purchase_date", "revenue": "dollar_value",
          "product_id": "sku", "order_id": "receipt_id", "quantity": "qty"}),
        ("loyalty export", ["member_id", "order_date", "transaction_id", "article_id",
                            "units", "line_total"],
         {"user_id": "member_id", "ts": "order_date", "revenue": "line_total",
          "product_id": "article_id", "order_id": "transaction_id", "quantity": "units"}),
        ("MovieLens ratings.csv", ["userId", "movieId", "rating", "timestamp"],
         {"user_id": "userId", "ts": "timestamp", "product_id": "movieId"}),
        ("Amazon reviews", ["rating", "title", "asin", "parent_asin", "user_id",
                            "timestamp", "helpful_vote"],
         {"user_id": "user_id", "ts": "timestamp", "product_id": "asin"}),
    ],
)
def test_transaction_and_rating_logs_guessed(source: str, columns: list[str],
                                             expected: dict[str, str]) -> None:
    assert guess_mapping(columns).mapped() == expected, source


def test_impression_log_has_no_event_column() -> None:
    # Open Bandit Dataset layout: click is the outcome of an impression and policy the
    # logging policy that served it; neither names what the user did.
    columns = ["timestamp", "item_id", "position", "click", "propensity_score", "policy"]
    mapping = guess_mapping(columns)
    assert mapping.get("event") is None
    assert mapping.mapped() == {"ts": "timestamp", "product_id": "item_id"}
    assert "click" not in ALIASES["event"] and "policy" not in ALIASES["event"]


def test_a_time_of_day_is_not_the_timestamp() -> None:
    # dunnhumby's original release: DAY is a day number and TRANS_TIME a time of day.
    frame = pd.DataFrame({"household_key": ["2375", "2375"], "BASKET_ID": ["1", "2"],
                          "DAY": ["1", "1"], "TRANS_TIME": ["1631", "0905"],
                          "SALES_VALUE": ["1.39", "0.82"]})
    assert guess_mapping(frame.columns, frame).get("ts") is None
    assert guess_mapping(frame.columns).get("ts") is None  # not taken on its name alone
    full = frame.assign(TRANS_TIME=["2017-01-01 16:31:00", "2017-01-02 09:05:00"])
    assert guess_mapping(full.columns, full).get("ts") == "TRANS_TIME"
    clock = pd.DataFrame({"user_id": ["u1"], "date": ["2024-03-01"], "time": ["16:31:07"]})
    assert guess_mapping(clock.columns, clock).get("ts") == "date"
    epoch = pd.DataFrame({"user_id": ["u1"], "time": [1709294400]})
    assert guess_mapping(epoch.columns, epoch).get("ts") == "time"


def test_ga4_flattened_columns_guessed() -> None:
    columns = ["event_date", "event_timestamp", "event_name", "param.ga_session_id",
               "param.page_location", "param.engagement_time_msec", "param.value",
               "param.transaction_id", "user_id", "user_pseudo_id", "user_ltv.revenue",
               "device.category", "ecommerce.purchase_revenue", "ecommerce.transaction_id",
               "ecommerce.total_item_quantity", "items.count", "items.first_item_id"]
    assert guess_mapping(columns).mapped() == {
        "user_id": "user_pseudo_id", "ts": "event_timestamp", "event": "event_name",
        "session_id": "param.ga_session_id", "revenue": "ecommerce.purchase_revenue",
        "page": "param.page_location", "order_id": "ecommerce.transaction_id",
        "quantity": "ecommerce.total_item_quantity",
        "duration_s": "param.engagement_time_msec",
    }


def test_revenue_is_not_decided_by_how_full_a_column_is() -> None:
    # param.value is on add_to_cart too; purchase revenue only on purchases.
    frame = pd.DataFrame({"user_pseudo_id": ["1.1"] * 3, "event_timestamp": [1, 2, 3],
                          "event_name": ["add_to_cart", "begin_checkout", "purchase"],
                          "param.value": [30.0, 30.0, 45.5],
                          "ecommerce.purchase_revenue": [None, None, 45.5]})
    assert guess_mapping(frame.columns, frame).get("revenue") == "ecommerce.purchase_revenue"


def test_descriptive_nested_parts_match_by_whole_name_only() -> None:
    # Amplitude: user_properties.revenue is the user's, event_properties.revenue the
    # event's; Segment: context.campaign.name is a campaign, not the event.
    columns = ["user_id", "event_time", "user_properties.revenue", "event_properties.revenue",
               "context.campaign.name", "context.traits.user_id", "geo.city",
               "device.category"]
    mapping = guess_mapping(columns)
    assert mapping.get("revenue") == "event_properties.revenue"
    assert mapping.get("event") is None
    assert mapping.get("category") is None
    assert guess_mapping(["context.page.path"]).get("page") == "context.page.path"
