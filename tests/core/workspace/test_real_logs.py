"""The default path, load -> features -> sweep -> fit -> personas, on logs shaped like
real exports: grocery line items, a purchase log with YYYYMMDD dates, a rating log with
float epoch times. The features are checked against a computation written here in
pandas, and the persona names against the numbers on their cards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.mapping import guess_mapping
from core.features.table import informative
from core.model.fitting import preprocess_config
from core.segment.clustering import ClusterConfig
from core.workspace import actions, personas
from core.workspace.store import Workspace

DAY = pd.Timedelta(days=1)


def grocery(households: int = 240, seed: int = 1) -> pd.DataFrame:
    """Line items of baskets: weekly shoppers with big baskets, frequent top-up shoppers,
    and households that stopped coming two months before the end."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2024-06-30 20:00")
    rows = []
    for h in range(households):
        kind = h % 3
        visits = {0: 12, 1: 30, 2: 4}[kind] + int(rng.integers(0, 4))
        span = 60 if kind == 2 else 170
        last = end - (pd.Timedelta(days=int(rng.integers(60, 90))) if kind == 2 else
                      pd.Timedelta(days=int(rng.integers(0, 5))))
        for v in range(visits):
            ts = last - pd.Timedelta(days=float(rng.uniform(0, span))) if v else last
            ts = ts.floor("min")
            items = int(rng.integers(15, 30)) if kind == 0 else int(rng.integers(2, 6))
            for p in rng.choice(3000, size=items, replace=False):
                rows.append((f"{1000 + h}", f"B{h}-{v}", f"P{p}", int(rng.integers(1, 3)),
                             round(float(rng.uniform(0.5, 12)), 2), ts.isoformat()))
    return pd.DataFrame(rows, columns=["household_id", "basket_id", "product_id", "quantity",
                                       "sales_value", "transaction_timestamp"])


def purchases_yyyymmdd(customers: int = 300, seed: int = 2) -> pd.DataFrame:
    """A music shop's purchase log: customer, date as YYYYMMDD, CDs bought, dollars."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("1997-01-01")
    rows = []
    for c in range(customers):
        n = 1 if c % 3 == 0 else int(rng.integers(3, 12))
        first = int(rng.integers(0, 90))
        for _ in range(n):
            day = start + pd.Timedelta(days=first + int(rng.integers(0, 540 - first)))
            cds = int(rng.integers(1, 4))
            rows.append((c + 1, int(day.strftime("%Y%m%d")), cds,
                         round(cds * float(rng.uniform(9, 16)), 2)))
    return pd.DataFrame(rows, columns=["customer_id", "date", "quantity", "dollar_value"])


def ratings(users: int = 200, seed: int = 3) -> pd.DataFrame:
    """Film ratings with float epoch seconds, many saved in the same second."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        start = 1_000_000_000.0 + float(rng.uniform(0, 2e7))
        heavy = u % 2 == 0
        n = int(rng.integers(40, 120)) if heavy else int(rng.integers(5, 20))
        for i, movie in enumerate(rng.choice(4000, size=n, replace=False)):
            sitting = i // 10  # ten ratings per sitting, in the same second
            stamp = start + sitting * float(rng.uniform(3600, 30 * 86400)) * (1 if heavy else 4)
            rows.append((u + 1, int(movie), float(rng.integers(1, 6)), float(int(stamp))))
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])


def default_path(ws: Workspace, raw: pd.DataFrame, name: str) -> None:
    """What an analyst does with no settings changed."""
    actions.load_events_into(ws, raw, name, guess_mapping(raw.columns, raw))
    features = ws.features
    chosen = ws.feature_info.selected
    assert chosen and all(informative(features[c]) for c in chosen), chosen
    table_config = preprocess_config(_table(ws), chosen)
    sweep = actions.sweep_into(ws, table_config, list(range(2, 7)))
    actions.cluster_into(ws, table_config, ClusterConfig(k=sweep.suggested_k))
    personas.refresh_personas(ws)


def _table(ws):
    from core.features.table import FeatureTable

    return FeatureTable(ws.features, ws.feature_info.definitions)


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return Workspace()


def test_grocery_line_items(ws):
    raw = grocery()
    default_path(ws, raw, "transactions.csv")
    report = ws.data.report
    assert report.rows_kept == len(raw) and report.rows_dropped == 0
    assert report.debounce_seconds == 0 and report.constant_event == "purchase"
    f = ws.features
    truth = raw.assign(ts=pd.to_datetime(raw["transaction_timestamp"], utc=True))
    by = truth.groupby("household_id")
    expected = pd.DataFrame({
        "events": by.size(), "orders": by["basket_id"].nunique(),
        "revenue": by["sales_value"].sum(), "units": by["quantity"].sum()})
    expected["average_order_value"] = expected["revenue"] / expected["orders"]
    expected["days_since_last_event"] = (truth["ts"].max() - by["ts"].max()) / DAY
    got = f.loc[expected.index, expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False,
                                  rtol=1e-9)
    assert "orders" in ws.feature_info.selected and "purchases" not in ws.feature_info.selected
    _names_match_numbers(ws)


def test_purchase_log_with_compact_dates(ws):
    raw = purchases_yyyymmdd()
    default_path(ws, raw, "cdnow.txt")
    report = ws.data.report
    assert report.first_ts.startswith("1997-01") and report.last_ts.startswith("1998")
    assert "compact dates" in report.timestamp_format
    assert report.debounce_seconds == 0 and "whole day" in report.debounce_reason
    assert report.rows_kept == len(raw) - report.dropped["exact_duplicate"]
    f = ws.features
    truth = raw.drop_duplicates()
    by = truth.assign(day=pd.to_datetime(truth["date"].astype(str))).groupby(
        truth["customer_id"].astype(str))
    pd.testing.assert_series_equal(f.loc[by.size().index, "revenue"],
                                   by["dollar_value"].sum(), check_names=False)
    pd.testing.assert_series_equal(f.loc[by.size().index, "active_days"],
                                   by["day"].nunique(), check_names=False, check_dtype=False)
    # Dates only: no time of day, so time-of-day features are not chosen.
    assert "night_share" not in ws.feature_info.selected
    assert "mean_session_duration_s" not in ws.feature_info.selected
    _names_match_numbers(ws)


def test_rating_log_with_float_epoch_seconds(ws):
    raw = ratings()
    default_path(ws, raw, "ratings.csv")
    report = ws.data.report
    assert report.rows_kept == len(raw) and report.debounce_seconds == 0
    assert report.first_ts.startswith("2001") or report.first_ts.startswith("2002")
    f = ws.features
    by = raw.groupby(raw["userId"].astype(str))
    pd.testing.assert_series_equal(f.loc[by.size().index, "events"], by.size(),
                                   check_names=False, check_dtype=False)
    _names_match_numbers(ws)


def _names_match_numbers(ws: Workspace) -> None:
    """A "Dormant" persona is the most lapsed cluster; "New visitors" and "Frequent
    visitors" are not lapsed; no card names an event type of a log with one event type,
    nor coupons in data without them."""
    state = ws.personas
    lapsed = ws.features["days_since_last_event"].groupby(ws.clusters["cluster"]).median()
    overall = ws.features["days_since_last_event"]
    spread = overall.std()
    for label, name in state.names.items():
        if name.startswith("Dormant"):
            assert label == lapsed.idxmax(), (name, lapsed.to_dict())
        if name.startswith(("New visitors", "Frequent visitors")):
            mean = overall[ws.clusters["cluster"] == label].mean()
            assert (mean - overall.mean()) / spread <= 0.5, (name, lapsed.to_dict())
        assert "coupon" not in state.personas[label].get("description", "").lower()
        card = state.personas[label]
        if ws.data.report.constant_event:
            assert "event " not in card.get("preferred_content", "")


def impressions(contexts: int = 300, seed: int = 4) -> pd.DataFrame:
    """An ad-impression log of two recommendation policies: a row per impression with
    position, item, click and the policy that served it; users are anonymous contexts."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2019-11-24 00:00:00", tz="UTC")
    rows = []
    for c in range(contexts):
        policy = "bts" if c % 2 else "random"
        visits = int(rng.integers(2, 10))
        for _ in range(visits):
            ts = start + pd.Timedelta(minutes=float(rng.uniform(0, 7 * 1440)))
            for position in (1, 2, 3):
                clicked = int(rng.random() < (0.08 if policy == "bts" else 0.03) / position)
                rows.append((ts.isoformat(), f"ctx{c}", int(rng.integers(0, 80)), position,
                             clicked, policy, round(float(rng.uniform(0.01, 0.5)), 4)))
    return pd.DataFrame(rows, columns=["timestamp", "user_id", "item_id", "position", "click",
                                       "policy", "propensity_score"])


def test_impression_log_of_two_policies(ws):
    raw = impressions()
    mapping = guess_mapping(raw.columns, raw)
    assert mapping.get("event") is None  # click and policy are not event names
    default_path(ws, raw, "open_bandit.csv")
    report = ws.data.report
    # Three positions share each impression's instant: not double fires.
    assert report.rows_kept == len(raw) and report.debounce_seconds == 0
    by = raw.groupby("user_id")
    pd.testing.assert_series_equal(ws.features.loc[by.size().index, "events"], by.size(),
                                   check_names=False, check_dtype=False)
    assert "click" in ws.events.columns and "policy" in ws.events.columns  # kept as properties
    _names_match_numbers(ws)


def test_purchase_only_log_has_no_funnel_warnings(ws):
    """A log of purchases alone cannot have product views or checkouts: one line of
    information says so, instead of three warnings asking to mark events it lacks."""
    raw = grocery(households=30)
    actions.load_events_into(ws, raw, "grocery.csv", guess_mapping(raw.columns, raw))
    notices = ws.feature_info.notices
    codes = [n.code for n in notices]
    assert "no_funnel_events" in codes
    assert not any(c.startswith("no_") and c.endswith("_event") for c in codes)
    funnel = next(n for n in notices if n.code == "no_funnel_events")
    assert funnel.level == "info" and "one event type (purchase)" in funnel.message
