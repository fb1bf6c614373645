"""The corpus: bad and awkward inputs, each with the exact outcome it must get.

A case writes its input into a folder and names the command line to run on it; the
outcome is the exit code and text the output must hold (counts, notes, the message
saying what is wrong and what to do). Exit codes are the README's: 0 done, 2 a bad
argument, 3 a file or setting that cannot be used.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tests.corpus import inputs as i

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
Writer = Callable[[Path], Path]


@dataclass(frozen=True)
class Case:
    """One input and its outcome.

    ``args`` is the command line with ``{in}`` for the written input and ``{out}`` for an
    output path in the same folder; ``err`` and ``out`` are fragments the standard error
    and standard output must hold.
    """

    id: str
    write: Writer | None
    args: str
    code: int
    err: tuple[str, ...] = ()
    out: tuple[str, ...] = ()
    kind: str = "file"
    extra: dict[str, Writer] = field(default_factory=dict)
    #: Text the written output (``{out}`` with the command's suffix) must hold.
    written: tuple[str, ...] = ()


def features(case_id: str, write: Writer, code: int, err=(), out=(), flags: str = "",
             written=()) -> Case:
    return Case(case_id, write, f"features {{in}} -o {{out}}.csv {flags}".strip(), code,
                tuple(err), tuple(out), "events", written=tuple(written))


GOOD = i.text("events.csv", i.GOOD_CSV)
RATINGS_DAT = i.text("ratings.dat", "1::10::5::978300760\n1::11::3::978302109\n"
                                    "2::10::4::978301968\n")
_F = i.good_frame()
KEPT6 = "Read 6 rows, kept 6 (3 users"

EVENT_FILES = [
    features("good_csv", GOOD, 0, out=[KEPT6]),
    features("empty_file", i.raw("events.csv", b""), 3, ["is empty"]),
    features("header_only", i.text("events.csv", i.HEADER + "\n"), 3, ["no rows"]),
    features("binary_named_csv", i.raw("events.csv", bytes(range(256)) * 8), 3,
             ["binary"]),
    features("zip_named_csv", i.zipped_csv("events.csv"), 3, ["zip archive"]),
    features("tar_named_csv", i.tarred_csv("events.csv"), 3, ["tar archive"]),
    features("old_excel_named_csv", i.raw("events.csv", bytes.fromhex(
        "d0cf11e0a1b11ae1") + b"\0" * 504), 3,
        ["old-style Office file", "save it as .xlsx or .csv"]),
    features("gzip_csv", i.compressed("gzip", "events.csv.gz"), 0, out=[KEPT6]),
    features("gzip_named_csv", i.compressed("gzip", "events.csv"), 0, out=[KEPT6]),
    features("bz2_csv", i.compressed("bz2", "events.csv.bz2"), 0, out=[KEPT6]),
    features("utf16_csv", i.text("events.csv", i.GOOD_CSV, "utf-16"), 0,
             ["UTF-16"], out=[KEPT6]),
    features("bom_csv", i.text("events.csv", "\ufeff" + i.GOOD_CSV), 0, out=[KEPT6]),
    features("cp1252_csv", i.text("events.csv", i.GOOD_CSV.replace("view", "vué"),
                                  "cp1252"), 0, ["Windows-1252"], out=[KEPT6]),
    features("semicolon", i.text("events.csv", i.GOOD_CSV.replace(",", ";")), 0,
             out=[KEPT6]),
    features("tab_txt", i.text("events.txt", i.GOOD_CSV.replace(",", "\t")), 0,
             out=[KEPT6]),
    features("pipe", i.text("events.csv", i.GOOD_CSV.replace(",", "|")), 0, out=[KEPT6]),
    features("double_colon_headerless", RATINGS_DAT, 3,
             ["read as data, not as a header", "--map user_id=column_1",
              "No column is mapped to User id"]),
    features("double_colon_mapped", RATINGS_DAT, 0, out=["Read 3 rows, kept 3 (2 users"],
             flags="--map user_id=column_1 --map ts=column_4 --map product_id=column_2"),
    features("whitespace", i.text("events.inter", "user_id event ts\nu1 view 1709287200\n"
                                  "u1 buy 1709287300\nu2 view 1709373600\n"), 0,
             out=["Read 3 rows, kept 3 (2 users"]),
    features("duplicate_columns", i.text("events.csv", i.GOOD_CSV.replace(
        "revenue", "event").replace("20.5", "x").replace(",7", ",y")), 0,
        ["renamed"], out=[KEPT6]),
    features("no_user_column", i.frame("events.csv", _F.drop(columns="user_id")), 3,
             ["No column is mapped to User id"]),
    features("no_time_column", i.frame("events.csv", _F.drop(columns="ts")), 3,
             ["No column is mapped to Timestamp"]),
    features("times_unreadable", i.frame("events.csv", _F.assign(ts="soon")), 3,
             ["None of the 6 rows could be used", "timestamp not understood: 6"]),
    features("time_of_day_only", i.frame("events.csv", _F.assign(ts="12:00")), 3,
             ["time of day but no date", "'12:00'"], flags="--map ts=ts"),
    features("nan_revenue", i.rows("u1,purchase,2024-03-01T10:00:00Z,NaN",
                                   "u2,purchase,2024-03-02T10:00:00Z,5"), 0,
             ["1 value(s) of revenue column 'revenue' are not numbers (or not finite"],
             out=["kept 2"]),
    features("inf_revenue", i.rows("u1,purchase,2024-03-01T10:00:00Z,inf",
                                   "u2,purchase,2024-03-02T10:00:00Z,-Infinity"), 0,
             ["2 value(s) of revenue column 'revenue'"], out=["kept 2"]),
    features("text_revenue", i.rows("u1,purchase,2024-03-01T10:00:00Z,€5",
                                    "u2,purchase,2024-03-02T10:00:00Z,5"), 0,
             ["'€5'"], out=["kept 2"]),
    features("nan_revenue_parquet", i.frame("events.parquet", _F.assign(
        revenue=[float("nan"), float("inf"), 1, 2, 3, 4])), 0,
        ["1 value(s) of revenue column"], out=[KEPT6]),
    features("negative_revenue", i.rows("u1,purchase,2024-03-01T10:00:00Z,-5",
                                        "u2,purchase,2024-03-02T10:00:00Z,5"), 0,
             ["negative"], out=["kept 2"]),
    features("compact_dates", i.text("sales.csv", "customer_id,date,dollar_value\n"
                                     "1,19970101,10\n1,19970315,20\n2,19980102,5\n"), 0,
             out=["Read 3 rows, kept 3 (2 users", "debounce off: every time is a whole day"]),
    features("ambiguous_day_order", i.frame("events.csv", _F.assign(
        ts=["01/03/2024", "02/03/2024", "03/03/2024", "04/03/2024", "05/03/2024",
            "06/03/2024"])), 3, ["day first or month first", "--timestamp-format"]),
    features("day_first_asked", i.frame("events.csv", _F.assign(
        ts=["01/03/2024", "02/03/2024", "03/03/2024", "04/03/2024", "05/03/2024",
            "06/03/2024"])), 0, out=[KEPT6], flags="--timestamp-format dayfirst"),
    features("day_order_mixed", i.frame("events.csv", _F.assign(
        ts=["13/03/2024", "03/13/2024", "01/03/2024", "02/03/2024", "03/03/2024",
            "04/03/2024"])), 3, ["mixes day-first and month-first dates"]),
    features("epoch_seconds", i.frame("events.csv", _F.assign(
        ts=[1709287200, 1709287500, 1709370000, 1709371800, 1709488800, 1709489400])), 0,
        out=[KEPT6]),
    features("epoch_milliseconds", i.frame("events.csv", _F.assign(
        ts=[1709287200000, 1709287500000, 1709370000000, 1709371800000, 1709488800000,
            1709489400000])), 0, out=[KEPT6]),
    features("float_epoch", i.frame("events.csv", _F.assign(
        ts=[1709287200.5, 1709287500.25, 1709370000.0, 1709371800.0, 1709488800.0,
            1709489400.0])), 0, out=[KEPT6]),
    features("excel_serials_unasked", i.frame("events.csv", _F.assign(
        ts=[45352.5, 45352.6, 45353.3, 45353.4, 45354.7, 45354.8])), 0,
        ["6 before 1990", "Excel serial"]),
    features("excel_serials_asked", i.frame("events.csv", _F.assign(
        ts=[45352.5, 45352.6, 45353.3, 45353.4, 45354.7, 45354.8])), 0,
        out=[KEPT6], flags="--timestamp-format excel"),
    features("implausible_span", i.frame("events.csv", _F.assign(
        ts=["1970-01-02", "2024-03-01", "2024-03-02", "2024-03-02", "2099-01-01",
            "2024-03-03"])), 0, ["1 before 1990-01-01 and 1 after tomorrow"]),
    features("offset_time_zone", i.frame("events.csv", _F.assign(
        ts=[t.replace("Z", "+09:00") for t in _F["ts"]])), 0,
        out=["local time Etc/GMT-9 (from the timestamps' +09:00 offset"]),
    features("exact_duplicates", i.rows(*i.ROWS, i.ROWS[1], i.ROWS[1]), 0,
             out=["Read 8 rows, kept 6", "dropped 2 rows: exact duplicate"]),
    features("double_fire", i.rows(*i.ROWS, "u2,view,2024-03-02T09:00:00.4Z,"), 0,
             out=["Read 7 rows, kept 6", "dropped 1 rows: debounced"]),
    features("basket_line_items", i.text("baskets.csv", "household_id,basket_id,product_id,"
                                         "sales_value,transaction_timestamp\n" + "".join(
                                             f"h{h},b{h},p{p},1.5,2024-03-0{h}T10:00:00\n"
                                             for h in (1, 2, 3) for p in range(5))), 0,
             out=["Read 15 rows, kept 15", "debounce off: an order / basket id is mapped",
                  "every row is one 'purchase' event"]),
    features("missing_users", i.rows(*i.ROWS, ",view,2024-03-04T10:00:00Z,"), 0,
             out=["Read 7 rows, kept 6", "dropped 1 rows: missing user id"]),
    features("one_user", i.rows(*i.ROWS[:2]), 0, ["one user only"], out=["kept 2"]),
    features("not_consented", i.text("events.csv", "user_id,event,ts,consent\n"
                                     "u1,view,2024-03-01T10:00:00Z,yes\n"
                                     "u2,view,2024-03-02T10:00:00Z,no\n"
                                     "u3,view,2024-03-03T10:00:00Z,true\n"), 0,
             out=["kept 2", "dropped 1 rows: no consent"]),
    features("formula_cells", i.rows("=HYPERLINK(\"http://x\"),view,2024-03-01T10:00:00Z,",
                                     "u2,view,2024-03-02T10:00:00Z,"), 0, out=["kept 2"],
             written=["'=HYPERLINK"]),  # a spreadsheet shows it, never runs it
    features("json_lines", i.frame("events.jsonl", _F), 0, out=[KEPT6]),
    features("json_array", i.text("events.json", _F.to_json(orient="records")), 0,
             out=[KEPT6]),
    features("json_wrapped", i.text("events.json", json.dumps(
        {"count": 6, "data": json.loads(_F.to_json(orient="records"))})), 0,
        ["its 6 records under 'data'"], out=[KEPT6]),
    features("json_object_without_records", i.text("events.json", '{"results": {"a": 1}}'),
             3, ["one JSON object (keys: results)", "JSON lines"]),
    features("json_broken", i.text("events.jsonl", '{"user_id": "u1", "event": \n'), 3,
             ["not valid JSON lines"]),
    features("ga4_nested", i.ga4_jsonl(), 0, ["param.<key>"],
             out=["Read 3 rows, kept 3 (2 users"]),
    features("excel_two_sheets", i.excel("book.xlsx", {"readme": pd.DataFrame(
        {"about": ["export"]}), "events": _F}), 3, ["2 sheets (readme, events)"]),
    features("excel_sheet_chosen", i.excel("book.xlsx", {"readme": pd.DataFrame(
        {"about": ["export"]}), "events": _F}), 0, out=[KEPT6], flags="--sheet events"),
    features("excel_sheet_missing", i.excel("book.xlsx", {"events": _F}), 3,
             ["has no sheet named 'nope'. Sheets: events."], flags="--sheet nope"),
    features("parquet", i.frame("events.parquet", _F), 0, out=[KEPT6]),
    features("parquet_corrupt", i.raw("events.parquet", b"PAR1" + b"\0" * 64), 3,
             ["Parquet"]),
    features("markdown_names", i.text("events.csv", i.GOOD_CSV.replace(
        "purchase", "[buy](https://phish.example)")), 0, out=[KEPT6]),
    features("mapped_column_absent", GOOD, 3, ["nosuch"], flags="--map ts=nosuch"),
    features("json_report", i.text("events.csv", i.GOOD_CSV.replace("view", "vué"), "cp1252"),
             0, out=['"rows_kept": 6', '"code": "read"', "Windows-1252",
                     '"debounce_seconds": 1.0'], flags="--json"),
]

ARGUMENTS = [
    features("debounce_nan", GOOD, 2, ["argument --debounce: 'nan' is not a finite number"],
             flags="--debounce nan"),
    features("debounce_negative", GOOD, 2, ["'-1' is out of range"], flags="--debounce -1"),
    features("debounce_huge", GOOD, 2, ["up to 3600"], flags="--debounce 1e9"),
    features("debounce_text", GOOD, 2, ["'soon' is not a number"], flags="--debounce soon"),
    features("session_gap_zero", GOOD, 2, ["more than 0 and at most 7 days"],
             flags="--session-gap 0"),
    features("session_gap_huge", GOOD, 2, ["'99999999999d' is not a duration"],
             flags="--session-gap 99999999999d"),
    features("session_gap_too_long", GOOD, 2, ["at most 7 days"],
             flags="--session-gap 999999h"),
    features("map_without_equals", GOOD, 2, ["argument --map: 'nonsense' must be ROLE=COLUMN"],
             flags="--map nonsense"),
    features("map_unknown_role", GOOD, 2, ["'foo=bar' must be ROLE=COLUMN"],
             flags="--map foo=bar"),
    features("user_share_zero", GOOD, 2, ["above 0 up to 1"], flags="--user-share 0"),
    features("user_share_above_one", GOOD, 2, ["above 0 up to 1"], flags="--user-share 1.5"),
    features("time_zone_unknown", GOOD, 2, ["'Mars/Base' is not a time zone name"],
             flags="--time-zone Mars/Base"),
    features("timestamp_format_unknown", GOOD, 2, ["invalid choice: 'eventually'"],
             flags="--timestamp-format eventually"),
    Case("input_is_folder", None, "features {dir} -o {out}.csv", 2,
         ["is a folder; give one file inside it"]),
    Case("input_missing", None, "features {dir}/none.csv -o {out}.csv", 2,
         ["does not exist"]),
    Case("output_folder_missing", GOOD, "features {in} -o {dir}/no/such/f.csv", 2,
         ["does not exist; create"]),
    Case("output_wrong_suffix", GOOD, "features {in} -o {out}.txt", 2,
         ["must end in .csv or .parquet"]),
    Case("output_is_folder", GOOD, "features {in} -o {dir}", 2, ["must end in"]),
    Case("no_command", None, "", 2, ["the following arguments are required: command"]),
    Case("unknown_command", None, "explode", 2, ["invalid choice: 'explode'"]),
    Case("sample_users_zero", None, "sample -o {out}.csv --users 0", 2,
         ["'0' is out of range"]),
    Case("sample_days_text", None, "sample -o {out}.csv --days many", 2,
         ["'many' is not a whole number"]),
    Case("cluster_k_one", i.feature_table(), "cluster {in} -o {out}.csv --k 1", 2,
         ["from 2 up to 100"]),
    Case("cluster_k_text", i.feature_table(), "cluster {in} -o {out}.csv --k six", 2,
         ["'six' is not a whole number"]),
    Case("sweep_k_backwards", i.feature_table(), "sweep {in} --k 10-2", 2,
         ["must hold k values from 2 to 50"]),
    Case("sweep_k_too_many", i.feature_table(), "sweep {in} --k 2-5000", 2,
         ["must hold k values from 2 to 50"]),
    Case("abtest_alpha_zero", i.experiment(), "abtest {in} --alpha 0", 2,
         ["above 0 up to 0.5"]),
    Case("score_model_missing", i.feature_table(),
         "score {in} --model {dir}/none.json -o {out}.csv", 2, ["does not exist"]),
    Case("report_wrong_suffix", None, "report {fixture_zip} -o {out}.pdf", 2,
         ["must end in .html"]),
]

FEATURE_TABLES = [
    Case("table_cluster", i.feature_table(), "cluster {in} -o {out}.csv --k 2", 0,
         out=["Clustered 60 users on 2 features into 2 clusters (Cluster 1: 30, "
              "Cluster 2: 30)"], kind="table"),
    Case("table_sweep", i.feature_table(), "sweep {in} --k 2-4", 0,
         out=["k = 2 has the highest silhouette"], kind="table"),
    Case("table_constant_feature", i.feature_table(constant=True),
         "cluster {in} -o {out}.csv --k 2 --features sessions,country_count", 3,
         ["country_count have the same value for every user"], kind="table"),
    Case("table_unknown_feature", i.feature_table(),
         "cluster {in} -o {out}.csv --features sessions,nope", 3,
         ["Unknown feature(s): nope"], kind="table"),
    Case("table_too_few_users", i.feature_table(users=4), "cluster {in} -o {out}.csv --k 6",
         3, ["choose k between 2 and"], kind="table"),
    Case("table_bad_cells", i.feature_table(bad_cells=True), "cluster {in} -o {out}.csv --k 2",
         0, out=["into 2 clusters"], kind="table"),
    Case("table_without_ids", i.frame("t.csv", pd.DataFrame({"a": [1, 2], "b": [3, 4]})),
         "cluster {in} -o {out}.csv", 3, ["neither a timestamp column"], kind="table"),
    Case("table_text_only", i.frame("t.csv", pd.DataFrame(
        {"user_id": ["a", "b", "c"], "plan": ["x", "y", "z"]})), "sweep {in}", 3,
        ["numeric"], kind="table"),
]

EXPERIMENTS = [
    Case("ab_good", i.experiment(), "abtest {in}", 0,
         out=["converted", "treatment"], kind="experiment"),
    Case("ab_one_variant", i.experiment(arms=("control",), rates=(0.1,)), "abtest {in}",
         3, ["has only 'control'", "at least one treatment"], kind="experiment"),
    Case("ab_no_variant_column", i.frame("ab.csv", pd.DataFrame(
        {"user_id": ["a", "b"], "converted": [0, 1]})), "abtest {in}", 3, ["variant"],
        kind="experiment"),
    Case("ab_tiny", i.experiment(per_arm=8), "abtest {in}", 0, out=["too few users"],
         kind="experiment"),
    Case("ab_unusable_values", i.experiment(extra="unusable"), "abtest {in} --metric converted",
         0, ["5 values are not yes/no, e.g. 'maybe'; those rows are left out"],
         kind="experiment"),
    Case("ab_control_unknown", i.experiment(), "abtest {in} --control zebra", 3,
         ["not a value of 'variant'"], kind="experiment"),
    Case("ab_repeated_columns", i.text("ab.csv", "user_id;variant;converted;variant\n" + "".join(
        f"u{n};{'control' if n % 2 else 'B'};{n % 7 == 0:d};x\n" for n in range(200))),
        "abtest {in}", 0, ["repeated column names: 'variant' (2 times)"],
        # odd ids are control: 14 of 100 multiples of 7, even ids 15 of 100
        out=["B raises conversion from 14.0 % to 15.0 %", "Users: control 100, B 100"],
        kind="experiment"),
    Case("ab_sample_ratio_mismatch", i.experiment(per_arm=(400, 300)), "abtest {in}", 0,
         out=["ALARM: "], kind="experiment"),
]

RULES = [
    Case("rules_good", i.rules_file("rules.json", {"subject": "sessions", "op": ">",
                                                   "value": 1}),
         "rules {in} {events} -o {out}.csv", 0, out=["Evaluated 1 rule(s) on 3 users"],
         kind="rules", extra={"events": GOOD}),
    Case("rules_not_json", i.text("rules.json", "sessions > 1 -> show x"),
         "rules {in} {events} -o {out}.csv", 3, ["The rules file is not JSON"],
         kind="rules", extra={"events": GOOD}),
    Case("rules_wrong_schema", i.text("rules.json", json.dumps({"rules": []})),
         "rules {in} {events} -o {out}.csv", 3, ["'format' is a required property"],
         kind="rules", extra={"events": GOOD}),
    Case("rules_nested_deep", i.rules_file("rules.json", i.nested_not(400)),
         "rules {in} {events} -o {out}.csv", 3, ["nest more than 80 levels deep"],
         kind="rules", extra={"events": GOOD}),
    Case("rules_window_huge", i.rules_file("rules.json", {
        "count": {"event": "view", "window": "99999999999d"}, "op": ">", "value": 1}),
         "rules {in} {events} -o {out}.csv", 3, ["A window is at most ten years"],
         kind="rules", extra={"events": GOOD}),
]


def _fixture_members() -> dict[str, bytes]:
    with zipfile.ZipFile(FIXTURES / "workspace_v1.zip") as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _with(**changes: bytes | None) -> dict[str, bytes]:
    members = _fixture_members()
    for name, content in changes.items():
        name = name.replace("__", ".")
        if content is None:
            members.pop(name, None)
        else:
            members[name] = content
    return members


def _zip(name: str, members: Callable[[], dict[str, bytes]], method=zipfile.ZIP_DEFLATED
         ) -> Writer:
    def write(folder: Path) -> Path:
        return i.zip_members(name, members(), method)(folder)
    return write


ZIPS = [
    Case("zip_good_report", None, "report {fixture_zip} -o {out}.html", 0,
         out=["Wrote the persona report"], kind="workspace"),
    Case("zip_not_a_zip", i.raw("ws.zip", b"not a zip at all"), "report {in} -o {out}.html",
         3, ["not a zip archive"], kind="workspace"),
    Case("zip_path_traversal", _zip("ws.zip", lambda: {**_fixture_members(),
                                                        "../evil.txt": b"x"}),
         "report {in} -o {out}.html", 3, ["../evil.txt"], kind="workspace"),
    Case("zip_extra_member", _zip("ws.zip", lambda: {**_fixture_members(),
                                                      "notes.txt": b"x"}),
         "report {in} -o {out}.html", 3, ["notes.txt"], kind="workspace"),
    Case("zip_no_manifest", _zip("ws.zip", lambda: _with(manifest__json=None)),
         "report {in} -o {out}.html", 3, ["manifest.json"], kind="workspace"),
    Case("zip_manifest_not_json", _zip("ws.zip", lambda: _with(manifest__json=b"{nope")),
         "report {in} -o {out}.html", 3, ["manifest.json"], kind="workspace"),
    Case("zip_bomb", _zip("ws.zip", lambda: _with(features__parquet=b"\0" * (4 << 20))),
         "report {in} -o {out}.html", 3, ["zip bomb"], kind="workspace"),
    Case("zip_tampered_frame", _zip("ws.zip", lambda: _with(
        clusters__parquet=_flip(_fixture_members()["clusters.parquet"]))),
         "report {in} -o {out}.html", 3, ["checksum"], kind="workspace"),
    Case("zip_bzip2", _zip("ws.zip", _fixture_members, zipfile.ZIP_BZIP2),
         "report {in} -o {out}.html", 3, ["only stores or deflates its files"], kind="workspace"),
]


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


CASES = [*EVENT_FILES, *ARGUMENTS, *FEATURE_TABLES, *EXPERIMENTS, *RULES, *ZIPS]


def command_line(case: Case, folder: Path) -> list[str]:
    """Write the case's inputs into ``folder`` and return its argument list."""
    paths = {"dir": str(folder), "out": str(folder / "result"),
             "fixture_zip": str(FIXTURES / "workspace_v1.zip")}
    if case.write is not None:
        paths["in"] = str(case.write(folder))
    for key, write in case.extra.items():
        sub = folder / key
        sub.mkdir()
        paths[key] = str(write(sub))
    return [part.format(**paths) for part in case.args.split()] if case.args else []
