"""Download buttons whose file always arrives.

Streamlit keeps a download button's file only while a run of the page has drawn the
button: each run forgets the previous run's references, and a file no run drew is
deleted after two runs that end without it. A run interrupted by the next setting change
(or stopped early) ends before reaching the buttons below the change, so two quick
changes delete their files while the browser still shows the previous run's buttons; a
click then gets no file (with a callable, "Deferred file not found" on the server; with
bytes, a cancelled download).

So each button's bytes are held in the session, rebuilt only when what they are built
from changes (its ``version``; the last two versions are held, for a click on a button
drawn before the latest change), and each held file is *pinned*: registered under a
reference of the session's own that no run clears, so it lives as long as the session
holds it, whatever the runs do. A file's address is a hash of its content, so the button
the browser still shows keeps working. Pins of ended sessions are dropped. Pinning uses
the media file manager's reference table (Streamlit is pinned in requirements.txt and
``tests/browser/test_downloads.py`` checks it); where that table is missing,
:func:`keep_files` registers the held files again at the start of every run instead.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

#: Session key of the held files: ``{button key: [Held, ...]}``, newest first.
STORE = "downloads.held"
#: Versions of a file held per button.
KEEP = 2
#: Prefix of the reference under which a session's held files are pinned.
PIN = "persona_lens.pinned:"


@dataclass(frozen=True)
class Held:
    """One built file of a download button."""

    version: Hashable
    data: bytes
    file_name: str | None
    mime: str


def held_bytes(key: str, version: Hashable, build: Callable[[], bytes | str],
               file_name: str | None = None, mime: str = "application/octet-stream"
               ) -> tuple[bytes, bool]:
    """The bytes of ``key``'s file, rebuilt only when ``version`` changed, and whether
    they were built now."""
    store: dict[str, list[Held]] = st.session_state.setdefault(STORE, {})
    versions = store.get(key, [])
    if versions and versions[0].version == version:
        return versions[0].data, False
    data = build()
    data = data.encode("utf-8") if isinstance(data, str) else data
    store[key] = [Held(version, data, file_name, mime), *versions][:KEEP]
    return data, True


def _coordinates(key: str, n: int) -> str:
    return f"persona_lens.downloads.{key}.{n}"


def _register(key: str) -> list[str]:
    """Register ``key``'s held files with this run; their coordinates."""
    manager = runtime.get_instance().media_file_mgr
    coords = []
    for n, held in enumerate(st.session_state.get(STORE, {}).get(key, [])):
        coords.append(_coordinates(key, n))
        manager.add(held.data, held.mime, coords[-1], file_name=held.file_name,
                    is_for_static_download=True)
    return coords


def _pinning_supported() -> bool:
    manager = runtime.get_instance().media_file_mgr
    return isinstance(getattr(manager, "_files_by_session_and_coord", None), dict) and \
        hasattr(manager, "_lock")


def pin(key: str) -> bool:
    """Pin ``key``'s held files for the session (see the module docstring); False where
    this Streamlit has no reference table to pin in."""
    if not runtime.exists() or not _pinning_supported():
        return False
    ctx = get_script_run_ctx()
    if ctx is None:
        return False
    coords = _register(key)
    rt = runtime.get_instance()
    manager = rt.media_file_mgr
    refs = manager._files_by_session_and_coord
    with manager._lock:
        mine = refs.get(ctx.session_id, {})
        pinned = refs.setdefault(PIN + ctx.session_id, {})
        for n in range(KEEP):
            pinned.pop(_coordinates(key, n), None)
        pinned.update({c: mine[c] for c in coords if c in mine})
        for name in [n for n in refs if n.startswith(PIN)]:
            if not rt.is_active_session(name[len(PIN):]):
                del refs[name]
    return True


def keep_files() -> None:
    """Where files cannot be pinned, register every held file for this run, so that no
    run deletes a file a button in the browser still points at (call first thing in
    every run); with pinning, nothing to do."""
    if not runtime.exists() or _pinning_supported():
        return
    for key in st.session_state.get(STORE, {}):
        _register(key)


def frame_version(frame: pd.DataFrame) -> Hashable:
    """What a table's export is built from: its columns, length and a hash of the
    values (about 10 ms for 5,000 rows); None (rebuild every time) when a column holds
    values pandas cannot hash."""
    try:
        digest = int(pd.util.hash_pandas_object(frame, index=True).sum())
    except TypeError:
        return None
    return tuple(map(str, frame.columns)), len(frame), digest


def download_button(label: str, *, key: str, version: Hashable,
                    build: Callable[[], bytes | str], container: Any = None,
                    disabled: bool = False, **kwargs: Any) -> bool:
    """``st.download_button`` with bytes held per ``version`` (see the module docstring).

    Parameters
    ----------
    label : str
        Button label (Markdown: no user text in it).
    key : str
        Widget key, also the key of the held bytes.
    version : hashable
        Changes whenever the file would change (a workspace revision, the settings the
        file depends on, :func:`frame_version`). None rebuilds on every run.
    build : callable
        Returns the file's bytes (or text, written as UTF-8).
    container : Streamlit container, optional
        Where to draw the button (a column); the page by default.
    disabled : bool
        A disabled button builds nothing.
    **kwargs
        Passed on (``file_name``, ``mime``, ``icon``, ``help``, ``type``...).
    """
    target = container if container is not None else st
    mime = kwargs.pop("mime", "application/octet-stream")
    data, built = (b"", False) if disabled else held_bytes(
        key, version if version is not None else object(), build,
        kwargs.get("file_name"), mime)
    clicked = target.download_button(label, data=data, key=key, mime=mime,
                                     on_click="ignore", disabled=disabled, **kwargs)
    if built:
        pin(key)
    return clicked
