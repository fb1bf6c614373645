"""Data page: load a file or the sample, map its columns, and see what was read."""

from __future__ import annotations

import hashlib
import zoneinfo

import pandas as pd
import streamlit as st

from core.common.style import esc
from core.data import charts, server_files
from core.data.cleaning import DROP_REASONS, DROP_SETTINGS, LoadConfig, event_name_for
from core.data.mapping import (
    FUNNEL_LABELS,
    FUNNEL_STEPS,
    REQUIRED_EVENT_ROLES,
    ROLE_LABELS,
    ROLES,
    ColumnMapping,
    guess_event_roles,
    guess_mapping,
)
from core.data.readers import UPLOAD_TYPES, RawTable, ReadOptions
from core.data.timestamps import UNIT_LABELS
from core.workspace import access, actions
from core.workspace.housekeeping import human_bytes, usage
from core.workspace.store import Workspace, list_workspaces
from ui.auth import current_deployment, identity
from ui.cache import read_upload, sample_events
from ui.editing import edit_lock
from ui.errors import show_notices, shows_errors
from ui.progress import progress_bar
from ui.server_files import server_browser
from ui.state import delete_saved, new_workspace, open_saved, workspace
from ui.text import inert

NONE = "— none —"
#: Above this many rows the page suggests sampling users.
LARGE_FILE_ROWS = 2_000_000
#: Distinct event values offered for the funnel steps; more would not fit a menu.
MAX_EVENT_CHOICES = 300
DELIMITERS = {"auto": "Detect", ",": "Comma ,", ";": "Semicolon ;", "\t": "Tab", "|": "Pipe |"}
ENCODINGS = {"auto": "Detect (UTF-8, else Windows-1252)", "utf-8": "UTF-8",
             "cp1252": "Windows-1252", "latin-1": "Latin-1"}

DETECT_ZONE = "Detect"
ZONES = sorted(zoneinfo.available_timezones())

ws = workspace()
st.title("Data")
st.caption("Load behavioral events (one row per event) or a per-user table, check what "
           "was read, and decide what is kept.")


def _signature(raw: RawTable) -> str:
    text = raw.name + "|" + "|".join(map(str, raw.frame.columns)) + f"|{len(raw.frame)}"
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _reset_mapping_widgets(raw: RawTable) -> None:
    """Forget widget values of a previous file so the new file's guesses show."""
    sig = _signature(raw)
    if st.session_state.get("data.signature") == sig:
        return
    for key in [k for k in st.session_state if str(k).startswith("data.map.")
                or str(k).startswith("data.funnel.")]:
        del st.session_state[key]
    st.session_state["data.signature"] = sig


def read_options(sheets: list[str]) -> tuple[str, str]:
    with st.expander("Read options", icon=":material/tune:"):
        cols = st.columns(3)
        delimiter = cols[0].selectbox("Delimiter", list(DELIMITERS), format_func=DELIMITERS.get,
                                      key="data.delimiter")
        encoding = cols[1].selectbox("Encoding", list(ENCODINGS), format_func=ENCODINGS.get,
                                     key="data.encoding")
        if len(sheets) > 1:
            cols[2].selectbox("Excel sheet", sheets, key="data.sheet")
        else:
            cols[2].caption("Excel sheet: shown for workbooks with several sheets.")
    return delimiter, encoding


def mapping_widgets(raw: RawTable) -> ColumnMapping:
    columns = [str(c) for c in raw.frame.columns]
    guess = guess_mapping(columns, raw.frame)
    st.markdown("**Column mapping** — which column plays which role. Guessed from the "
                "names; change any that is wrong.")
    chosen: dict[str, str | None] = {}
    grid = st.columns(4)
    for i, role in enumerate(ROLES):
        options = [NONE, *columns]
        default = guess.get(role)
        required = role in REQUIRED_EVENT_ROLES
        value = grid[i % 4].selectbox(
            ROLE_LABELS[role] + (" *" if required else ""), options,
            index=options.index(default) if default in options else 0,
            key=f"data.map.{role}",
        )
        chosen[role] = None if value == NONE else value
    return ColumnMapping(chosen)


def funnel_widgets(raw: RawTable, mapping: ColumnMapping) -> dict[str, list[str]]:
    event_col = mapping.get("event")
    if not event_col:
        name = event_name_for(mapping, LoadConfig(
            event_name=st.session_state.get("data.event_name")))
        st.text_input("Event of every row", key="data.event_name", placeholder=name,
                      help="No event column is mapped, so every row is one event of this "
                           "kind (a purchase log, a rating log). Map an event column to "
                           "tell events apart.")
        st.caption(f"Every row is one **{inert(name)}** event"
                   + (", and purchases are counted as the funnel's last step."
                      if name == "purchase" else "."))
        return {step: [name] if step == "purchase" and name == "purchase" else []
                for step in FUNNEL_STEPS}
    counts = raw.frame[event_col].astype("string").str.strip().value_counts()
    values = [str(v) for v in counts.index[:MAX_EVENT_CHOICES]]
    guessed = guess_event_roles(values)
    st.markdown("**Funnel events** — which event values mean each step (guessed; features "
                "such as purchases and cart abandonment depend on them).")
    cols = st.columns(4)
    roles = {}
    for col, step in zip(cols, FUNNEL_STEPS, strict=True):
        roles[step] = col.multiselect(FUNNEL_LABELS[step], values, default=guessed[step],
                                      key=f"data.funnel.{step}")
    return roles


def load_options(mapping: ColumnMapping, columns: list[str]) -> LoadConfig:
    st.markdown("**Cleaning, sessions and privacy**")
    cols = st.columns(4)
    unit = cols[0].selectbox("Timestamp format", list(UNIT_LABELS), format_func=UNIT_LABELS.get,
                             key="data.ts_unit",
                             help="Detect reads ISO text, compact dates (20240131) and "
                                  "epoch numbers by size, and decides the day order of "
                                  "dates like 01/03/2024 from the values (it asks when "
                                  "they cannot tell). Everything is converted to UTC; no "
                                  "zone means UTC.")
    has_sessions = bool(mapping.get("session_id"))
    gap = cols[1].number_input(
        "Session gap (minutes)", min_value=1.0, max_value=24 * 60.0, value=30.0, step=5.0,
        key="data.gap", disabled=has_sessions,
        help="A new session starts after this much inactivity. Not used when a session id "
             "column is mapped (except for events without one).")
    debounce = cols[2].number_input(
        "Debounce window (s)", min_value=0.0, max_value=60.0, value=None, step=0.5,
        key="data.debounce", placeholder="automatic",
        help="The same event (same user, event, product, order, value) again within this "
             "window is a double fire and is dropped (and counted). Empty: decided from "
             "the data, 1 s for a clickstream and off for basket line items, bulk "
             "ratings and dates without a time. 0 keeps every repeat.")
    dedupe = cols[3].checkbox("Drop exact duplicate rows", value=True, key="data.dedupe")
    cols = st.columns([1, 1, 2])
    zone = cols[0].selectbox(
        "Data time zone", [DETECT_ZONE, *ZONES], key="data.time_zone",
        help="Weekend, night and calendar-day features are counted in this time zone. "
             "Detect takes it from the timestamps' offsets (+09:00), else UTC.")
    cols = st.columns([1, 1, 2])
    pseudo = cols[0].checkbox(
        "Pseudonymise user ids", key="data.pseudonymise",
        help="Replace each user id by HMAC-SHA-256(key, id). The key is generated now and "
             "shown once; keep it to pseudonymise later files the same way.")
    share = cols[1].number_input(
        "Users kept (%)", min_value=0.1, max_value=100.0, value=100.0, step=5.0,
        key="data.user_share",
        help="Work on a random share of users to go faster on big files. The same users "
             "are kept every time, with all their events; the rest are counted in the "
             "load report.")
    unmapped = [c for c in columns if c not in mapping.mapped().values()]
    pii = cols[2].multiselect(
        "Columns with personal data (dropped before anything is saved)", unmapped,
        key="data.pii", help="For example e-mail, name, IP address, phone.")
    if mapping.get("consent"):
        st.caption(f"Only users whose latest value in '{inert(mapping.get('consent'))}' is "
                   "true are kept; the others are counted in the load report.")
    return LoadConfig(timestamp_unit=unit,
                      event_name=st.session_state.get("data.event_name") or None,
                      time_zone=None if zone == DETECT_ZONE else zone,
                      debounce_seconds=None if debounce is None else float(debounce),
                      drop_exact_duplicates=dedupe, session_gap_minutes=float(gap),
                      pseudonymise=pseudo, pii_columns=tuple(pii),
                      user_sample_share=float(share) / 100)


def upload_section(ws: Workspace) -> None:
    uploaded = st.file_uploader(
        "Event log or per-user table", type=UPLOAD_TYPES, key="data.upload",
        **edit_lock(help="CSV/TSV, Parquet, JSON lines or Excel (.xlsx). Exports from GA4, "
                         "Segment, Mixpanel, Amplitude and Snowplow are recognised by their "
                         "column names."))
    limit_mb = st.get_option("server.maxUploadSize")
    st.caption(f"Files up to {limit_mb:,} MB. For a bigger export, convert it to Parquet "
               "(usually 5-10x smaller) or export fewer days or a sample of users; the "
               "command line (`python -m core features FILE`) has no size limit.")
    sheet = st.session_state.get("data.sheet")
    if uploaded is None:
        read_options([])
        st.info("Choose a file to see its columns and map them. Nothing is saved until you "
                "press **Load**.", icon=":material/upload:")
        return
    with shows_errors():
        delimiter = st.session_state.get("data.delimiter", "auto")
        encoding = st.session_state.get("data.encoding", "auto")
        with st.spinner(f"Reading {inert(uploaded.name)} ({uploaded.size / 1e6:,.1f} MB)..."):
            raw = read_upload(uploaded.getvalue(), uploaded.name, delimiter, encoding, sheet)
        if len(raw.frame) > LARGE_FILE_ROWS:
            st.info(f"{len(raw.frame):,} rows: loading takes a while. Set **Users kept (%)** "
                    "below to work on a sample of users first.", icon=":material/speed:")
        read_options(raw.sheets)
        _reset_mapping_widgets(raw)
        file_section(ws, raw)
        return
    read_options([])


def server_section(ws: Workspace) -> None:
    """A file, or a folder of Parquet files, on the server's disk under the data root."""
    if st.session_state.get("data.upload") is not None:
        st.info("A file is chosen under **Upload a file**: remove it there to open one from "
                "the server.", icon=":material/upload:")
        return
    st.caption("Files under the data root are read where they lie, so they may be larger "
               "than an upload. A folder of Parquet files opens as one table. The read "
               "options of **Upload a file** apply.")
    options = ReadOptions(delimiter=st.session_state.get("data.delimiter", "auto"),
                          encoding=st.session_state.get("data.encoding", "auto"),
                          max_bytes=server_files.MAX_BYTES)
    with shows_errors():
        raw = server_browser(current_deployment(), options)
        if raw is None:
            return
        if len(raw.frame) > LARGE_FILE_ROWS:
            st.info(f"{len(raw.frame):,} rows: loading takes a while. Set **Users kept (%)** "
                    "below to work on a sample of users first.", icon=":material/speed:")
        _reset_mapping_widgets(raw)
        file_section(ws, raw)


def file_section(ws: Workspace, raw: RawTable) -> None:
    facts = [f"{len(raw.frame):,} rows", f"{len(raw.frame.columns)} columns",
             raw.file_format.upper()]
    if raw.delimiter:
        facts.append(f"delimiter {DELIMITERS.get(raw.delimiter) or inert(raw.delimiter)}")
    if raw.encoding:
        facts.append(f"encoding {raw.encoding.replace('-sig', '')}")
    st.caption(f"**{inert(raw.name)}** · " + " · ".join(facts))
    if raw.provenance:
        st.info(inert(raw.provenance), icon=":material/conversion_path:")
    for note in raw.notes:
        st.warning(inert(note), icon=":material/info:")
    st.dataframe(raw.frame.head(20), height=240, width="stretch")
    guess = guess_mapping(raw.frame.columns, raw.frame)
    kinds = ["An event log (one row per event)", "A per-user table (one row per user)"]
    kind = st.radio("This file is", kinds, index=0 if guess.get("ts") else 1,
                    horizontal=True, key="data.kind")
    if kind == kinds[1]:
        user_table_form(ws, raw, guess.get("user_id"))
        return
    if not guess.get("user_id") or not guess.get("ts"):
        missing = [ROLE_LABELS[r].lower() for r in ("user_id", "ts") if not guess.get(r)]
        st.warning(f"No column looks like a {' or a '.join(missing)}. Pick the right columns "
                   "in the mapping below.", icon=":material/help:")
    mapping = mapping_widgets(raw)
    roles = funnel_widgets(raw, mapping)
    config = load_options(mapping, [str(c) for c in raw.frame.columns])
    if st.button("Load events", type="primary", key="data.load", icon=":material/play_arrow:",
                 **edit_lock()):
        update, close = progress_bar("Loading")
        with shows_errors():
            actions.load_events_into(ws, raw.frame, raw.name, mapping, config, roles,
                                      progress=update)
            st.session_state["data.key_pending"] = bool(ws.data.pseudonym_key)
            st.session_state["data.loaded_message"] = (
                f"Loaded {ws.data.events:,} events of {ws.data.users:,} users "
                f"from {inert(raw.name)}.")
        close()
        if "data.loaded_message" in st.session_state:
            st.rerun()  # redraw the sidebar with the new dataset


def user_table_form(ws: Workspace, raw: RawTable, guessed_user: str | None) -> None:
    columns = [str(c) for c in raw.frame.columns]
    user_col = st.selectbox("User id column", columns,
                            index=columns.index(guessed_user) if guessed_user in columns else 0,
                            key="data.user_table.user_id")
    st.caption("Numeric columns become the features directly; sessions and behavioral "
               "features are skipped.")
    if st.button("Load per-user table", type="primary", key="data.load_users",
                 **edit_lock()):
        with shows_errors():
            actions.load_user_table_into(ws, raw.frame, raw.name, user_col)
            st.session_state["data.loaded_message"] = (
                f"Loaded {ws.data.users:,} users with "
                f"{len(ws.features.columns)} features from {inert(raw.name)}.")
            st.rerun()


def sample_section(ws: Workspace) -> None:
    st.markdown(
        "A generated online shop (seeded, made on this machine): page views, product "
        "views, search, scroll, video, cart, checkout, purchases and coupons, with six "
        "planted personas — loyal high-value buyers, bargain hunters, cart abandoners, "
        "content explorers, new visitors and dormant users — plus a few bots.")
    cols = st.columns(3)
    n_users = cols[0].number_input("Users", min_value=100, max_value=200_000, value=5000,
                                   step=500, key="data.sample.users")
    days = cols[1].number_input("Days", min_value=14, max_value=365, value=90, step=7,
                                key="data.sample.days")
    seed = cols[2].number_input("Seed", min_value=0, max_value=2**31 - 1, value=42,
                                key="data.sample.seed")
    if n_users > 50_000:
        st.caption(f"About {int(n_users) * 55:,} events: generating takes a few seconds.")
    if st.button("Load sample", type="primary", key="data.sample.load",
                 icon=":material/science:", **edit_lock()):
        update, close = progress_bar("Sample")
        with shows_errors():
            update(0.02, "Generating events")
            events = sample_events(int(n_users), int(days), int(seed))
            actions.load_sample_into(ws, events, int(n_users), int(days), int(seed),
                                      progress=update)
            st.session_state["data.loaded_message"] = (
                f"Loaded the sample: {ws.data.events:,} events of "
                f"{ws.data.users:,} users.")
        close()
        if "data.loaded_message" in st.session_state:
            st.rerun()


def workspaces_section(ws: Workspace) -> None:
    team = current_deployment().team
    st.caption("Every step is saved as it finishes (a visit saves nothing until its first "
               "step). Reopen an earlier analysis here; the page address (…?ws=id) also "
               "brings it back after a refresh or a restart."
               + (" Listed: your workspaces and those shared with you." if team else ""))
    usage_line(ws)
    who = identity()
    saved = [w for w in list_workspaces(visible=access.visible_to(who) if team else None)
             if w["id"] != ws.id]
    if st.button("Start a new empty workspace", key="data.new_workspace",
                 icon=":material/add:"):
        new_workspace()
        st.rerun()
    if not saved:
        st.caption("No other saved workspaces.")
        return
    for item in saved[:10]:
        granted = access.read_access(item["id"]).role(who) if team else "owner"
        cols = st.columns([3, 2, 1, 1])
        whose = "" if granted == "owner" else f" · shared with you ({granted})"
        cols[0].markdown(f"**{inert(item['dataset'])}** · `{item['id']}`{whose}")
        cols[1].caption(f"saved {item['updated'].replace('T', ' ').rstrip('Z')} UTC")
        if cols[2].button("Open", key=f"data.open.{item['id']}"):
            with shows_errors():
                open_saved(item["id"])
                st.rerun()
        if granted == "owner" and cols[3].button(
                "Delete", key=f"data.delete.{item['id']}", icon=":material/delete:",
                help="Removes the workspace and its files from the server; it cannot be "
                     "undone."):
            delete_saved(item["id"])
            st.rerun()


def usage_line(ws: Workspace) -> None:
    """How much disk this analyst's workspaces use, against the quota when there is one."""
    deployment = current_deployment()
    if deployment.quota_bytes is None:
        return
    owner = identity()
    used = usage(owner, deployment.team)
    share = used / deployment.quota_bytes
    st.progress(min(share, 1.0), text=f"Your workspaces use {human_bytes(used)} of "
                f"{human_bytes(deployment.quota_bytes)} ({share:.0%}).")


def key_once(ws: Workspace) -> None:
    if not (ws.data.pseudonym_key and st.session_state.get("data.key_pending")):
        return
    with st.container(border=True):
        st.warning("User ids were pseudonymised. This is the key — copy it now; it is "
                   "shown only once. With it, later files can be pseudonymised the same "
                   "way; without it, ids cannot be traced back.", icon=":material/key:")
        st.code(ws.data.pseudonym_key, language=None)
        if st.button("I have saved the key", key="data.key_done"):
            st.session_state["data.key_pending"] = False
            st.rerun()


def report_section(ws: Workspace) -> None:
    if not ws.data.loaded:
        st.info("No data loaded yet: upload a file or load the sample above.")
        return
    if ws.data.kind == "users":
        st.subheader("Per-user table")
        features = ws.features
        cols = st.columns(3)
        cols[0].metric("Users", f"{len(features):,}")
        cols[1].metric("Numeric features", len(features.columns))
        cols[2].metric("Missing values", f"{int(features.isna().sum().sum()):,}")
        show_notices(ws.feature_info.notices)
        return
    report = ws.data.report
    st.subheader(f"Load report · {inert(report.source)}")
    cols = st.columns(3)
    cols[0].metric("Rows read", f"{report.rows_read:,}", border=True)
    cols[1].metric("Rows kept", f"{report.rows_kept:,}", border=True)
    cols[2].metric("Rows dropped", f"{report.rows_dropped:,}", border=True,
                   help="Every dropped row is counted by reason in the table below.")
    cols = st.columns(3)
    cols[0].metric("Users", f"{report.users:,}", border=True)
    cols[1].metric("Sessions", f"{report.sessions:,}", border=True)
    days = (pd.Timestamp(report.last_ts) - pd.Timestamp(report.first_ts)).days + 1
    cols[2].metric("Days", f"{days:,}", border=True,
                   help=f"{report.first_ts} → {report.last_ts} (UTC)")
    left, right = st.columns([3, 2])
    with left:
        dropped = pd.DataFrame(
            [(DROP_REASONS[k], v, v / report.rows_read if report.rows_read else 0)
             for k, v in report.dropped.items()],
            columns=["Reason", "Rows dropped", "Share of rows read"])
        st.dataframe(dropped, hide_index=True, width="stretch", column_config={
            "Rows dropped": st.column_config.NumberColumn(format="localized"),
            "Share of rows read": st.column_config.NumberColumn(format="percent")})
    with right:
        facts = [
            f"Timestamps read as {report.timestamp_format}.",
            f"Sessions from the {report.session_source}.",
            f"Debounce {report.debounce_reason or f'{report.debounce_seconds:g} s'}.",
            f"Local time {inert(report.time_zone)} ({report.time_zone_reason}).",
            *([f"No event column: every row is one '{inert(report.constant_event)}' event."]
              if report.constant_event else []),
            f"Date range {report.first_ts} → {report.last_ts} (UTC).",
        ]
        if report.pseudonymised:
            facts.append("User ids are pseudonymised (HMAC-SHA-256).")
        if report.pii_columns_dropped:
            pii = ", ".join(map(inert, report.pii_columns_dropped))
            facts.append(f"Personal-data columns dropped: {pii}.")
        if report.users_without_consent:
            facts.append(f"{report.users_without_consent:,} users without consent were excluded.")
        st.markdown("\n".join(f"- {f}" for f in facts))
    show_notices(report.notices)
    if report.suspected_bot_count and st.button(
            f"Exclude the {report.suspected_bot_count:,} suspected bot(s)",
            key="data.exclude_bots", icon=":material/smart_toy:",
            **edit_lock(help="Drop their events (counted in the load report) and recompute "
                        "the features. Listed: "
                        + ", ".join(map(inert, report.suspected_bots[:10])))):
        with shows_errors():
            actions.exclude_suspected_bots(ws)
            st.session_state["data.loaded_message"] = (
                f"Excluded {report.suspected_bot_count:,} suspected bot(s).")
            st.rerun()
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.events_per_day(report.events_per_day), key="data.chart.per_day")
    # Event names are the data's: escaped, as plotly renders HTML in axis labels.
    top = [(esc(event), count) for event, count in report.top_events]
    right.plotly_chart(charts.top_events(top), key="data.chart.top_events")
    if report.missing_by_column:
        missing = pd.DataFrame(
            [(c, n, n / report.rows_kept) for c, n in report.missing_by_column.items()],
            columns=["Column", "Missing values", "Share of kept rows"])
        st.markdown("**Columns with missing values** (after cleaning)")
        st.dataframe(missing, hide_index=True, column_config={
            "Missing values": st.column_config.NumberColumn(format="localized"),
            "Share of kept rows": st.column_config.NumberColumn(format="percent")})
    with st.expander("Column mapping and settings used"):
        mapped = {ROLE_LABELS[r]: c for r, c in ws.data.mapping.items() if c}
        st.json({"mapping": mapped, "funnel events": ws.data.event_roles,
                 "settings": ws.data.load_config.to_dict() if ws.data.load_config else {}})


upload_tab, server_tab, sample_tab, saved_tab = st.tabs(
    ["Upload a file", "On the server", "Sample: online shop", "Saved workspaces"])
with upload_tab:
    upload_section(ws)
with server_tab:
    server_section(ws)
with sample_tab:
    sample_section(ws)
with saved_tab:
    workspaces_section(ws)

message = st.session_state.pop("data.loaded_message", None)
if message:
    large = ws.data.report.large_drops() if ws.data.report else {}
    if large:
        # A rule that removed a noticeable share of the rows must not look like success.
        st.warning(message + " But " + "; ".join(
            f"{n / ws.data.report.rows_read:.1%} of the rows were dropped as "
            f"{DROP_REASONS[reason]} ({inert(DROP_SETTINGS[reason])})"
            for reason, n in large.items())
            + " Check the load report below before going on.", icon=":material/warning:")
    else:
        st.success(message + " Features are ready on the Features page.",
                   icon=":material/check_circle:")
key_once(ws)
st.divider()
report_section(ws)
