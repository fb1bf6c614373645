"""Real exports, from bytes to columns and the guessed mapping (readers + mapping +
flatten), and through the command line.

Every fixture is built here in the layout its source documents: MovieLens 100K ``u.data``
and 1M ``ratings.dat`` (GroupLens README), RecBole atomic ``.inter`` files (RecBole docs),
dunnhumby "The Complete Journey" transactions, the GA4 BigQuery export schema (INT64 as
JSON strings in BigQuery's JSON export), Mixpanel's raw export, Amplitude's export API
and the Open Bandit Dataset's impression log. Expected values are worked out by hand.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.cli.main import main
from core.common.errors import DataError
from core.data.cleaning import clean_events
from core.data.mapping import guess_mapping
from core.data.readers import read_bytes


def _guess(data: bytes, name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    table = read_bytes(data, name)
    return table.frame, guess_mapping(table.frame.columns, table.frame).mapped()


# --- rating logs -----------------------------------------------------------------------

MOVIELENS_SPACES = (
    b"user_id  item_id  rating  timestamp\n"
    b"196      242      3       881250949\n"
    b"186      302      3       891717742\n"
    b"22       377      1       878887116\n"
)
RECBOLE_INTER = (
    b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    b"196\t242\t3\t881250949\n"
    b"186\t302\t3\t891717742\n"
    b"22\t377\t1\t878887116\n"
)


def test_movielens_whitespace_file() -> None:
    table = read_bytes(MOVIELENS_SPACES, "ratings.txt")
    assert table.delimiter == "whitespace"
    assert table.frame.to_dict("list") == {
        "user_id": ["196", "186", "22"], "item_id": ["242", "302", "377"],
        "rating": ["3", "3", "1"], "timestamp": ["881250949", "891717742", "878887116"]}
    assert guess_mapping(table.frame.columns, table.frame).mapped() == {
        "user_id": "user_id", "ts": "timestamp", "product_id": "item_id"}


def test_movielens_1m_double_colon_file_without_header() -> None:
    data = b"1::1193::5::978300760\n1::661::3::978302109\n1::914::3::978301968\n"
    table = read_bytes(data, "ratings.dat")
    assert table.delimiter == "::"
    assert table.frame["column_2"].tolist() == ["1193", "661", "914"]
    assert any("only numbers" in n for n in table.notes)


def test_recbole_inter_file_with_typed_headers() -> None:
    frame, mapping = _guess(RECBOLE_INTER, "ml-100k.inter")
    assert list(frame.columns) == ["user_id:token", "item_id:token", "rating:float",
                                   "timestamp:float"]
    assert frame["item_id:token"].tolist() == ["242", "302", "377"]
    assert mapping == {"user_id": "user_id:token", "ts": "timestamp:float",
                       "product_id": "item_id:token"}


def test_rating_log_loads_with_epoch_seconds() -> None:
    frame = read_bytes(RECBOLE_INTER, "ml-100k.inter").frame
    result = clean_events(frame, guess_mapping(frame.columns, frame))
    assert result.report.rows_kept == 3
    first = result.events.loc[result.events["user_id"] == "196", "ts"].iloc[0]
    assert first == pd.Timestamp("1997-12-04 15:55:49", tz="UTC")  # 881250949 s


# --- transaction logs ------------------------------------------------------------------

GROCERY = (
    b"household_id,store_id,basket_id,product_id,quantity,sales_value,retail_disc,"
    b"coupon_disc,coupon_match_disc,week,transaction_timestamp\n"
    b"900,330,31198570044,1095275,1,0.50,0.00,0,0,1,2017-01-01 11:53:26\n"
    b"900,330,31198570044,9878513,1,0.99,0.10,0,0,1,2017-01-01 11:53:26\n"
    b"900,330,31198570044,1041453,2,2.58,0.00,0,0,1,2017-01-01 11:53:26\n"
    b"1228,406,31198655051,1020156,1,1.50,0.29,0,0,1,2017-01-01 12:10:28\n"
    b"1228,406,31198655051,1053875,2,2.78,0.40,0,0,1,2017-01-01 12:10:28\n"
    b"900,330,31198676055,1095275,1,0.50,0.00,0,0,1,2017-01-03 18:02:10\n"
)


def test_gzipped_grocery_line_items() -> None:
    frame, mapping = _guess(gzip.compress(GROCERY), "transactions.csv.gz")
    assert frame.shape == (6, 11)
    assert frame["basket_id"].tolist()[:3] == ["31198570044"] * 3
    assert mapping == {"user_id": "household_id", "ts": "transaction_timestamp",
                       "revenue": "sales_value", "product_id": "product_id",
                       "order_id": "basket_id", "quantity": "quantity"}
    # Items of one basket share its second; none is a double fire.
    result = clean_events(frame, guess_mapping(frame.columns, frame))
    assert result.report.rows_kept == 6
    assert result.events["revenue"].sum() == pytest.approx(8.85)
    assert result.events.groupby("user_id")["order_id"].nunique().to_dict() == {
        "900": 2, "1228": 1}


# --- GA4 BigQuery export ---------------------------------------------------------------


def _param(key: str, **value: object) -> dict:
    typed = {"string_value": None, "int_value": None, "float_value": None,
             "double_value": None}
    return {"key": key, "value": {**typed, **value}}


SESSION = "1709294400"
GA4_ROWS = [
    {"event_date": "20240301", "event_timestamp": "1709294400000000",
     "event_name": "page_view", "user_id": None, "user_pseudo_id": "111.222",
     "event_params": [_param("ga_session_id", int_value=SESSION),
                      _param("page_location", string_value="https://shop.example/"),
                      _param("engagement_time_msec", int_value="1200")],
     "user_ltv": {"revenue": 90.0, "currency": "EUR"},
     "device": {"category": "desktop", "web_info": {"browser": "Chrome"}},
     "ecommerce": None, "items": []},
    {"event_date": "20240301", "event_timestamp": "1709294460000000",
     "event_name": "add_to_cart", "user_id": None, "user_pseudo_id": "111.222",
     "event_params": [_param("ga_session_id", int_value=SESSION),
                      _param("value", double_value=30.0),
                      _param("currency", string_value="EUR")],
     "user_ltv": {"revenue": 90.0, "currency": "EUR"},
     "device": {"category": "desktop", "web_info": {"browser": "Chrome"}},
     "ecommerce": None, "items": [{"item_id": "SKU1", "price": 30.0, "quantity": "1"}]},
    {"event_date": "20240301", "event_timestamp": "1709294520000000",
     "event_name": "purchase", "user_id": "u-9", "user_pseudo_id": "111.222",
     "event_params": [_param("ga_session_id", int_value=SESSION),
                      _param("value", double_value=45.5),
                      _param("transaction_id", string_value="T1")],
     "user_ltv": {"revenue": 135.5, "currency": "EUR"},
     "device": {"category": "desktop", "web_info": {"browser": "Chrome"}},
     "ecommerce": {"purchase_revenue": 45.5, "transaction_id": "T1",
                   "total_item_quantity": "2"},
     "items": [{"item_id": "SKU1", "price": 30.0, "quantity": "1"},
               {"item_id": "SKU2", "price": 15.5, "quantity": "1"}]},
    # The same cookie's next session: its ga_session_id is the session start in seconds.
    {"event_date": "20240302", "event_timestamp": "1709380800000000",
     "event_name": "page_view", "user_id": None, "user_pseudo_id": "111.222",
     "event_params": [_param("ga_session_id", int_value="1709380800"),
                      _param("page_location", string_value="https://shop.example/a")],
     "user_ltv": {"revenue": 135.5, "currency": "EUR"},
     "device": {"category": "mobile", "web_info": {"browser": "Safari"}},
     "ecommerce": None, "items": []},
]
GA4_MAPPING = {
    "user_id": "user_pseudo_id", "ts": "event_timestamp", "event": "event_name",
    "session_id": "param.ga_session_id", "revenue": "ecommerce.purchase_revenue",
    "page": "param.page_location", "order_id": "ecommerce.transaction_id",
    "quantity": "ecommerce.total_item_quantity", "duration_s": "param.engagement_time_msec",
}
GA4_JSON = "\n".join(json.dumps(row) for row in GA4_ROWS).encode()


@pytest.mark.parametrize(("data", "name"), [(GA4_JSON, "events_20240301.json"),
                                            (gzip.compress(GA4_JSON), "ga4.jsonl.gz")])
def test_ga4_json_export_flattened_and_guessed(data: bytes, name: str) -> None:
    frame, mapping = _guess(data, name)
    assert mapping == GA4_MAPPING
    assert frame["param.ga_session_id"].tolist() == [1709294400] * 3 + [1709380800]
    assert frame["param.engagement_time_msec"].tolist()[0] == 1200  # still milliseconds
    assert frame["items.count"].tolist() == [0, 1, 2, 0]
    assert frame["items.first_item_id"].tolist()[1:3] == ["SKU1", "SKU1"]
    assert frame["user_ltv.revenue"].tolist()[2] == 135.5  # kept, but not the revenue
    assert "event_params" not in frame.columns and "items" not in frame.columns


def test_ga4_revenue_counts_purchases_only() -> None:
    frame = read_bytes(GA4_JSON, "ga4.jsonl").frame
    result = clean_events(frame, guess_mapping(frame.columns, frame))
    # 45.5 from the purchase; the cart's param.value (30) is not revenue.
    assert result.events["revenue"].sum() == 45.5
    assert result.report.sessions == 2
    assert result.events["ts"].iloc[0] == pd.Timestamp("2024-03-01 12:00:00", tz="UTC")


def _ga4_parquet() -> bytes:
    """GA4_ROWS with the BigQuery export's nested Arrow types."""
    value = pa.struct([("string_value", pa.string()), ("int_value", pa.int64()),
                       ("float_value", pa.float64()), ("double_value", pa.float64())])
    schema = pa.schema([
        ("event_date", pa.string()), ("event_timestamp", pa.int64()),
        ("event_name", pa.string()), ("user_id", pa.string()),
        ("user_pseudo_id", pa.string()),
        ("event_params", pa.list_(pa.struct([("key", pa.string()), ("value", value)]))),
        ("user_ltv", pa.struct([("revenue", pa.float64()), ("currency", pa.string())])),
        ("device", pa.struct([("category", pa.string()),
                              ("web_info", pa.struct([("browser", pa.string())]))])),
        ("ecommerce", pa.struct([("purchase_revenue", pa.float64()),
                                 ("transaction_id", pa.string()),
                                 ("total_item_quantity", pa.int64())])),
        ("items", pa.list_(pa.struct([("item_id", pa.string()), ("price", pa.float64()),
                                      ("quantity", pa.int64())]))),
    ])
    # BigQuery's Parquet export has real integers where its JSON export has strings.
    rows = json.loads(json.dumps(GA4_ROWS), object_hook=_ints)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer)
    return buffer.getvalue()


def test_ga4_parquet_export_flattened_and_guessed() -> None:
    frame, mapping = _guess(_ga4_parquet(), "ga4.parquet")
    assert mapping == GA4_MAPPING
    assert frame["param.ga_session_id"].dtype == "Int64"
    assert frame["param.ga_session_id"].tolist() == [1709294400] * 3 + [1709380800]
    assert frame["ecommerce.purchase_revenue"].tolist()[2] == 45.5
    assert frame["items.count"].tolist() == [0, 1, 2, 0]


def _ints(record: dict) -> dict:
    names = ("int_value", "event_timestamp", "total_item_quantity", "quantity")
    return {k: int(v) if k in names and isinstance(v, str) else v for k, v in record.items()}


# --- product analytics exports ---------------------------------------------------------


def test_mixpanel_export_with_nested_properties() -> None:
    rows = [
        {"event": "Product Viewed", "properties": {
            "time": 1709294400, "distinct_id": "u1", "$insert_id": "a1",
            "$current_url": "https://shop.example/p/1", "$device_id": "d1",
            "mp_country_code": "DE"}},
        {"event": "Order Completed", "properties": {
            "time": 1709298000, "distinct_id": "u1", "$insert_id": "a2",
            "$current_url": "https://shop.example/checkout", "$device_id": "d1",
            "revenue": 45.5, "mp_country_code": "DE"}},
    ]
    frame, mapping = _guess("\n".join(json.dumps(r) for r in rows).encode(), "export.txt")
    assert list(frame.columns) == [
        "event", "properties.time", "properties.distinct_id", "properties.$insert_id",
        "properties.$current_url", "properties.$device_id", "properties.mp_country_code",
        "properties.revenue"]
    assert mapping == {"user_id": "properties.distinct_id", "ts": "properties.time",
                       "event": "event", "revenue": "properties.revenue",
                       "page": "properties.$current_url"}


def test_amplitude_export_takes_event_revenue_not_user_revenue() -> None:
    rows = [{"user_id": "u1", "device_id": "d1", "event_type": "purchase",
             "event_time": "2024-01-01 12:00:00.123456", "session_id": 1704110400000,
             "user_properties": {"revenue": 500.0, "plan": "pro"},
             "event_properties": {"revenue": 20.0, "product_id": "P1"}}]
    data = gzip.compress("\n".join(json.dumps(r) for r in rows).encode())
    _, mapping = _guess(data, "amplitude_2024-01-01.json.gz")
    assert mapping["revenue"] == "event_properties.revenue"
    assert mapping["product_id"] == "event_properties.product_id"
    assert mapping["session_id"] == "session_id"


def test_impression_log_has_no_event_name() -> None:
    data = (b"timestamp,item_id,position,click,propensity_score,policy\n"
            b"2019-11-24 00:00:17.628795+00:00,25,1,0,0.0125,random\n"
            b"2019-11-24 00:00:17.628795+00:00,32,2,1,0.0125,random\n")
    frame, mapping = _guess(data, "open_bandit.csv")
    assert frame["click"].tolist() == ["0", "1"]
    assert mapping == {"ts": "timestamp", "product_id": "item_id"}


def test_zip_export_named_csv_is_refused_before_any_delimiter_guess() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("transactions.csv", GROCERY)
        archive.writestr("products.csv", b"product_id,department\n1095275,GROCERY\n")
    with pytest.raises(DataError) as info:
        read_bytes(buffer.getvalue(), "complete_journey.csv")
    message = str(info.value)
    assert message.startswith("'complete_journey.csv' is a zip archive, not CSV text: "
                              "unzip it first")
    assert "transactions.csv, products.csv" in message


# --- command line ----------------------------------------------------------------------


def _events_book(path) -> None:
    events = pd.DataFrame({"user_id": ["a", "a", "b"],
                           "ts": ["2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z",
                                  "2024-01-02T00:00:00Z"],
                           "event": ["view", "view", "purchase"]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"about": ["Exported 2024-01-03"]}).to_excel(
            writer, sheet_name="readme", index=False)
        events.to_excel(writer, sheet_name="events", index=False)


def test_cli_reads_the_chosen_sheet_and_prints_reader_notes(tmp_path, capsys) -> None:
    book, out = tmp_path / "book.xlsx", tmp_path / "features.csv"
    _events_book(book)
    assert main(["features", str(book), "-o", str(out)]) == 3  # readme has no user id
    err = capsys.readouterr().err
    assert "  note: 'book.xlsx' has 2 sheets (readme, events); the first, 'readme'" in err
    assert "No column is mapped to User id" in err
    assert main(["features", str(book), "-o", str(out), "--sheet", "events"]) == 0
    done = capsys.readouterr()
    assert "Read 3 rows" in done.out and "note: 'book.xlsx' has 2 sheets" not in done.err
    assert pd.read_csv(out, index_col="user_id").loc["a", "sessions"] == 2


def test_cli_reads_compressed_text_and_prints_its_notes(tmp_path, capsys) -> None:
    path, out = tmp_path / "transactions.csv.gz", tmp_path / "features.parquet"
    repeated = GROCERY.replace(b"retail_disc", b"week", 1)  # two 'week' columns
    path.write_bytes(gzip.compress(repeated))
    assert main(["features", str(path), "-o", str(out)]) == 0
    done = capsys.readouterr()
    assert "Read 6 rows, kept 6" in done.out
    assert "  note: The file has repeated column names: 'week' (2 times)" in done.err
    assert main(["features", str(path), "-o", str(out), "--delimiter", "tab"]) == 3


def test_cli_flattens_nested_parquet(tmp_path, capsys) -> None:
    # A flat Parquet file is scanned by DuckDB where it lies; a nested one (GA4) is
    # read and flattened first, or its revenue and sessions would be missed.
    path, out = tmp_path / "ga4.parquet", tmp_path / "features.csv"
    path.write_bytes(_ga4_parquet())
    assert main(["features", str(path), "-o", str(out)]) == 0
    done = capsys.readouterr()
    assert "Read 4 rows, kept 4 (1 users, 2 sessions)" in done.out
    assert "  note: Nested fields (event_params, user_ltv, device, ecommerce, items)" \
        in done.err
    features = pd.read_csv(out, index_col="user_id")
    assert features["revenue"].sum() == 45.5
