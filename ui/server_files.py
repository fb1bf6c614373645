"""The Data page's browser of files on the server's disk (under PERSONA_LENS_DATA_ROOT).

The folder shown and the file or folder opened are relative paths in the session state;
every run checks them again through :mod:`core.data.server_files`, so a path put there
by hand is refused with a message like any other. The table read is kept in the session
until it is closed or another is opened, so the mapping widgets redraw without reading
the file again.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.common.errors import PersonaLensError
from core.data import server_files
from core.data.readers import RawTable, ReadOptions
from core.workspace.deployment import Deployment
from core.workspace.housekeeping import human_bytes
from core.workspace.store import home
from ui.editing import edit_lock
from ui.text import inert

#: Session keys: the folder shown, the entry chosen, what was opened and its table.
FOLDER = "data.server.folder"
ENTRY = "data.server.entry"
OPENED = "data.server.opened"
TABLE = "data.server.table"
OFF = ("Opening files on the server is off. To turn it on, start the server with "
       "the folder that holds them: `PERSONA_LENS_DATA_ROOT=/path/to/data make run`.")


def server_browser(deployment: Deployment, options: ReadOptions) -> RawTable | None:
    """Draw the browser; return the table opened from the server, or None."""
    if not deployment.data_root:
        st.info(OFF, icon=":material/dns:")
        return None
    try:
        root = server_files.data_root(deployment.data_root, private=_private())
    except PersonaLensError as exc:
        st.error(inert(exc), icon=":material/error:")
        return None
    if deployment.team:
        st.caption("Everyone signed in to this server can open every file under the data "
                   "root.")
    opened = st.session_state.get(OPENED)
    if opened is not None:
        raw = _opened(root, opened, options)
        if raw is not None:
            return raw
    _browse(root)
    return None


def _private() -> tuple[Path, ...]:
    """Folders never read as data: the workspaces and the sign-in secrets."""
    return home(), Path(os.getcwd()) / ".streamlit"


def _go(folder: str) -> None:
    st.session_state[FOLDER] = folder
    st.session_state.pop(ENTRY, None)


def _open(path: str) -> None:
    st.session_state[OPENED] = path
    st.session_state.pop(TABLE, None)


def _selected(action) -> None:
    """Run ``action`` on the entry chosen now (the select box's value when clicked)."""
    path = st.session_state.get(ENTRY)
    if path is not None:
        action(path)


def _close() -> None:
    st.session_state.pop(OPENED, None)
    st.session_state.pop(TABLE, None)


def _browse(root: server_files.DataRoot) -> None:
    folder = st.session_state.get(FOLDER, "")
    try:
        listing = server_files.list_folder(root, folder)
    except PersonaLensError as exc:
        st.error(inert(exc), icon=":material/error:")
        _go("")
        listing = server_files.list_folder(root, "")
    crumbs = " / ".join(["data root", *(inert(p) for p in listing.parts)])
    cols = st.columns([4, 1])
    cols[0].markdown(f":material/folder_open: **{crumbs}**")
    cols[1].button("Up", key="data.server.up", icon=":material/arrow_upward:",
                   disabled=listing.parent is None, on_click=_go,
                   args=(listing.parent or "",), width="stretch",
                   help="The folder above (never above the data root).")
    if listing.parquet_files:
        st.button(f"Open this folder as one table ({listing.parquet_files:,} Parquet "
                  f"files, {human_bytes(listing.parquet_bytes)})", key="data.server.open_here",
                  icon=":material/table_view:", on_click=_open, args=(listing.path,),
                  **edit_lock())
    if not listing.entries:
        st.info("This folder holds no data files (CSV, TSV, Parquet, JSON lines, Excel, "
                "compressed or not) and no sub-folders.", icon=":material/folder_off:")
    else:
        _entries(listing)
    notes = []
    if listing.left_out:
        notes.append(f"the first {server_files.MAX_ENTRIES:,} entries are listed, "
                     f"{listing.left_out:,} more are not")
    if listing.hidden:
        notes.append(f"{listing.hidden:,} entries are not shown (other formats, hidden "
                     "names, links outside the data root, special files)")
    if notes:
        st.caption("; ".join(notes).capitalize() + ".")


def _entries(listing: server_files.Listing) -> None:
    by_path = {entry.path: entry for entry in listing.entries}
    # Options of a select box are plain text, never Markdown.
    path = st.selectbox("Files and folders", list(by_path), format_func=lambda p: _label(
        by_path[p]), key=ENTRY)
    entry = by_path.get(path) or listing.entries[0]
    cols = st.columns(2)
    cols[0].button("Browse folder", key="data.server.enter", icon=":material/folder_open:",
                   disabled=entry.kind == "file", on_click=_selected, args=(_go,),
                   width="stretch")
    label = "Open as one table" if entry.kind == "parquet_folder" else "Open"
    cols[1].button(label, key="data.server.open", type="primary", icon=":material/download:",
                   on_click=_selected, args=(_open,), width="stretch",
                   **edit_lock(disabled=entry.kind == "folder",
                               help="Read it here, then map its columns and load it."))


def _label(entry: server_files.Entry) -> str:
    if entry.kind == "file":
        return f"{entry.name} · {human_bytes(entry.size)}"
    if entry.kind == "parquet_folder":
        return (f"{entry.name}/ · {entry.parquet_files:,} Parquet files, "
                f"{human_bytes(entry.size)}")
    return f"{entry.name}/"


def _opened(root: server_files.DataRoot, path: str,
            options: ReadOptions) -> RawTable | None:
    """The opened table (read now if it is not kept yet), or None after a refusal."""
    key = (path, options)
    kept = st.session_state.get(TABLE)
    if kept is not None and kept[0] == key:
        raw = kept[1]
    else:
        st.session_state.pop(TABLE, None)
        bar = st.empty()

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=f"Reading: {inert(message)}")

        try:
            with st.spinner(f"Reading {inert(path)} from the server..."):
                raw = server_files.read(root, path, options, progress=progress)
        except PersonaLensError as exc:
            bar.empty()
            st.error(inert(exc), icon=":material/error:")
            _close()
            return None
        bar.empty()
        st.session_state[TABLE] = (key, raw)
    cols = st.columns([4, 1])
    cols[0].markdown(f":material/dns: Opened from the server: **{inert(raw.name)}**")
    cols[1].button("Close", key="data.server.close", icon=":material/close:",
                   on_click=_close, width="stretch",
                   help="Forget this table and go back to the folder.")
    return raw
