"""Tests of flattening nested exports (core/data/flatten.py).

Shapes follow the vendors' documented exports: GA4 BigQuery export schema (event_params
as repeated key/value records with typed values, ecommerce and device records, items as a
repeated record; INT64 written as JSON strings by BigQuery's JSON export), Segment's
track call (properties, context), Amplitude's export (event_properties,
user_properties). Expected columns are worked out by hand from those shapes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.flatten import flatten_events, nested_columns


def _param(key: str, **value: object) -> dict:
    typed = {"string_value": None, "int_value": None, "float_value": None,
             "double_value": None}
    return {"key": key, "value": {**typed, **value}}


def test_event_params_become_typed_param_columns() -> None:
    frame = pd.DataFrame({"event_name": ["page_view", "purchase"], "event_params": [
        [_param("ga_session_id", int_value="1709294400"),
         _param("page_location", string_value="https://shop.example/")],
        [_param("ga_session_id", int_value="1709294400"), _param("value", double_value=45.5),
         _param("value", double_value=99.0)],  # a repeated key: the first value is kept
    ]})
    flat, notes = flatten_events(frame)
    assert list(flat.columns) == ["event_name", "param.ga_session_id",
                                  "param.page_location", "param.value"]
    assert flat["param.ga_session_id"].dtype == "Int64"  # INT64 sent as JSON text
    assert flat["param.ga_session_id"].tolist() == [1709294400, 1709294400]
    assert flat["param.page_location"].tolist()[0] == "https://shop.example/"
    assert pd.isna(flat["param.page_location"].tolist()[1])
    assert flat["param.value"].tolist()[1] == 45.5
    assert len(notes) == 1 and "flattened" in notes[0] and "param.<key>" in notes[0]
    assert list(frame.columns) == ["event_name", "event_params"]  # input unchanged


def test_a_parameter_of_mixed_types_becomes_text() -> None:
    frame = pd.DataFrame({"event_params": [[_param("term", int_value="42")],
                                           [_param("term", string_value="mugs")]]})
    flat, _ = flatten_events(frame)
    assert flat["param.term"].tolist() == ["42", "mugs"]


def test_records_become_dotted_columns_at_every_depth() -> None:
    frame = pd.DataFrame({
        "user_pseudo_id": ["1.1", "1.1"],
        "device": [{"category": "desktop", "web_info": {"browser": "Chrome"}},
                   {"category": "mobile", "web_info": {"browser": "Safari"}}],
        "ecommerce": [None, {"purchase_revenue": 45.5, "transaction_id": "T1",
                             "refund_value": None}],
    })
    flat, _ = flatten_events(frame)
    assert list(flat.columns) == ["user_pseudo_id", "device.category",
                                  "device.web_info.browser", "ecommerce.purchase_revenue",
                                  "ecommerce.transaction_id", "ecommerce.refund_value"]
    assert flat["ecommerce.refund_value"].isna().all()
    assert flat["ecommerce.refund_value"].dtype == "str"  # not objects DuckDB cannot type
    assert flat["device.web_info.browser"].tolist() == ["Chrome", "Safari"]
    assert flat["ecommerce.purchase_revenue"].isna().tolist() == [True, False]
    assert flat.loc[1, "ecommerce.transaction_id"] == "T1"


def test_items_are_summarised_by_count_and_first_id() -> None:
    frame = pd.DataFrame({"event_name": ["page_view", "view_item", "purchase"], "items": [
        [], [{"item_id": "SKU1", "price": 30.0}],
        [{"item_id": "SKU1", "price": 30.0}, {"item_id": "SKU2", "price": 15.5}],
    ]})
    flat, _ = flatten_events(frame)
    assert list(flat.columns) == ["event_name", "items.count", "items.first_item_id"]
    assert flat["items.count"].tolist() == [0, 1, 2]
    assert flat["items.first_item_id"].tolist()[1:] == ["SKU1", "SKU1"]


def test_arrays_from_parquet_are_lists_too() -> None:
    # pyarrow hands repeated fields to pandas as numpy object arrays.
    frame = pd.DataFrame({"items": [np.array([{"item_id": "A"}], dtype=object), None],
                          "tags": [np.array(["a", "b"], dtype=object), None]})
    assert nested_columns(frame) == ["items", "tags"]
    flat, _ = flatten_events(frame)
    assert flat["items.count"].tolist() == [1, 0]
    assert flat["tags"].tolist()[0] == '["a", "b"]'  # a list of values becomes JSON text


def test_segment_and_amplitude_objects_become_dotted_columns() -> None:
    frame = pd.DataFrame({
        "event": ["Order Completed"],
        "properties": [{"revenue": 45.5, "products": [{"product_id": "P1"},
                                                      {"product_id": "P2"}]}],
        "context": [{"page": {"path": "/checkout"}, "traits": {"premium": True}}],
    })
    flat, _ = flatten_events(frame)
    assert flat.loc[0].to_dict() == {
        "event": "Order Completed", "properties.revenue": 45.5,
        "properties.products.count": 2, "properties.products.first_product_id": "P1",
        "context.page.path": "/checkout", "context.traits.premium": True,
    }


def test_flat_frame_is_returned_as_it_is() -> None:
    frame = pd.DataFrame({"user_id": ["u1"], "n": [1]})
    flat, notes = flatten_events(frame)
    assert flat is frame and notes == []
