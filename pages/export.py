"""Export page: the segment CSV a CRM imports, the model and SQL a scheduled job applies
to new data, the persona report, and the whole workspace as one zip (export and import)."""

from __future__ import annotations

import json

import streamlit as st

from core.common.dialects import DIALECTS
from core.common.export import parquet_bytes, safe_csv_bytes
from core.workspace import actions
from core.workspace.bundle import bundle_name, export_bundle, open_bundle
from core.workspace.report import build_report
from core.workspace.segment_export import (
    ALL_SEGMENTS,
    WINNING_SEGMENT,
    export_info,
    persona_options,
    segment_export,
)
from ui.downloads import download_button, frame_version
from ui.editing import edit_lock
from ui.errors import guarded, show_notices, shows_errors
from ui.share import model_key, workspace_model
from ui.state import replace_workspace, workspace
from ui.text import code, inert

#: Rows shown in the preview table; the downloads hold every row.
PREVIEW_ROWS = 200
SCORE_COMMAND = ("python -m core score new_events.parquet --model model.json "
                 "-o memberships.csv --sql-out assign.sql")

ws = workspace()
st.title("Export")
st.caption("Take the analysis out of the app: segments for a CRM, a model for scheduled "
           "scoring, the persona report, and the whole workspace as one file.")


def segment_section() -> None:
    st.subheader("Segment export")
    features = ws.features
    if features is None:
        st.info("There is no feature table yet. Load data on the **Data** page.",
                icon=":material/upload_file:")
        return
    cols = st.columns([3, 2])
    chosen = cols[0].multiselect("Features to include", list(features.columns),
                                 key="share.features",
                                 help="Besides user id, cluster, persona and segments.")
    options = persona_options(ws)
    personas = cols[1].multiselect(
        "Only these personas", options, key="share.personas", disabled=not options,
        placeholder="All users" if options else "Cluster the users first",
        help="Persona names are edited on the Personas page; unnamed clusters keep their "
             "label.")
    with shows_errors():
        export = segment_export(ws, chosen, personas)
        show_notices(export.notices)
        frame = export.frame
        cols = st.columns(3)
        cols[0].metric("Rows to export", f"{export.rows:,}")
        cols[1].metric("Columns", f"{len(frame.columns) + 1}")
        cols[2].metric("Users in total", f"{export.users_total:,}")
        st.dataframe(frame.head(PREVIEW_ROWS), height=260, width="stretch",
                     key="share.preview")
        st.caption(
            "Columns: user_id, " + ", ".join(map(inert, frame.columns)) + ". "
            f"{code(WINNING_SEGMENT)}: the one rule segment a user gets when segments are "
            f"exclusive (highest priority); {code(ALL_SEGMENTS)}: every segment the user is "
            "in, overlapping. Cells a spreadsheet would run as a formula (starting with = + "
            "- @, tab or CR) are prefixed with a quote in the CSV.")
        cols = [st.container(horizontal=True)] * 3  # buttons flow and wrap, never cut off
        version = frame_version(frame)
        download_button(
            "Download CSV", key="share.download_csv", version=version,
            build=lambda: safe_csv_bytes(frame), container=cols[0],
            file_name="segments.csv", mime="text/csv", icon=":material/download:",
            disabled=frame.empty)
        download_button(
            "Download Parquet", key="share.download_parquet", version=version,
            build=lambda: parquet_bytes(frame), container=cols[1],
            file_name="segments.parquet", mime="application/octet-stream",
            icon=":material/download:", disabled=frame.empty)
        model = workspace_model(model_key(ws), ws)[0] if ws.clusters is not None else None
        info = export_info(ws, export, model, personas)
        download_button(
            "Download export info", key="share.download_info",
            version=(version, info["model_sha256"]),
            build=lambda: json.dumps(info, indent=2), container=cols[2],
            file_name="segments.info.json", mime="application/json",
            icon=":material/info:", disabled=frame.empty,
            help="A side file: export time, workspace, dataset, the SHA-256 of the model the "
                 "clusters come from, the persona filter and what every column holds.")


def model_section() -> None:
    st.subheader("Model for scoring new users")
    if ws.clusters is None:
        st.info("Cluster the users first (**Clustering** page): the model holds the "
                "clusters' centres and the preprocessing that places new users among them.",
                icon=":material/hub:")
        return
    with shows_errors():
        dialect = st.selectbox(
            "SQL for", list(DIALECTS), format_func=DIALECTS.get, key="share.sql_dialect",
            help="The warehouse that runs the assignment query: the query is written once "
                 "and translated (quotes, string escapes and type names differ).")
        model, sql = workspace_model(model_key(ws), ws, dialect)
        names = model.get("personas", {})
        st.markdown(
            f"{len(model['cluster']['labels'])} clusters on "
            f"{len(model['preprocess']['features'])} features"
            + (f"; persona names of {len(names)} of them included." if names
               else "; no persona names yet (name them on the Personas page)."))
        cols = [st.container(horizontal=True)] * 2
        cols[0].download_button(
            "Download model", data=json.dumps(model, indent=2),
            file_name="model.json", mime="application/json", key="share.download_model",
            icon=":material/download:", on_click="ignore")
        cols[1].download_button(
            "Download SQL", data=sql, file_name=f"assign_{dialect}.sql",
            mime="application/sql",
            key="share.download_sql", icon=":material/download:", on_click="ignore")
        st.caption("Score next week's users from a scheduler with the same features, "
                   "preprocessing and centres:")
        st.code(SCORE_COMMAND, language="bash")
        with st.expander("Assignment as SQL", icon=":material/database:"):
            st.caption("Runs in a warehouse on the **per-user feature table** (one row per "
                       "user with the model's feature columns, as `python -m core features` "
                       "writes it), not on raw events: some features are relative to "
                       "everyone in the data (engagement percentiles, RFM quintiles). It "
                       "applies the saved preprocessing and picks the nearest centre.")
            st.code(sql, language="sql")


def report_section() -> None:
    st.divider()
    st.subheader("Persona report")
    if ws.clusters is None:
        st.info("Cluster the users first: the report describes each persona.",
                icon=":material/hub:")
        return
    st.caption("One HTML file that opens offline, with the data summary, the method and a "
               "card per persona. Print it from the browser to save it as PDF.")
    # The same model as the model download and the export info: one hash in all three.
    model = workspace_model(model_key(ws), ws)[0]
    download_button(
        "Download persona report", key="share.download_report", version=ws.version(),
        build=lambda: build_report(ws, model=model), file_name="persona-report.html",
        mime="text/html", icon=":material/description:")


def workspace_section() -> None:
    st.subheader("Workspace")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Export** settings, reports and tables as one `.zip` of JSON and "
                    "Parquet files.")
        include_key = bool(ws.data.pseudonym_key) and st.checkbox(
            "Include the pseudonymisation key", key="share.include_key",
            help="Whoever holds the key can link pseudonyms back to real user ids. Leave "
                 "it out unless the recipient must pseudonymise new data the same way.")
        download_button(
            "Download workspace .zip", key="share.download_zip",
            version=(ws.version(), include_key), build=lambda: export_bundle(ws, include_key),
            file_name=bundle_name(ws), mime="application/zip",
            icon=":material/folder_zip:", disabled=not ws.has_data)
    with right:
        upload = st.file_uploader(
            "Import a workspace .zip", type=["zip"], key="share.upload",
            help="Every file in the zip is checked; anything but the JSON and Parquet "
                 "files of a Persona Lens export is refused. The import opens as a new "
                 "workspace; this one stays saved.")
        if st.button("Import", key="share.import", type="primary", disabled=upload is None,
                     icon=":material/upload:"):
            with shows_errors():
                bundle = open_bundle(upload.getvalue())
                replace_workspace(bundle.workspace)  # owned by who imports it
                actions.save_as_is(bundle.workspace)
                st.session_state["share.imported"] = (bundle.workspace.id, bundle.summary)
                st.rerun()
    imported_id, summary = st.session_state.get("share.imported", (None, None))
    if imported_id == ws.id:
        frames = ", ".join(f"{inert(name)} ({rows:,} rows)"
                           for name, rows in summary.frames.items())
        # The dataset's name and the original id are the zip's, whoever made it.
        st.success(f"Imported **{inert(summary.dataset)}** as workspace `{ws.id}` (exported "
                   f"from {code(summary.original_id)}): {frames or 'settings only'}.",
                   icon=":material/check_circle:")
        show_notices(summary.notices)


def shared_tick() -> None:
    """The Share step of Home, ticked here once the results went out."""
    done = "export" in ws.steps
    st.checkbox("Shared: the segments or the report went out", value=done,
                key="share.shared", **edit_lock(help="Ticks the Share step on Home."),
                on_change=guarded(
                    lambda: actions.mark_shared(ws, bool(st.session_state["share.shared"]))))
    if done:
        st.caption(f"Ticked {ws.steps['export'].replace('T', ' ').rstrip('Z')} UTC.")


segment_section()
st.divider()
model_section()
report_section()
st.divider()
workspace_section()
st.divider()
shared_tick()
