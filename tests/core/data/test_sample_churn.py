"""Tests of the churn planted in the sample shop (core/data/sample/churn.py).

The expected values are the behaviours planted in the generator: who churns (by persona
and cart friction), that churners leave no event on or after their churn day, that
their visits fade first, that everyone else is untouched, and that churn after a cutoff
can be predicted from the log before it clearly better than from recency alone. They
are checked on the generated data with plain pandas and scikit-learn, against the same
sample drawn without the churn stage where a comparison is needed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import core.data.sample.generator as generator
from core.data.cleaning import clean_events
from core.data.mapping import guess_event_roles, guess_mapping
from core.data.sample import BOT, PERSONAS, SampleData, generate_sample
from core.data.sample.churn import no_churn
from core.features.table import FeatureConfig, user_features

N_USERS = 3000
DAYS = 90
SEED = 0
END = pd.Timestamp("2026-06-30 23:59:59", tz="UTC")  # the sample's default end
DAY = pd.Timedelta(days=1)
SESSION_GAP = pd.Timedelta(minutes=30)  # the app's sessionization gap
REGULAR = ("loyal_high_value", "bargain_hunter", "cart_abandoner", "content_explorer")
HORIZON = pd.Timedelta(days=14)
#: Required lead of the propensity models over recency alone, in ROC-AUC on the later
#: cutoff (measured: see test_models_predict_churn_clearly_better_than_recency).
MIN_AUC_LEAD = 0.025


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return generate_sample(n_users=N_USERS, days=DAYS, seed=SEED)


@pytest.fixture(scope="module")
def plain() -> SampleData:
    """The same sample without the churn stage (nobody churns)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(generator, "draw_churn", lambda users, ev, tl, rng: no_churn(users, ev))
        return generate_sample(n_users=N_USERS, days=DAYS, seed=SEED)


@pytest.fixture(scope="module")
def truth(sample: SampleData) -> pd.DataFrame:
    return sample.personas.set_index("user_id")


@pytest.fixture(scope="module")
def churners(truth: pd.DataFrame) -> pd.Index:
    return truth.index[truth["churn_day"].notna()]


def _sessions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session (30-minute gap): user, start, number of events."""
    gap = events.groupby("user_id")["ts"].diff()
    session = (gap.isna() | (gap > SESSION_GAP)).cumsum()
    grouped = events.groupby(session)
    return pd.DataFrame({"user_id": grouped["user_id"].first(), "start": grouped["ts"].min(),
                         "events": grouped.size()})


def _with_churn_day(frame: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(churn_day=frame["user_id"].map(truth["churn_day"]))


# --- ground truth -------------------------------------------------------------------


def test_churn_day_is_ground_truth_outside_the_event_log(sample, truth) -> None:
    assert list(sample.personas.columns) == ["user_id", "persona", "churn_day"]
    assert str(sample.personas["churn_day"].dtype) == "datetime64[ns, UTC]"
    assert "churn_day" not in sample.events.columns
    days = truth["churn_day"].dropna()
    assert len(days) > 0.1 * N_USERS
    # Midnights in the last four weeks of the period, more of them towards the end.
    assert (days == days.dt.normalize()).all()
    assert days.min() >= END.normalize() - pd.Timedelta(days=28)
    assert days.max() <= END.normalize()
    assert (days >= END - pd.Timedelta(days=14)).mean() > 0.6
    # Only the regular personas churn.
    assert set(truth.loc[days.index, "persona"]) <= set(REGULAR)


def test_planted_churn_is_recorded_per_persona(sample) -> None:
    planted = sample.planted_churn
    assert set(planted) == set(PERSONAS)
    assert planted["new_visitor"] == planted["dormant"] == 0
    assert planted["loyal_high_value"] == min(planted[p] for p in REGULAR) > 0
    assert planted["content_explorer"] > planted["loyal_high_value"]
    assert planted["bargain_hunter"] > planted["loyal_high_value"]


def test_churn_share_differs_by_persona_as_planted(sample, truth) -> None:
    share = truth["churn_day"].notna().groupby(truth["persona"]).mean()
    assert share[BOT] == share["new_visitor"] == share["dormant"] == 0
    planted = sample.planted_churn
    n = truth["persona"].value_counts()
    # Deal hunters and casual browsers churn far more than loyal customers.
    for persona in ("bargain_hunter", "content_explorer"):
        assert share[persona] > 3 * share["loyal_high_value"], share
    # The observed shares are ordered as the planted probabilities, within sampling
    # error, and not below them (cart friction only adds churners).
    for a in REGULAR:
        for b in REGULAR:
            if planted[a] > planted[b]:
                se = np.sqrt(share[a] * (1 - share[a]) / n[a] + share[b] * (1 - share[b]) / n[b])
                assert share[a] - share[b] > -2 * se, (a, b, share)
    for persona in REGULAR:
        se = np.sqrt(planted[persona] * (1 - planted[persona]) / n[persona])
        assert share[persona] > planted[persona] - 3 * se, (persona, share[persona])


def test_users_who_abandon_more_carts_churn_more(sample, truth) -> None:
    # Cart abandonment in the first five weeks, before anyone's visits start to fade
    # (the earliest churn day is four weeks before the end, fading starts four weeks
    # before that): the share of a user's sessions with a cart add and no purchase.
    early = sample.events[sample.events["ts"] < END - pd.Timedelta(days=56)]
    gap = early.groupby("user_id")["ts"].diff()
    per_session = early.assign(
        session=(gap.isna() | (gap > SESSION_GAP)).cumsum(),
        cart=early["event"] == "add_to_cart",
        bought=early["event"] == "purchase",
    ).groupby("session").agg(user_id=("user_id", "first"), cart=("cart", "any"),
                             bought=("bought", "any"))
    abandoned = (per_session["cart"] & ~per_session["bought"]).groupby(
        per_session["user_id"]).mean()
    users = truth.loc[truth["persona"].isin(REGULAR)].join(abandoned.rename("abandoned"),
                                                           how="inner")
    users["churned"] = users["churn_day"].notna()
    # Within each persona, churners abandoned a larger share of their sessions' carts.
    means = users.groupby(["persona", "churned"])["abandoned"].mean().unstack()
    assert (means[True] > means[False]).all(), means
    # Pooled over personas (standardised within each), the difference is clear.
    z = users.groupby("persona")["abandoned"].transform(lambda a: (a - a.mean()) / a.std())
    diff = z[users["churned"]].mean() - z[~users["churned"]].mean()
    se = np.sqrt(z[users["churned"]].var() / users["churned"].sum()
                 + z[~users["churned"]].var() / (~users["churned"]).sum())
    assert diff > 4 * se, (diff, se)


# --- what churners do -------------------------------------------------------------------


def test_churners_have_no_event_on_or_after_their_churn_day(sample, truth, churners) -> None:
    events = _with_churn_day(sample.events, truth)
    of_churners = events[events["churn_day"].notna()]
    assert of_churners["user_id"].nunique() == len(churners)  # every churner has events
    assert (of_churners["ts"] < of_churners["churn_day"]).all()
    # Everyone keeps at least one event.
    assert set(sample.events["user_id"]) == set(truth.index)


def test_churners_visit_less_in_the_three_weeks_before_they_leave(sample, plain, truth) -> None:
    def rates(data: SampleData) -> tuple[float, float]:
        s = _with_churn_day(_sessions(data.events), truth).dropna(subset=["churn_day"])
        days_left = (s["churn_day"] - s["start"]) / DAY
        last_three_weeks = (days_left < 21).sum() / 21
        four_weeks_before = ((days_left >= 21) & (days_left < 49)).sum() / 28
        return last_three_weeks, four_weeks_before

    late, earlier = rates(sample)
    assert late < 0.8 * earlier, (late, earlier)
    # Without the churn stage, the same users in the same days visit as often as before.
    late_plain, earlier_plain = rates(plain)
    assert late_plain > 0.9 * earlier_plain, (late_plain, earlier_plain)
    assert late < 0.8 * late_plain


def test_churners_visits_get_shallower_before_they_leave(sample, truth) -> None:
    s = _with_churn_day(_sessions(sample.events), truth).dropna(subset=["churn_day"])
    days_left = (s["churn_day"] - s["start"]) / DAY
    one_page = s["events"] == 1
    assert one_page[days_left < 28].mean() > 0.7
    assert one_page[days_left >= 28].mean() < 0.25


def test_users_who_stay_keep_exactly_their_events(sample, plain, churners) -> None:
    stay_now = sample.events[~sample.events["user_id"].isin(churners)]
    stay_plain = plain.events[~plain.events["user_id"].isin(churners)]
    pd.testing.assert_frame_equal(stay_now.reset_index(drop=True),
                                  stay_plain.reset_index(drop=True))
    pd.testing.assert_frame_equal(sample.experiment, plain.experiment)
    pd.testing.assert_series_equal(sample.personas["persona"], plain.personas["persona"])
    assert plain.personas["churn_day"].isna().all()


def test_churners_only_lose_events(sample, plain, churners) -> None:
    # Each churner's events are some of the events they have without the churn stage
    # (whole sessions or session tails taken away, nothing added or moved).
    def keyed(events: pd.DataFrame) -> pd.DataFrame:
        rows = events[events["user_id"].isin(churners)][["user_id", "ts", "event", "page"]]
        return rows.assign(copy=rows.groupby(["user_id", "ts", "event", "page"]).cumcount())

    now, before = keyed(sample.events), keyed(plain.events)
    joined = now.merge(before, how="left", indicator=True)
    assert (joined["_merge"] == "both").all()
    assert len(now) < 0.9 * len(before)


# --- predicting churn -------------------------------------------------------------------


def _churn_dataset(events: pd.DataFrame, roles: dict, cutoff: pd.Timestamp
                   ) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric features from the events before the cutoff, and the churn label: no
    event in [cutoff, cutoff + 14 days), for every user with an event before it."""
    before = events[events["ts"] < cutoff]
    after = events[(events["ts"] >= cutoff) & (events["ts"] < cutoff + HORIZON)]
    table = user_features(before, FeatureConfig(event_roles=roles, trend_window_days=14))
    features = table.frame.select_dtypes("number")
    churned = ~features.index.isin(after["user_id"].unique())
    return features, pd.Series(churned.astype(int), index=features.index)


def _paired_bootstrap_low(y: np.ndarray, better: np.ndarray, base: np.ndarray) -> float:
    """2.5th percentile of AUC(better) - AUC(base) over bootstrap resamples of users."""
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(200):
        i = rng.integers(0, len(y), len(y))
        diffs.append(roc_auc_score(y[i], better[i]) - roc_auc_score(y[i], base[i]))
    return float(np.quantile(diffs, 0.025))


def test_models_predict_churn_clearly_better_than_recency(sample) -> None:
    # The app's pipeline: clean (which sessionizes), features only from the events
    # before each cutoff. Train at end - 28 days, test at end - 14 days; a label looks
    # at the 14 days after its cutoff.
    # Measured at 3,000 users, seed 0 (recency / logistic / gradient boosting ROC-AUC):
    # 0.823 / 0.858 / 0.857 on the test cutoff; seeds 1-5 give leads of 0.03-0.06.
    # Most of what no model gets is chance: regular users who visit about once a week
    # and happen not to come in the 14 days, which no churn signal can foresee.
    events = clean_events(sample.events, guess_mapping(sample.events.columns)).events
    roles = guess_event_roles(events["event"].unique())
    x_train, y_train = _churn_dataset(events, roles, END - 2 * HORIZON)
    x_test, y_test = _churn_dataset(events, roles, END - HORIZON)
    x_test = x_test.reindex(columns=x_train.columns)
    assert 0.2 < y_train.mean() < 0.8 and 0.2 < y_test.mean() < 0.8
    recency = ["days_since_last_event"]

    # One thread: these fits are small, and a shared machine's cores are busy.
    with threadpool_limits(1):
        baseline = make_pipeline(StandardScaler(), LogisticRegression())
        baseline.fit(x_train[recency], y_train)
        logistic = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                 LogisticRegression(C=0.1, max_iter=2000))
        logistic.fit(x_train, y_train)
        boosting = HistGradientBoostingClassifier(
            learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, random_state=0)
        boosting.fit(x_train, y_train)
    y = y_test.to_numpy()
    scores = {
        "recency": baseline.predict_proba(x_test[recency])[:, 1],
        "logistic": logistic.predict_proba(x_test)[:, 1],
        "boosting": boosting.predict_proba(x_test)[:, 1],
    }
    auc = {name: roc_auc_score(y, score) for name, score in scores.items()}
    assert auc["recency"] > 0.7, auc  # recency alone is a real baseline
    for name in ("logistic", "boosting"):
        assert auc[name] >= auc["recency"] + MIN_AUC_LEAD, auc
        low = _paired_bootstrap_low(y, scores[name], scores["recency"])
        assert low > 0, (name, low, auc)
