"""Download buttons whose file always arrives.

Streamlit keeps a download button's file only while a run of the page has drawn the
button: each run forgets the previous run's files, and files no run drew are deleted
when a run ends. A run interrupted by the next setting change (or stopped early) ends
before reaching the buttons below the change, so their files are deleted while the
browser still shows the previous run's buttons; a click then gets no file (with a
callable, "Deferred file not found" on the server; with bytes, a cancelled download).

So each button's bytes are held in the session, rebuilt only when what they are built
from changes (its ``version``), and :func:`keep_files` registers the held files again at
the very start of every run, before any page code: a file's address is a hash of its
content, so the button the browser still shows keeps working. The last two versions
are held, for a click on a button drawn before the latest change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit import runtime

#: Session key of the held files: ``{button key: [Held, ...]}``, newest first.
STORE = "downloads.held"
#: Versions of a file held per button.
KEEP = 2


@dataclass(frozen=True)
class Held:
    """One built file of a download button."""

    version: Hashable
    data: bytes
    file_name: str | None
    mime: str


def held_bytes(key: str, version: Hashable, build: Callable[[], bytes | str],
               file_name: str | None = None, mime: str = "application/octet-stream"
               ) -> bytes:
    """The bytes of ``key``'s file, rebuilt only when ``version`` changed."""
    store: dict[str, list[Held]] = st.session_state.setdefault(STORE, {})
    versions = store.get(key, [])
    if not versions or versions[0].version != version:
        data = build()
        data = data.encode("utf-8") if isinstance(data, str) else data
        versions = [Held(version, data, file_name, mime), *versions][:KEEP]
        store[key] = versions
    return versions[0].data


def keep_files() -> None:
    """Register every held file for this run, so that no run deletes a file a button
    in the browser still points at (call first thing in every run)."""
    if not runtime.exists():
        return
    manager = runtime.get_instance().media_file_mgr
    for key, versions in st.session_state.get(STORE, {}).items():
        for n, held in enumerate(versions):
            manager.add(held.data, held.mime, f"persona_lens.downloads.{key}.{n}",
                        file_name=held.file_name, is_for_static_download=True)


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
    data = b"" if disabled else held_bytes(
        key, version if version is not None else object(), build,
        kwargs.get("file_name"), mime)
    return target.download_button(label, data=data, key=key, mime=mime, on_click="ignore",
                                  disabled=disabled, **kwargs)
