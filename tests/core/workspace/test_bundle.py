"""Workspace zips: a faithful round trip, and refusal of anything an export never holds."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import stat
import tracemalloc
import zipfile

import pandas as pd
import pytest

from core.common.errors import DataError
from core.common.export import parquet_bytes
from core.data import sample
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.workspace import actions
from core.workspace.bundle import (
    BundleLimits,
    _read_limited,
    export_bundle,
    import_bundle,
    open_bundle,
    read_bundle,
)
from core.workspace.personas import update_persona
from core.workspace.segments import save_segment
from core.workspace.store import Workspace, home

USERS = 300


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    events = sample.generate_sample(n_users=USERS, days=30, seed=3).events
    ws = Workspace()
    actions.load_sample_into(ws, events, USERS, 30, 3)
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                          ClusterConfig(k=3))
    update_persona(ws, "Cluster 1", name="Big spenders")
    ws.data.pseudonym_key = "secret-key"
    save_segment(ws, "VIP", list(ws.features.index[:25]))
    return ws


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(members: dict[str, bytes], fix_manifest: bool = True) -> bytes:
    """A zip of ``members``; with ``fix_manifest`` the manifest lists them with checksums."""
    members = dict(members)
    if fix_manifest:
        manifest = json.loads(members["manifest.json"])
        manifest["members"] = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                               for n, d in members.items() if n != "manifest.json"}
        members["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """The zip with ``name``'s uncompressed size set to ``size`` in both of its headers."""
    data, encoded = bytearray(data), name.encode()
    # Local header: size at offset 22, name at 30; directory entry: size at 24, name at 46.
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.index(signature)
        while data[at + name_at:at + name_at + len(encoded)] != encoded:
            at = data.index(signature, at + 4)
        data[at + size_at:at + size_at + 4] = size.to_bytes(4, "little")
    return bytes(data)


def refused(data: bytes, match: str, **limits) -> None:
    before = set(home().glob("*")) if home().exists() else set()
    with pytest.raises(DataError, match=match):
        import_bundle(data, BundleLimits(**limits))
    after = set(home().glob("*")) if home().exists() else set()
    assert after == before  # a refused zip leaves nothing behind


def test_round_trip_gives_a_new_saved_workspace(ws):
    data = export_bundle(ws)
    assert set(members_of(data)) == {"manifest.json", "workspace.json", "events.parquet",
                                     "features.parquet", "clusters.parquet",
                                     "segments.parquet"}
    imported = import_bundle(data)
    assert imported.id != ws.id
    again = Workspace.load(imported.id)  # saved in the workspace home
    for name in ("events", "features", "clusters", "segments"):
        pd.testing.assert_frame_equal(again.frame(name), ws.frame(name))
    assert again.personas == ws.personas
    assert again.persona_labels().equals(ws.persona_labels())
    assert again.clustering.preprocess == ws.clustering.preprocess
    assert again.data.name == ws.data.name and again.data.report == ws.data.report
    assert again.data.pseudonym_key is None  # the key is left out unless asked for
    assert read_bundle(export_bundle(ws, include_pseudonym_key=True)).data.pseudonym_key \
        == "secret-key"


def test_read_bundle_accepts_a_path_and_does_not_save(ws, tmp_path):
    path = tmp_path / "ws.zip"
    path.write_bytes(export_bundle(ws))
    bundle = open_bundle(path)
    assert bundle.summary.original_id == ws.id
    assert bundle.summary.frames["features"] == USERS
    assert not bundle.workspace.folder.exists()
    assert len(read_bundle(path).features) == USERS


@pytest.mark.parametrize("name", ["../evil.json", "/etc/passwd", "sub/features.parquet",
                                  "..\\features.parquet", "C:features.parquet"])
def test_refuses_paths(ws, name):
    members = members_of(export_bundle(ws))
    members[name] = b"{}"
    refused(rezip(members), "path|never holds")


@pytest.mark.parametrize("name", ["notes.txt", "features.pkl", "model.joblib"])
def test_refuses_extra_members(ws, name):
    members = members_of(export_bundle(ws))
    members[name] = pickle.dumps({"a": 1})
    refused(rezip(members), "never holds")


def test_refuses_a_pickle_named_like_parquet(ws):
    members = members_of(export_bundle(ws))
    members["features.parquet"] = pickle.dumps(ws.features)
    refused(rezip(members), "not a readable Parquet")


def test_refuses_bad_json(ws):
    members = members_of(export_bundle(ws))
    members["workspace.json"] = b'{"format_version": 1, '
    refused(rezip(members), "not valid JSON")


def test_refuses_wrong_versions(ws):
    members = members_of(export_bundle(ws))
    settings = json.loads(members["workspace.json"])
    members["workspace.json"] = json.dumps({**settings, "format_version": 99}).encode()
    refused(rezip(members), "format version 99")
    members = members_of(export_bundle(ws))
    manifest = json.loads(members["manifest.json"])
    members["manifest.json"] = json.dumps({**manifest, "version": 7}).encode()
    refused(rezip(members, fix_manifest=False), "version 7")


def test_refuses_settings_of_the_wrong_type(ws):
    members = members_of(export_bundle(ws))
    settings = json.loads(members["workspace.json"])
    for section, wrong, kind in (("personas", ["x"], "persona"), ("segments", "x", "segment"),
                                 ("data", 3, "data"), ("clustering", [1], "clustering")):
        members["workspace.json"] = json.dumps({**settings, section: wrong}).encode()
        refused(rezip(members), f"{kind} settings should be dict, not "
                                f"{type(wrong).__name__}")


def test_refuses_a_checksum_mismatch(ws):
    members = members_of(export_bundle(ws))
    # One byte changed, the size kept: only the checksum can tell.
    raw = bytearray(members["segments.parquet"])
    raw[len(raw) // 2] ^= 0xFF
    members["segments.parquet"] = bytes(raw)
    refused(rezip(members, fix_manifest=False),
            "'segments.parquet' does not match the checksum in the manifest")


def test_refuses_members_missing_from_the_manifest(ws):
    members = members_of(export_bundle(ws))
    manifest = json.loads(members["manifest.json"])
    del manifest["members"]["clusters.parquet"]
    members["manifest.json"] = json.dumps(manifest).encode()
    refused(rezip(members, fix_manifest=False), "not listed: clusters.parquet")


def test_refuses_frames_of_the_wrong_shape(ws):
    members = members_of(export_bundle(ws))
    members["clusters.parquet"] = parquet_bytes(
        ws.clusters.rename(columns={"cluster": "group"}))
    refused(rezip(members), "lacks column")
    members = members_of(export_bundle(ws))
    members["features.parquet"] = parquet_bytes(
        ws.features.reset_index())
    refused(rezip(members), "indexed by user_id")


def test_refuses_oversized_members_before_inflating(ws):
    data = export_bundle(ws)
    size = max(len(d) for n, d in members_of(data).items() if n.endswith(".parquet"))
    refused(data, "above the limit", member_bytes=size - 1)
    refused(data, "above the limit", total_bytes=size)
    refused(data, "above the limit", zip_bytes=len(data) - 1)
    # A zip bomb: 50 MiB of zeros deflate to about 50 KiB.
    members = members_of(data)
    members["workspace.json"] = b"0" * (50 * 1024 * 1024)
    bomb = rezip(members)
    assert len(bomb) < 1024 * 1024
    refused(bomb, "would unpack to", json_bytes=1024 * 1024)


def test_refuses_a_directory_that_disagrees_with_the_manifest(ws):
    data = export_bundle(ws)
    size = len(members_of(data)["workspace.json"])
    # Halved in the directory, not in the manifest: refused before workspace.json is read.
    refused(declare_size(data, "workspace.json", size // 2),
            f"'workspace.json' is {size // 2:,} bytes in the zip's directory but {size:,} "
            "bytes in its manifest.json")


def test_refuses_symlinks_and_duplicates(ws):
    members = members_of(export_bundle(ws))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)
            if name == "features.parquet":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, content)
    refused(buffer.getvalue(), "symbolic link")
    buffer = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
        zf.writestr("features.parquet", members["features.parquet"])
    refused(buffer.getvalue(), "more than once")


def test_refuses_what_is_not_a_zip(ws, tmp_path):
    refused(b"user_id,cluster\n1,Cluster 1\n", "not a zip")
    refused(pickle.dumps(ws.features), "not a zip")
    path = tmp_path / "ws.zip"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="not a zip"):
        read_bundle(path)
    with pytest.raises(DataError, match="not a file"):
        read_bundle(tmp_path / "missing.zip")


# limits: directory first, then the manifest, then one member at a time within its cap -----
MIB = 1024 * 1024


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))


def zeros_zip(name: str, size: int, declared: int | None = None,
              method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A bundle whose ``name`` holds ``size`` zero bytes, deflated as they are written (so
    the test never holds them), declared as ``declared`` bytes in manifest and headers."""
    declared = size if declared is None else declared
    small = {} if name == "workspace.json" else {"workspace.json": b"{}"}
    listed = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
              for n, d in small.items()}
    manifest = {"format": "persona-lens-workspace", "version": 1,
                "members": {**listed, name: {"size": declared, "sha256": "0" * 64}}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for small_name, content in small.items():
            zf.writestr(small_name, content)
        info = zipfile.ZipInfo(name)
        info.compress_type = method
        with zf.open(info, "w") as member:
            chunk = bytes(MIB)
            for _ in range(size // MIB):
                member.write(chunk)
    data = buffer.getvalue()
    return data if declared == size else declare_size(data, name, declared)


def peak_memory(action) -> int:
    """Bytes allocated at the peak of ``action()``, above what was allocated before."""
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_refuses_a_zip_bomb_before_inflating_anything(fresh_home, monkeypatch):
    bomb = zeros_zip("events.parquet", 200 * MIB)
    assert len(bomb) < 300 * 1024  # 200 MiB of zeros deflate to about 200 KiB
    opened, open_member = [], zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, member, *args, **kwargs: (
        opened.append(member), open_member(self, member, *args, **kwargs))[1])
    # Within every size limit by default: only the ratio gives it away.
    peak = peak_memory(lambda: refused(bomb, re.escape(
        "'events.parquet' would unpack to 200.0 MiB from 0.19 MiB, ") + r"1,\d{3} times its "
        r"size in the zip \(an export stays under 200\): the zip looks like a zip bomb"))
    assert opened == []  # not even the manifest was inflated
    assert peak < 2 * MIB  # a hundredth of the member


def test_stops_a_member_larger_than_declared_at_the_cap(fresh_home):
    # Directory and manifest agree on 1 MiB; the member really inflates to 64 MiB.
    lie = zeros_zip("workspace.json", 64 * MIB, declared=MIB)
    peak = peak_memory(lambda: refused(lie, re.escape(
        f"'workspace.json' does not unpack to the {MIB:,} bytes its zip entry declares "
        "(reading stopped there: Bad CRC-32 for file 'workspace.json')")))
    assert peak < 6 * MIB  # the declared 1 MiB and a chunk or two, not 64 MiB


def test_reads_at_most_one_byte_past_the_cap_whatever_the_stream_gives():
    class Endless(io.RawIOBase):
        given = 0

        def readable(self):
            return True

        def read(self, size=-1):
            Endless.given += size
            return bytes(size)

    class AnyZip:
        def open(self, info):
            return Endless()

    info = zipfile.ZipInfo("events.parquet")
    info.file_size = 10_000
    with pytest.raises(DataError, match=re.escape(
            "'events.parquet' does not unpack to the 10,000 bytes its zip entry declares "
            "(it inflates past 10,000 bytes)")):
        _read_limited(AnyZip(), info, MIB)
    assert Endless.given == 10_001


def test_refuses_a_manifest_without_sizes(ws):
    members = members_of(export_bundle(ws))
    manifest = json.loads(members["manifest.json"])
    del manifest["members"]["events.parquet"]["size"]
    members["manifest.json"] = json.dumps(manifest).encode()
    refused(rezip(members, fix_manifest=False),
            "manifest.json gives no size and checksum for 'events.parquet'")


def test_refuses_a_directory_no_export_has(fresh_home):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(8):
            zf.writestr(f"a{i}.parquet", b"")
    refused(buffer.getvalue(), "The zip holds 'a0.parquet', which a workspace export never "
            "holds")
    small = zeros_zip("events.parquet", 0)
    refused(small, re.escape("The zip's table of contents is ") + r"\d+ bytes, above the "
            "limit of 50", directory_bytes=50)
    refused(zeros_zip("events.parquet", MIB, method=zipfile.ZIP_BZIP2),
            "'events.parquet' in the zip is compressed with method 12; a workspace export "
            "only stores or deflates its files")
