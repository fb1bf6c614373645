"""`python -m core recommend`: the same recommendations and evaluation as core on the same
cleaned events, and clear exits for bad input (2 for a bad command line, 3 for data or
settings that cannot be used)."""

from __future__ import annotations

import importlib
import json

import pandas as pd
import pytest

from core.cli import recommend
from core.data.cleaning import clean_events
from core.data.mapping import guess_mapping
from core.data.readers import read_path
from core.recommend import build_interactions, evaluate, make, recommend_users

WEIGHTS = {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
#: The module core.cli.main (``from core.cli import main`` gives its function).
cli_main = importlib.import_module("core.cli.main")


def test_recommend_is_registered():
    assert recommend in cli_main.COMMANDS


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recommend_cli")
    events = folder / "events.parquet"
    assert cli_main.main(["sample", "-o", str(events), "--users", "400", "--days", "45",
                          "--seed", "6"]) == 0
    raw = read_path(events).frame
    cleaned = clean_events(raw, guess_mapping(list(raw.columns))).events
    return {"folder": folder, "events": events, "cleaned": cleaned}


def test_recommendations_equal_core_on_the_cleaned_events(files, capsys):
    out = files["folder"] / "recs.csv"
    code = cli_main.main(["recommend", str(files["events"]), "-o", str(out), "-n", "5",
                          "--method", "item_item"])
    assert code == 0
    captured = capsys.readouterr()
    assert "Weights: product_view=1, add_to_cart=3, purchase=5" in captured.err
    assert f"to {out}" in captured.out
    written = pd.read_csv(out, dtype={"user_id": str, "item": str})
    interactions = build_interactions(files["cleaned"], WEIGHTS)
    expected = recommend_users(make("item_item").fit(interactions), 5,
                               files["cleaned"]["user_id"].astype(str).unique(),
                               method_key="item_item").table
    assert written["user_id"].tolist() == expected["user_id"].tolist()
    assert written["item"].tolist() == expected["item"].tolist()
    assert written["reason"].tolist() == expected["reason"].tolist()
    assert (written["method"] == "item_item").all()


def test_evaluation_equals_core_and_names_its_convention(files, capsys):
    table = files["folder"] / "evaluation.csv"
    code = cli_main.main(["recommend", str(files["events"]), "--evaluate", "--cutoff",
                          "2026-06-10", "-k", "5", "--weights",
                          "product_view=1,add_to_cart=3,purchase=5", "--evaluation-out",
                          str(table), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    expected = evaluate(files["cleaned"], WEIGHTS, k=5, cutoff="2026-06-10")
    assert payload["cutoff"] == "2026-06-10"
    assert payload["users_scored"] == expected.users_scored
    assert payload["convention"] == expected.convention
    got = pd.DataFrame(payload["evaluation"])
    pd.testing.assert_series_equal(got["recall"], expected.table["recall"])
    assert list(pd.read_csv(table)["method"]) == list(expected.table["method"])
    assert "evaluation_convention" in {n["code"] for n in payload["notices"]}


def test_the_text_report_prints_the_metrics(files, capsys):
    assert cli_main.main(["recommend", str(files["events"]), "--evaluate", "--method",
                          "popularity"]) == 0
    out = capsys.readouterr().out
    assert "Recall@10" in out and "NDCG@10" in out and "Popular with everyone" in out
    assert "Time split: each method learns" in out


@pytest.mark.parametrize(("extra", "words"), [
    (["--weights", "purchase"], "must be EVENT=WEIGHT"),
    (["--weights", "purchase=-1"], "must be from 0 to 1000"),
    (["--weights", "purchase=0"], "no event a weight above 0"),
    (["--method", "svd"], "invalid choice: 'svd'"),
    (["-n", "0"], "out of range"),
    (["--evaluate", "--cutoff", "June"], "is not a date"),
    (["--cutoff", "2026-06-01", "-o", "x.csv"], "--cutoff and --evaluation-out need"),
    ([], "give -o FILE to write the recommendations, --evaluate, or both"),
    (["-o", "recs.txt"], "must end in .csv or .parquet"),
])
def test_a_bad_command_line_exits_2_with_the_problem(files, capsys, extra, words):
    assert cli_main.main(["recommend", str(files["events"]), *extra]) == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "words"), [
    (["--evaluate", "--cutoff", "2020-01-01"], "No interaction falls before the cutoff"),
    (["--evaluate", "--item-col", "sku"], "no item column 'sku'"),
    (["--evaluate", "--weights", "rating=1"], "None of the weighted events (rating)"),
    (["--evaluate", "--method", "persona_popularity", "-o", "p.csv"], "needs personas"),
])
def test_data_or_settings_that_cannot_be_used_exit_3(files, capsys, extra, words, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli_main.main(["recommend", str(files["events"]), *extra]) == 3
    assert words in capsys.readouterr().err
