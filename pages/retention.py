"""Retention page: cohort retention by week or month (N-period or unbounded), the
retention curves of the groups compared, and the lifecycle of active users, with the
tables as CSV."""

from __future__ import annotations

import json

import streamlit as st

from core.common.export import safe_csv_bytes
from core.journeys import retention_curve
from core.journeys.retention import DEFAULT_MAX_PERIODS
from core.journeys.retention_charts import lifecycle_bars, retention_curves, retention_heatmap
from ui.downloads import download_button
from ui.errors import show_notices, shows_errors
from ui.journeys import cached_lifecycle, cached_retention, events_or_stop, split_picker
from ui.journeys import version as journey_version
from ui.state import workspace
from ui.text import inert

PERIODS = {"week": "Week", "month": "Month"}
MODES = {"n_period": "N-period", "unbounded": "Unbounded"}
EVERYONE = "Everyone"
#: Curve points need at least this many users in their cohorts to be drawn (the share
#: of fewer users moves by 5 points or more with each user).
MIN_CURVE_USERS = 20

ws = workspace()
st.title("Retention")
st.caption("Of the users first seen in each week or month, how many come back, per "
           "persona or segment; and how the active users split into new, returning and "
           "resurrected, with those who went dormant.")
events = events_or_stop(ws)
key = journey_version(ws)
report = ws.data.report
tz = report.time_zone if report is not None and report.time_zone else "UTC"

# ---------------------------------------------------------------------------- settings
row = st.container(horizontal=True, vertical_alignment="top")
period = row.radio("Period", list(PERIODS), format_func=PERIODS.get, horizontal=True,
                   key="retention.period", width="content")
mode = row.radio(
    "Retained in period k when", list(MODES), format_func=MODES.get,
    key="retention.mode", width=330,
    captions=[f"active in exactly the k-th {period} after their first (Amplitude's and "
              "Mixpanel's N-day retention)",
              f"active in the k-th {period} or any later one, so the share never rises "
              "with k"])
max_periods = row.number_input(f"{PERIODS[period]}s after the first", 1, 120,
                               DEFAULT_MAX_PERIODS, 1, key="retention.max_periods",
                               width=170)
by, groups = split_picker(ws, "retention.split", container=row.container(width=260))
calendar = ("ISO weeks, Monday 00:00 to Sunday 24:00" if period == "week"
            else "calendar months")
zone_reason = f" ({inert(report.time_zone_reason)})" \
    if report is not None and report.time_zone_reason else ""
st.caption(f"A user's cohort is the {period} of their first event in the data; periods "
           f"are {calendar} in the data's time zone, {inert(tz)}{zone_reason}.")

settings = {"period": period, "mode": mode, "max_periods": int(max_periods), "tz": tz}
lifecycle_settings = {"period": period, "tz": tz}
result = lifecycle = None
with shows_errors():
    result = cached_retention(key, json.dumps(settings, sort_keys=True), by, events, groups)
    lifecycle = cached_lifecycle(key, json.dumps(lifecycle_settings, sort_keys=True), by,
                                 events, groups)
if result is None or lifecycle is None:
    st.info("Nothing to show: the cohort heatmap, the retention curves and the lifecycle "
            f"need events in at least two {period}s.", icon=":material/info:")
    st.stop()

# ----------------------------------------------------------------------------- results
seen = set()
notices = []
for notice in [*result.notices, *lifecycle.attrs.get("notices", [])]:
    if (notice.code, notice.message) not in seen:
        seen.add((notice.code, notice.message))
        notices.append(notice)
show_notices(notices, infos="caption")

cohorts = result.table[result.table["period"] == 0]
cols = st.columns(3)
cols[0].metric("Users in cohorts", f"{int(cohorts['cohort_size'].sum()):,}")
cols[1].metric("Cohorts", f"{cohorts['cohort_label'].nunique():,}")
cols[2].metric(f"{PERIODS[period]}s in the data", f"{lifecycle['period_label'].nunique():,}",
               help="From the first to the last event, the first and last ones counted "
                    "even when the data covers only part of them.")
st.caption(f"Events from {result.data_start:%Y-%m-%d %H:%M} to "
           f"{result.data_end:%Y-%m-%d %H:%M} ({inert(result.tz)}).")

choices = [EVERYONE, *result.groups] if groups is not None else [EVERYONE]
chosen = st.selectbox("Heatmap and lifecycle of", choices, key="retention.group",
                      width=320, disabled=len(choices) == 1,
                      help="Everyone together, or one group of the split.")
group = None if chosen == EVERYONE else chosen

st.subheader("Cohorts")
st.plotly_chart(retention_heatmap(result, group), key="retention.heatmap")
st.caption(inert(result.convention) + " Each row is a cohort with its size; each cell the "
           "share retained and the users.")

st.subheader("Retention curves")
curve = retention_curve(result)
# A point resting on a handful of users swings from 0 to 100 % and reads as a trend.
steady = curve[curve["users"] >= MIN_CURVE_USERS]
st.plotly_chart(retention_curves(steady), key="retention.curves")
left_out = len(curve) - len(steady)
st.caption("Per group and period: the retained users of every cohort observed that far "
           "over their cohorts' users, so large cohorts weigh more and late periods rest "
           "on the early cohorts only." +
           (f" {left_out:,} points resting on fewer than {MIN_CURVE_USERS} users are left "
            "out (the CSV has them)." if left_out else "") +
           ("" if groups is not None else " Split by persona or segment to compare groups."))

st.subheader("Lifecycle")
st.plotly_chart(lifecycle_bars(lifecycle, group), key="retention.lifecycle")
st.caption(inert(lifecycle.attrs.get("convention", "")))

files = st.container(horizontal=True)
version = (key, json.dumps(settings, sort_keys=True))
download_button("Download the cohort table (CSV)", key="retention.download_cohorts",
                version=version, container=files,
                build=lambda: safe_csv_bytes(result.table, index=False),
                file_name=f"retention_{period}_{mode}.csv", mime="text/csv",
                icon=":material/download:")
download_button("Download the curves (CSV)", key="retention.download_curves",
                version=version, container=files,
                build=lambda: safe_csv_bytes(curve, index=False),
                file_name=f"retention_curves_{period}_{mode}.csv", mime="text/csv",
                icon=":material/download:")
download_button("Download the lifecycle (CSV)", key="retention.download_lifecycle",
                version=(key, json.dumps(lifecycle_settings, sort_keys=True)),
                container=files,
                build=lambda: safe_csv_bytes(lifecycle, index=False),
                file_name=f"lifecycle_{period}.csv", mime="text/csv",
                icon=":material/download:")
