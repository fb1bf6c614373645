"""Tests of files on the server's disk (core/data/server_files.py) and of reading a folder
of Parquet files as one table (core/data/readers.py).

Every tree is built in the test's temporary folder: a root with files, a folder of
Parquet parts and, beside the root, an "outside" folder with a secret that no path may
reach. Expected rows and sizes are known by construction.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from core.common.errors import ConfigError, DataError, FileTooLargeError
from core.data import server_files
from core.data.readers import ReadOptions, read_parquet_folder, read_path
from core.data.server_files import data_root, list_folder, open_file, read, resolve
from core.workspace.deployment import deployment

CSV = b"user_id,ts,event\nu1,2024-03-01T12:00:00Z,view\nu2,2024-03-01T13:00:00Z,buy\n"
SECRET = b"user_id,ts,event\nsecret,2024-03-01T12:00:00Z,leak\n"


def _part(path, users: list[str], start: int = 0) -> None:
    pd.DataFrame({"user_id": users,
                  "ts": pd.date_range("2024-03-01", periods=len(users), freq="h", tz="UTC")
                  + pd.Timedelta(hours=start),
                  "event": ["view"] * len(users)}).to_parquet(path)


@pytest.fixture
def tree(tmp_path):
    """``root/`` with events.csv, notes.md, .hidden.csv, sub/ and parts/ (3 Parquet
    files of 2, 3 and 4 rows, plus _SUCCESS); ``outside/secret.csv`` beside it."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "parts").mkdir()
    (root / "events.csv").write_bytes(CSV)
    (root / "notes.md").write_text("not data")
    (root / ".hidden.csv").write_bytes(CSV)
    (root / "sub" / "More.tsv").write_bytes(CSV.replace(b",", b"\t"))
    for i, n in enumerate((2, 3, 4)):
        _part(root / "parts" / f"part-{i}.parquet", [f"p{i}u{k}" for k in range(n)], i)
    (root / "parts" / "_SUCCESS").write_bytes(b"")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_bytes(SECRET)
    return root, outside


def _root(path) -> server_files.DataRoot:
    return data_root(str(path))


# --- the setting ------------------------------------------------------------------------

def test_the_feature_is_off_when_the_variable_is_unset(monkeypatch):
    monkeypatch.delenv("PERSONA_LENS_DATA_ROOT", raising=False)
    assert deployment().data_root is None
    monkeypatch.setenv("PERSONA_LENS_DATA_ROOT", "  ")
    assert deployment().data_root is None


def test_the_setting_is_read_with_the_other_deployment_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("PERSONA_LENS_DATA_ROOT", f" {tmp_path} ")
    assert deployment().data_root == str(tmp_path)


def test_a_root_that_is_missing_or_a_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        data_root(str(tmp_path / "nope"))
    (tmp_path / "f.csv").write_bytes(CSV)
    with pytest.raises(ConfigError, match="not a folder"):
        data_root(str(tmp_path / "f.csv"))


def test_the_root_is_its_real_path(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert data_root(str(tmp_path / "link")).path == (tmp_path / "real").resolve()


# --- what is refused --------------------------------------------------------------------

@pytest.mark.parametrize("path", ["../outside/secret.csv", "sub/../../outside/secret.csv",
                                  "..", "sub/..", "./../outside"])
def test_dot_dot_segments_are_refused(tree, path):
    root, _ = tree
    with pytest.raises(DataError, match=r"goes up a folder \('\.\.'\)"):
        resolve(_root(root), path)
    with pytest.raises(DataError, match="goes up a folder"):
        read(_root(root), path)


def test_absolute_paths_are_refused_even_inside_the_root(tree):
    root, outside = tree
    for path in (str(outside / "secret.csv"), str(root / "events.csv"), "/etc/passwd"):
        with pytest.raises(DataError, match="is an absolute path"):
            read(_root(root), path)


def test_a_symlink_to_a_file_outside_is_refused(tree):
    root, outside = tree
    (root / "leak.csv").symlink_to(outside / "secret.csv")
    with pytest.raises(DataError, match="leads outside the data root"):
        resolve(_root(root), "leak.csv")
    with pytest.raises(DataError, match="leads outside the data root"):
        read(_root(root), "leak.csv")
    with pytest.raises(DataError, match="leads outside the data root"):
        open_file(_root(root), "leak.csv")
    assert "leak.csv" not in [e.name for e in list_folder(_root(root)).entries]


def test_a_symlinked_folder_outside_is_refused(tree):
    root, outside = tree
    (root / "mnt").symlink_to(outside, target_is_directory=True)
    for path in ("mnt", "mnt/secret.csv", "sub/../mnt/secret.csv"):
        with pytest.raises(DataError, match=r"outside the data root|goes up"):
            read(_root(root), path)
    with pytest.raises(DataError, match="leads outside the data root"):
        list_folder(_root(root), "mnt")
    listing = list_folder(_root(root))
    assert "mnt" not in [e.name for e in listing.entries]


def test_a_symlink_inside_pointing_inside_is_allowed(tree):
    root, _ = tree
    (root / "latest.csv").symlink_to(root / "events.csv")
    (root / "sub" / "up.csv").symlink_to("../events.csv")  # relative, still inside
    (root / "current").symlink_to(root / "parts", target_is_directory=True)
    rooted = _root(root)
    assert resolve(rooted, "latest.csv") == (root / "events.csv").resolve()
    assert read(rooted, "latest.csv").frame["user_id"].tolist() == ["u1", "u2"]
    assert read(rooted, "sub/up.csv").name == "sub/up.csv"
    assert len(read(rooted, "current").frame) == 2 + 3 + 4
    names = [e.name for e in list_folder(rooted).entries]
    assert "latest.csv" in names and "current" in names


def test_a_fifo_is_refused_without_blocking(tree):
    root, _ = tree
    os.mkfifo(root / "pipe.csv")
    with pytest.raises(DataError, match="not a regular file or a folder"):
        resolve(_root(root), "pipe.csv")
    with pytest.raises(DataError, match="not a regular file"):
        read(_root(root), "pipe.csv")
    assert "pipe.csv" not in [e.name for e in list_folder(_root(root)).entries]


def test_a_device_file_is_refused(tmp_path):
    (tmp_path / "null.csv").symlink_to("/dev/null")
    with pytest.raises(DataError, match="outside the data root"):
        read(_root(tmp_path), "null.csv")
    # With the root at /dev, /dev/null is inside the root but is not a regular file.
    with pytest.raises(DataError, match="not a regular file or a folder"):
        read(data_root("/dev"), "null")


def test_a_nul_byte_in_a_name_is_refused(tree):
    root, _ = tree
    with pytest.raises(DataError, match="NUL byte"):
        read(_root(root), "events.csv\x00.parquet")
    with pytest.raises(ConfigError, match="NUL byte"):
        data_root(str(root) + "\x00")


def test_missing_paths_and_loops_say_so(tree):
    root, _ = tree
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling.csv").symlink_to(root / "gone.csv")
    for path in ("nope.csv", "loop", "dangling.csv"):
        with pytest.raises(DataError, match="does not exist under the data root"):
            read(_root(root), path)


def test_a_swap_between_check_and_open_is_caught(tree, monkeypatch):
    """The file is opened by its resolved path and the path resolved again after: when a
    link is swapped in between (here the second resolution sees outside), it is refused."""
    root, outside = tree
    rooted = _root(root)
    real_resolve = server_files.resolve
    calls = []

    def swapping(root_, relative):
        calls.append(relative)
        if len(calls) == 2:  # right after the open: the path now leads elsewhere
            os.replace(root / "events.csv", root / "moved.csv")
            (root / "events.csv").symlink_to(outside / "secret.csv")
        return real_resolve(root_, relative)

    monkeypatch.setattr(server_files, "resolve", swapping)
    with pytest.raises(DataError, match="leads outside the data root"):
        open_file(rooted, "events.csv")


def test_a_file_replaced_between_check_and_open_is_caught(tree, monkeypatch):
    root, _ = tree
    rooted = _root(root)
    real_open = os.open

    def replacing(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        monkeypatch.setattr(server_files.os, "open", real_open)
        os.replace(root / "sub" / "More.tsv", root / "events.csv")  # another inode
        return fd

    monkeypatch.setattr(server_files.os, "open", replacing)
    with pytest.raises(DataError, match="changed while it was being opened"):
        open_file(rooted, "events.csv")


def test_the_workspaces_folder_is_never_data(tmp_path):
    (tmp_path / "workspaces" / "abc").mkdir(parents=True)
    (tmp_path / "workspaces" / "abc" / "events.parquet").write_bytes(b"PAR1")
    rooted = data_root(str(tmp_path), private=[tmp_path / "workspaces"])
    with pytest.raises(DataError, match="Persona Lens's own folders"):
        read(rooted, "workspaces/abc/events.parquet")
    assert "workspaces" not in [e.name for e in list_folder(rooted).entries]
    with pytest.raises(ConfigError, match="its workspaces or its settings"):
        data_root(str(tmp_path / "workspaces"), private=[tmp_path / "workspaces"])


# --- listing ----------------------------------------------------------------------------

def test_listing_sorts_folders_first_and_shows_sizes(tree):
    root, _ = tree
    (root / "b.parquet").write_bytes((root / "parts" / "part-0.parquet").read_bytes())
    (root / "A.json").write_bytes(b'{"user_id": "u1"}\n')
    (root / "c.csv.gz").write_bytes(b"\x1f\x8b")
    listing = list_folder(_root(root))
    assert [(e.name, e.kind) for e in listing.entries] == [
        ("parts", "parquet_folder"), ("sub", "folder"), ("A.json", "file"),
        ("b.parquet", "file"), ("c.csv.gz", "file"), ("events.csv", "file")]
    sizes = {e.name: e.size for e in listing.entries}
    assert sizes["events.csv"] == len(CSV) and sizes["c.csv.gz"] == 2
    parts = listing.entries[0]
    assert parts.parquet_files == 3 and parts.path == "parts"
    assert parts.size == sum((root / "parts" / f"part-{i}.parquet").stat().st_size
                             for i in range(3))
    assert listing.parquet_files == 1  # b.parquet: the root itself opens as one table
    assert listing.hidden == 2  # notes.md and .hidden.csv
    assert listing.parent is None and listing.parts == []


def test_listing_a_sub_folder_gives_paths_relative_to_the_root(tree):
    root, _ = tree
    listing = list_folder(_root(root), "sub/")
    assert listing.path == "sub" and listing.parent == "" and listing.parts == ["sub"]
    assert [(e.name, e.path, e.size) for e in listing.entries] == [
        ("More.tsv", "sub/More.tsv", len(CSV))]
    with pytest.raises(DataError, match="is a file, not a folder"):
        list_folder(_root(root), "events.csv")


# --- reading ----------------------------------------------------------------------------

def test_a_file_is_read_by_the_readers_and_named_by_its_relative_path(tree):
    root, _ = tree
    raw = read(_root(root), "sub/More.tsv")
    assert raw.name == "sub/More.tsv" and raw.delimiter == "\t"
    assert raw.frame.to_dict("list") == {"user_id": ["u1", "u2"],
                                         "ts": ["2024-03-01T12:00:00Z",
                                                "2024-03-01T13:00:00Z"],
                                         "event": ["view", "buy"]}


def test_a_file_over_the_upload_limit_is_read_but_not_over_the_server_limit(tree):
    root, _ = tree
    small = ReadOptions(max_bytes=len(CSV) - 1)
    with pytest.raises(FileTooLargeError, match="files on the server are read up to"):
        read(_root(root), "events.csv", small)
    assert ReadOptions().max_bytes < server_files.MAX_BYTES


def test_a_folder_of_parquet_is_one_table_with_every_row(tree):
    root, _ = tree
    raw = read(_root(root), "parts")
    assert raw.name == "parts/" and raw.file_format == "parquet"
    assert len(raw.frame) == 2 + 3 + 4
    assert raw.frame["user_id"].tolist() == (
        [f"p0u{k}" for k in range(2)] + [f"p1u{k}" for k in range(3)]
        + [f"p2u{k}" for k in range(4)])  # in the order of the names
    assert list(raw.frame.index) == list(range(9))
    assert any("from 3 Parquet files" in note and "9 rows" in note for note in raw.notes)
    assert read_parquet_folder(root / "parts").frame.equals(raw.frame)
    assert read_path(root / "parts").frame.equals(raw.frame)


def test_the_root_itself_can_be_a_parquet_folder(tmp_path):
    _part(tmp_path / "a.pq", ["x"])
    _part(tmp_path / "b.parquet", ["y", "z"])
    raw = read(_root(tmp_path), "")
    assert raw.frame["user_id"].tolist() == ["x", "y", "z"]
    assert raw.name == f"{tmp_path.resolve().name}/"


def test_columns_in_another_order_are_read_in_the_first_files_order(tmp_path):
    pd.DataFrame({"a": [1], "b": ["x"]}).to_parquet(tmp_path / "0.parquet")
    pd.DataFrame({"b": ["y"], "a": [2]}).to_parquet(tmp_path / "1.parquet")
    frame = read(_root(tmp_path), "").frame
    assert frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_differing_schemas_are_refused_with_what_differs(tree):
    root, _ = tree
    pd.DataFrame({"user_id": [1, 2], "ts": ["a", "b"], "event": ["v", "v"],
                  "coupon": ["c", "d"]}).to_parquet(root / "parts" / "part-3.parquet")
    with pytest.raises(DataError) as info:
        read(_root(root), "parts")
    message = str(info.value)
    assert "do not share one schema" in message
    assert "'parts/part-3.parquet' differs from 'parts/part-0.parquet'" in message
    assert "'coupon'" in message and "'user_id' is int64 in it but" in message
    assert "open the files one by one" in message


def test_a_missing_column_is_named(tmp_path):
    pd.DataFrame({"a": [1], "b": [2]}).to_parquet(tmp_path / "0.parquet")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "1.parquet")
    with pytest.raises(DataError, match="it has no column 'b'"):
        read_parquet_folder(tmp_path)


def test_a_parquet_link_outside_refuses_the_folder(tree):
    root, outside = tree
    _part(outside / "stolen.parquet", ["s"])
    (root / "parts" / "part-9.parquet").symlink_to(outside / "stolen.parquet")
    with pytest.raises(DataError, match=r"part-9\.parquet' leads outside the data root"):
        read(_root(root), "parts")
    parts = next(e for e in list_folder(_root(root)).entries if e.name == "parts")
    assert parts.parquet_files == 3  # the link is not counted


def test_a_damaged_part_and_an_empty_folder_say_so(tree):
    root, _ = tree
    with pytest.raises(DataError, match="holds no Parquet files"):
        read(_root(root), "sub")
    (root / "parts" / "part-5.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"part-5\.parquet' in 'parts/' is not a readable"):
        read(_root(root), "parts")


def test_a_folder_over_the_limit_is_refused(tree):
    root, _ = tree
    with pytest.raises(FileTooLargeError, match="parts/"):
        read(_root(root), "parts", ReadOptions(max_bytes=100))
