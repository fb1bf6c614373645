"""`python -m core funnel|paths|patterns|retention`: the same numbers as the core views
on the same cleaned events, split by a groups file or a model, and clear exits for bad
input (2 for a bad argument, 3 for data that cannot be used)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli.main import main
from core.data.cleaning import clean_events
from core.data.mapping import guess_mapping
from core.data.readers import read_path
from core.journeys import (
    FunnelSpec,
    Step,
    build_sequences,
    distinguishing_patterns,
    funnel,
    paths,
    retention,
)

STEPS = ("product_view", "add_to_cart", "checkout", "purchase")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("journeys_cli")
    events = folder / "events.parquet"
    assert main(["sample", "-o", str(events), "--users", "400", "--days", "60",
                 "--seed", "4"]) == 0
    segments = folder / "segments.csv"
    model = folder / "model.json"
    assert main(["cluster", str(events), "--algorithm", "kmeans", "--k", "3", "-o",
                 str(segments), "--model-out", str(model)]) == 0
    raw = read_path(events).frame
    cleaned = clean_events(raw, guess_mapping(list(raw.columns))).events
    groups = pd.read_csv(segments, dtype={"user_id": str}).set_index("user_id")["cluster"]
    return {"folder": folder, "events": events, "segments": segments, "model": model,
            "cleaned": cleaned, "groups": groups.astype(str)}


def test_funnel_by_groups_file_equals_the_core_funnel(files, capsys):
    out = files["folder"] / "funnel.csv"
    code = main(["funnel", str(files["events"]), "--steps", ",".join(STEPS), "--groups",
                 str(files["segments"]), "-o", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    expected = funnel(files["cleaned"], FunnelSpec(tuple(Step(s) for s in STEPS)),
                      files["groups"])
    written = pd.read_csv(out)
    assert list(written["users"]) == list(expected.steps["users"])
    assert payload["test"]["p_value"] == pytest.approx(expected.test.p_value)
    assert [row["users"] for row in payload["steps"]] == list(expected.overall["users"])


def test_funnel_by_model_splits_by_persona(files):
    out = files["folder"] / "funnel_model.csv"
    assert main(["funnel", str(files["events"]), "--steps", "product_view,purchase",
                 "--model", str(files["model"]), "-o", str(out)]) == 0
    assert pd.read_csv(out)["group"].nunique() == 3


def test_paths_columns_sum_to_the_start_users(files):
    out = files["folder"] / "paths.csv"
    assert main(["paths", str(files["events"]), "--start", "product_view", "--steps", "3",
                 "-o", str(out)]) == 0
    expected = paths(files["cleaned"], start="product_view", steps=3)
    links = pd.read_csv(out)
    assert len(links) == len(expected.links)
    # Three transitions (start → 1 → 2 → 3), each carrying every start user.
    assert int(links["users"].sum()) == expected.users * 3


def test_patterns_by_group_equal_the_core_table(files):
    out = files["folder"] / "patterns.csv"
    assert main(["patterns", str(files["events"]), "--groups", str(files["segments"]),
                 "--max-length", "3", "-o", str(out)]) == 0
    expected = distinguishing_patterns(build_sequences(files["cleaned"]), files["groups"],
                                       max_length=3)
    written = pd.read_csv(out)
    assert list(written["pattern"]) == list(expected["pattern"])
    assert written["p_adjusted"].to_numpy() == pytest.approx(expected["p_adjusted"])


def test_retention_and_lifecycle(files):
    out = files["folder"] / "retention.csv"
    life = files["folder"] / "lifecycle.csv"
    assert main(["retention", str(files["events"]), "--period", "week", "-o", str(out),
                 "--lifecycle-out", str(life)]) == 0
    expected = retention(files["cleaned"], period="week")
    written = pd.read_csv(out)
    assert list(written["retained"].fillna(-1)) == \
        list(expected.table["retained"].astype("float").fillna(-1))
    assert {"new", "returning", "resurrected", "dormant"} <= set(pd.read_csv(life).columns)


@pytest.mark.parametrize("args", [
    ["--steps", "product_view"],                      # one step
    ["--steps", "a,b,c,d,e,f,g,h,i"],                 # nine steps
    ["--steps", "product_view,purchase", "--window", "7w"],
    ["--steps", "add_to_cart[category],purchase"],    # a filter without a value
])
def test_bad_funnel_arguments_exit_2(files, args, capsys):
    code = main(["funnel", str(files["events"]), "-o", str(files["folder"] / "x.csv"), *args])
    assert code == 2
    assert "error:" in capsys.readouterr().err


def test_data_that_cannot_be_used_exits_3_with_what_to_do(files, capsys):
    code = main(["funnel", str(files["events"]), "--steps", "product_view,nothing", "-o",
                 str(files["folder"] / "x.csv")])
    err = capsys.readouterr().err
    assert code == 3 and "'nothing', which the data does not have" in err
    bad_groups = files["folder"] / "groups.csv"
    pd.DataFrame({"user_id": ["u1"], "colour": ["red"]}).to_csv(bad_groups, index=False)
    code = main(["paths", str(files["events"]), "--start", "product_view", "--groups",
                 str(bad_groups), "-o", str(files["folder"] / "x.csv")])
    err = capsys.readouterr().err
    assert code == 3 and "--group-col" in err and "colour" in err
    code = main(["patterns", str(files["events"]), "--min-support", "0.0001",
                 "--max-length", "8", "--unit", "user", "-o", str(files["folder"] / "x.csv")])
    err = capsys.readouterr().err
    assert code == 3 and "Raise the minimum support" in err
