"""Top-N as served, with reasons: item-item's "users who viewed X also bought Y" worked out
by hand, gaps filled with the persona's popular items, cold starts given them whole;
each persona's popular and distinctive items (lift with both shares); the charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.recommend import (
    build_interactions,
    distinctive_items,
    make,
    popular_items,
    recommend_users,
)
from core.recommend.charts import metrics_chart, persona_chart
from core.recommend.evaluation import evaluate_split
from core.recommend.reasons import phrase_book
from core.recommend.serve import fill_gaps
from tests.core.recommend.conftest import SIM_XY, SIM_ZW, WEIGHTS


@pytest.fixture
def shop(events):
    return build_interactions(events, WEIGHTS)


def test_item_item_reasons_name_the_most_similar_history_item_and_the_verbs(shop, personas):
    model = make("item_item").fit(shop)
    result = recommend_users(model, 2, users=["C", "E", "NEW"], groups=personas,
                             method_key="item_item")
    rows = result.for_user("C")
    # C (viewed y and z): x via y (0.71), w via z (0.5); both of w's users bought it.
    assert rows[["rank", "item", "because_item", "source", "reason_kind"]].to_dict(
        "records") == [
        {"rank": 1, "item": "x", "because_item": "y", "source": "method",
         "reason_kind": "similar_item"},
        {"rank": 2, "item": "w", "because_item": "z", "source": "method",
         "reason_kind": "similar_item"}]
    assert rows["reason"].tolist() == ["Users who viewed y also viewed x.",
                                       "Users who viewed z also bought w."]
    np.testing.assert_allclose(rows["score"], [SIM_XY, SIM_ZW], rtol=1e-6)
    assert (rows["persona"] == "Q").all()


def test_gaps_and_cold_starts_get_the_personas_popular_items(shop, personas):
    model = make("item_item", groups=personas).fit(shop)
    groups = pd.concat([personas, pd.Series({"NEW": "Q"})])
    result = recommend_users(model, 3, users=["E", "NEW", "A"], groups=groups,
                             method_key="item_item")
    # E (Q, viewed y): x and z by similarity; the third slot is Q's most popular unseen
    # item not in the list: w (2 users of Q).
    e = result.for_user("E")
    assert e["item"].tolist() == ["x", "z", "w"]
    assert e["source"].tolist() == ["method", "method", "filled"]
    assert np.isnan(e["score"].iloc[2])
    assert e["reason"].iloc[2] == ("Popular in the persona Q (2 of its users); fills the "
                                   "list where the history suggests no more.")
    # NEW (Q) has no interaction: Q's popular list whole (y, w and z have 2 users of Q
    # each; y has 4 users overall, w and z 2, then by id).
    new = result.for_user("NEW")
    assert new["item"].tolist() == ["y", "w", "z"]
    assert (new["source"] == "cold_start").all()
    assert new["reason"].iloc[0] == "No history yet: popular in the persona Q (2 of its users)."
    assert new["because_item"].isna().all()
    codes = {n.code: n.message for n in result.notices}
    assert codes["cold_start_users"] == ("Users without any interaction yet: 1; they get "
                                         "their persona's popular items.")
    assert "filled with their persona's popular items" in codes["filled_with_popular"]


def test_without_personas_the_fallback_is_popular_with_everyone(shop):
    model = make("popularity").fit(shop)
    result = recommend_users(model, 2, users=["E", "NEW"], method_key="popularity")
    assert result.for_user("NEW")["reason"].tolist() == [
        "No history yet: popular with everyone (4 users).",
        "No history yet: popular with everyone (2 users)."]
    assert result.for_user("E")["reason"].iloc[0] == "Popular with everyone (2 users)."
    assert result.for_user("E")["reason_kind"].iloc[0] == "popular_overall"


def test_verbs_follow_the_workspaces_funnel_roles():
    book = phrase_book(["view_item", "add_item", "rating", "Buy"],
                       {"product_view": ["view_item"], "add_to_cart": ["add_item"]})
    assert book["view_item"] == ("viewed", "")
    assert book["add_item"] == ("added", " to the cart")
    assert book["rating"] == ("rated", "")
    assert book["Buy"] == ('did "Buy" on', "")


def test_fill_gaps_skips_items_already_in_the_list():
    items = np.array([[3, -1, -1], [1, 2, 0]])
    extra = np.array([[3, 5, 6, 7], [4, 4, 4, 4]])
    out, filled = fill_gaps(items, extra)
    assert out.tolist() == [[3, 5, 6], [1, 2, 0]]
    assert filled.tolist() == [[False, True, True], [False, False, False]]


def test_popular_and_distinctive_items_by_hand(shop, personas):
    popular = popular_items(shop, personas, top=2)
    q = popular[popular["group"] == "Q"]
    assert q[["item", "users", "group_users"]].to_dict("records") == [
        {"item": "y", "users": 2, "group_users": 4}, {"item": "w", "users": 2,
                                                      "group_users": 4}]
    # Interactions (events): P has 4 (x 2, y 2), Q 6 (y 2, z 2, w 2), everyone 10
    # (x 2, y 4, z 2, w 2). Lift = share in persona / share overall.
    table = distinctive_items(shop, personas, min_support=2)
    p = table[table["group"] == "P"]
    assert p["item"].tolist() == ["x", "y"]
    np.testing.assert_allclose(p["share_in_group"], [0.5, 0.5])
    np.testing.assert_allclose(p["share_overall"], [0.2, 0.4])
    np.testing.assert_allclose(p["lift"], [2.5, 1.25])
    q = table[table["group"] == "Q"]
    assert q["item"].tolist() == ["w", "z", "y"]  # w and z tie at 5/3: by id
    np.testing.assert_allclose(q["lift"], [(2 / 6) / 0.2, (2 / 6) / 0.2, (2 / 6) / 0.4])
    assert "at least 2 users" in table.attrs["convention"]
    # Minimum support: with 3, no item has enough users of P.
    assert distinctive_items(shop, personas, min_support=3).query("group == 'P'").empty
    with pytest.raises(ConfigError, match="need personas"):
        distinctive_items(shop, None)
    everyone = popular_items(shop, top=1)
    assert everyone.to_dict("records") == [{"group": "All users", "rank": 1, "item": "y",
                                            "users": 4, "group_users": 6,
                                            "share_of_users": 4 / 6}]


def test_charts_show_the_table_and_escape_names(sample_split, sample_shop):
    groups = sample_shop.personas.set_index("user_id")["persona"].replace(
        {"bot": "<b>bots</b>"})
    result = evaluate_split(sample_split, ["popularity", "item_item"], k=5, groups=groups)
    figure = metrics_chart(result)
    overall = result.overall()
    assert [t.name for t in figure.data] == list(overall["label"])
    assert list(figure.data[1].x) == ["Precision@5", "Recall@5", "MAP@5", "NDCG@5"]
    np.testing.assert_allclose(figure.data[1].y, overall.iloc[1][["precision", "recall",
                                                                  "map", "ndcg"]].to_numpy(
        dtype=float))
    by_persona = persona_chart(result, "ndcg")
    assert "&lt;b&gt;bots&lt;/b&gt;" in by_persona.data[0].x
    assert by_persona.data[0].x[0] == "All users"
    table = result.table[result.table["method"] == "item_item"].set_index("group")
    groups_shown = [g.replace("&lt;b&gt;bots&lt;/b&gt;", "<b>bots</b>")
                    for g in by_persona.data[1].x]
    np.testing.assert_allclose(by_persona.data[1].y, table.loc[groups_shown, "ndcg"])
    with pytest.raises(ConfigError, match="Unknown metric"):
        persona_chart(result, "auc")


def test_every_user_of_the_sample_gets_n_items(sample_split, sample_shop):
    train = sample_split.train
    users = pd.Index(sample_shop.events["user_id"].unique())
    result = recommend_users(make("als").fit(train), 10, users=users, method_key="als")
    assert len(result.table) == 10 * len(users)
    assert result.table.groupby("user_id")["item"].nunique().eq(10).all()
    assert set(result.table["source"]) <= {"method", "filled", "cold_start"}
    method_rows = result.table[result.table["source"] == "method"]
    assert method_rows["reason"].str.startswith("Chosen by users with a taste").all()
