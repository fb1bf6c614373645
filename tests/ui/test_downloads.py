"""The media file manager of the pinned Streamlit has the reference table that
ui.downloads pins held files in: an upgrade that changes it fails here, not in a user's
browser."""

from __future__ import annotations

from unittest import mock

from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage


def test_a_pinned_reference_keeps_a_downloadable_file_through_runs():
    manager = MediaFileManager(MemoryMediaFileStorage("/media"))
    with mock.patch("streamlit.runtime.media_file_manager._get_session_id",
                    return_value="session-1"):
        manager.add(b"a,b\n1,2\n", "text/csv", "coord", file_name="x.csv",
                    is_for_static_download=True)
    refs = manager._files_by_session_and_coord
    assert isinstance(refs, dict) and hasattr(manager, "_lock")
    [file_id] = refs["session-1"].values()
    refs["persona_lens.pinned:session-1"] = {"coord": file_id}
    # Runs clear the session's own references and collect orphans, twice and more.
    for _ in range(3):
        manager.clear_session_refs("session-1")
        manager.remove_orphaned_files()
    assert file_id in manager._file_metadata
    del refs["persona_lens.pinned:session-1"]
    for _ in range(2):
        manager.remove_orphaned_files()
    assert file_id not in manager._file_metadata
