"""Rules page: IF conditions THEN action, written in a form or as one line of text;
reach, conflicts and overlaps before launch; 'Why am I seeing this?'; export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.common.export import safe_csv_bytes
from core.common.style import esc
from core.rules import (
    COUNT_CHOICE,
    MODULES,
    OPS,
    Action,
    Rule,
    RuleSet,
    ServeSettings,
    check_starters,
    condition_from_rows,
    condition_mask,
    evaluation_table,
    explain_user,
    holdout_table,
    read_rules,
    rules_json_bytes,
    simulate,
    starter_rules,
    window_counts_needed,
    with_items,
)
from core.rules.grammar import RuleSyntaxError, format_rule, parse_rule
from core.rules.model import RECOMMENDATION_MODULES
from core.workspace.recommend import check_settings, recommend_settings
from core.workspace.rules import recommended_items, shows_recommendations, store_rules
from ui.downloads import download_button
from ui.editing import can_edit, edit_lock
from ui.errors import show_notices, shows_errors
from ui.recommend import recommendations
from ui.rules import rule_context, stored_rules
from ui.state import require_features, workspace
from ui.text import code, inert

EXAMPLE = ('persona = "Cart abandoners" and days_since_last_event > 2 -> show reengage_modal '
           "in slot modal priority 10 cap 1/day holdout 10%")
OUTCOME_ICONS = {"wins": ":material/check_circle:", "shown after caps": ":material/repeat:",
                 "lost on priority": ":material/arrow_downward:",
                 "held out": ":material/science:", "not matched": ":material/block:",
                 "disabled": ":material/pause_circle:"}

#: Headers in words for the simulation's tables (the frames keep their CSV names).
REACH_HEADERS = {
    "rule_id": "Rule id", "name": "Rule", "slot": "Slot", "module": "Shows",
    "priority": "Priority",
    "users": st.column_config.NumberColumn("Users matched", format="localized"),
    "share": st.column_config.NumberColumn("Share of users", format="percent"),
    "held_out": st.column_config.NumberColumn("Held out", format="localized"),
    "wins": st.column_config.NumberColumn("Wins the slot", format="localized",
                                          help="Users who see this rule first in its slot."),
    "shown": st.column_config.NumberColumn("Shown at all", format="localized",
                                           help="Users who see it at least once a day."),
    "impressions_per_day": st.column_config.NumberColumn("Impressions per day",
                                                         format="localized")}
CONFLICT_HEADERS = {
    "slot": "Slot", "winner": "Winning rule", "loser": "Losing rule",
    "resolved_by": "Resolved by",
    "users": st.column_config.NumberColumn("Users in both", format="localized"),
    "loser_still_shown": st.column_config.NumberColumn(
        "Losing rule still shown", format="localized",
        help="Users who still see the losing rule once the winner's cap is used up.")}

ws = workspace()
st.title("Rules")
st.caption("IF conditions THEN action: map personas and recent behavior to content, see whom "
           "each rule reaches before anything ships, and hand the rules over as JSON and CSV.")
require_features(ws)


def save(rule_set: RuleSet, message: str) -> None:
    store_rules(ws, rule_set)
    st.session_state["rules.saved"] = message


def load_into_text_box(rule: Rule) -> None:
    """on_click: put a rule into the text box for editing (its id is kept on save)."""
    st.session_state["rules.text"] = format_rule(rule.condition, rule.action)
    st.session_state["rules.text_name"] = rule.name
    st.session_state["rules.editing"] = rule.id


def add_rule(rule_set: RuleSet, name: str, condition, action: Action) -> None:
    name = (name or "").strip()
    if not name:
        st.error("Give the rule a name.", icon=":material/error:")
        return
    editing = st.session_state.get("rules.editing")
    rule_id = editing if editing in {r.id for r in rule_set.rules} else rule_set.new_id(name)
    save(rule_set.upsert(Rule(rule_id, name, condition, action)), f"Saved rule '{inert(name)}'.")
    st.session_state.pop("rules.editing", None)
    st.rerun()


def text_rule_editor(rule_set: RuleSet, vocabulary, base) -> None:
    """The rule as text (one line or several), its reach, and the syntax help."""
    text_name = st.text_input("Rule name", key="rules.text_name",
                              placeholder="e.g. Win back cart abandoners")
    text = st.text_area("Rule", key="rules.text", placeholder=EXAMPLE, height=110,
                        help="CONDITION -> show MODULE [in slot SLOT] [priority N] "
                             "[cap N/session or N/day] [holdout P%]. Line breaks are "
                             "spaces; Ctrl+Enter applies the text.")
    parsed = None
    if text.strip():
        try:
            parsed = parse_rule(text, vocabulary)
        except RuleSyntaxError as error:
            st.error(inert(f"{error.problem} ({error.where})."), icon=":material/error:")
            st.code(error.pointer(), language=None)
            if error.valid:
                st.caption("Valid here: " + ", ".join(map(code, error.valid[:60])))
    if parsed is not None:
        show_notices(parsed.notices)
        preview_ctx = rule_context(ws, window_counts_needed(
            [Rule("preview", "preview", parsed.condition, parsed.action)]))
        reach = int(condition_mask(parsed.condition, preview_ctx).sum())
        n_users = len(preview_ctx.users)
        row = st.container(horizontal=True, vertical_alignment="bottom")
        row.metric("Reach of this rule", f"{reach:,} users",
                   f"{reach / max(n_users, 1):.1%} of {n_users:,}", delta_color="off",
                   delta_arrow="off", width="content")
        editing = st.session_state.get("rules.editing")
        label = f"Save changes to '{inert(editing)}'" if editing else "Add rule"
        if row.button(label, key="rules.text_add", type="primary", **edit_lock()):
            add_rule(rule_set, text_name, parsed.condition, parsed.action)
    with st.expander("Syntax and names", icon=":material/help:"):
        st.markdown(
            "`CONDITION -> show MODULE [in slot SLOT] [priority N] [cap N/session | "
            "N/day] [holdout P%]`\n\n"
            "Compare a name with `> >= < <= = !=`; combine with `and`, `or`, `not` and "
            "parentheses. `persona = \"...\"`, `segment = \"...\"`, "
            "`count(add_to_cart, 7d) >= 2` (days `d` or hours `h`). A rule may take several "
            "lines. Defaults: the module's usual slot, priority 0, cap 3/session, no "
            "hold-out.")
        definitions = base.definitions
        names = pd.DataFrame({"Name": vocabulary.subjects(),
                              "Meaning": [definitions.get(n, "") for n in
                                          vocabulary.subjects()]})
        names.loc[names["Name"] == "persona", "Meaning"] = \
            "Persona: " + ", ".join(vocabulary.personas or ["(none yet)"])
        names.loc[names["Name"] == "segment", "Meaning"] = \
            "Segment: " + ", ".join(vocabulary.segments or ["(none yet)"])
        st.dataframe(names, hide_index=True, width="stretch", key="rules.names")
        st.caption("Events for count(): " + ", ".join(map(inert, vocabulary.events)))


def form_rule_editor(rule_set: RuleSet, vocabulary) -> None:
    """The rule from a form: condition rows, how they combine, and the action."""
    form_name = st.text_input("Rule name", key="rules.form.name",
                              placeholder="e.g. Welcome new visitors")
    subjects = [*vocabulary.subjects(), COUNT_CHOICE]
    rows = st.data_editor(
        # Counts' event and window last: most conditions do not need them.
        pd.DataFrame({"what": [None], "op": [">"], "value": [""], "event": [None],
                      "window": ["7d"]}),
        num_rows="dynamic", key="rules.form.conditions", width="stretch",
        column_config={
            "what": st.column_config.SelectboxColumn("Compare", options=subjects,
                                                     width="medium"),
            "event": st.column_config.SelectboxColumn(
                "Event", options=list(vocabulary.events), width="small",
                help="For a count of an event: which event."),
            "window": st.column_config.TextColumn(
                "Window", width="small", help="For a count: e.g. 7d or 48h."),
            "op": st.column_config.SelectboxColumn("Op", options=list(OPS), width="small",
                                                   default=">"),
            "value": st.column_config.TextColumn(
                "Value", width="small",
                help="A number, or a persona, segment or text value.")})
    row = st.container(horizontal=True, vertical_alignment="center")  # wraps at 1024 px
    combine = row.radio("Combine", ["and", "or"], horizontal=True,
                        format_func=str.upper, key="rules.form.combine")
    negate = row.checkbox("NOT (the opposite)", key="rules.form.negate")
    cols = st.columns([2, 2, 1])
    module = cols[0].selectbox("Show", list(MODULES), key="rules.form.module",
                               format_func=lambda m: MODULES[m][0])
    slot = cols[1].text_input("In slot", key="rules.form.slot",
                              placeholder=MODULES[module][1],
                              help="Where it shows; empty: the module's usual slot.")
    priority = cols[2].number_input("Priority", -1000, 1000, 0, key="rules.form.priority")
    cols = st.columns([2, 2, 1])
    cap = cols[0].number_input("Cap", 1, 100, 3, key="rules.form.cap")
    per = cols[1].selectbox("Per", ["session", "day"], key="rules.form.per")
    holdout = cols[2].number_input("Hold-out %", 0.0, 99.0, 0.0, 1.0,
                                   key="rules.form.holdout")
    form_rule = None
    # A half-filled form is said here; the rules and the simulation below stay.
    with shows_errors():
        if any(str(v or "").strip() for v in rows["value"]):
            condition = condition_from_rows(rows.to_dict("records"), combine, negate)
            action = Action(module, slot.strip() or MODULES[module][1], int(priority),
                            int(cap), per, float(holdout))
            action.validate()
            # Checked like typed text, so both ways give the same messages.
            form_rule = parse_rule(format_rule(condition, action), vocabulary)
            st.caption("The same rule as text:")
            st.code(format_rule(form_rule.condition, form_rule.action), language=None)
    if st.button("Add rule from the form", key="rules.form.add",
                 **edit_lock(disabled=form_rule is None)):
        add_rule(rule_set, form_name, form_rule.condition, form_rule.action)


def starter_section(rule_set: RuleSet) -> None:
    """The common-practice starters with their reach; those that duplicate a rule or
    reach under 1 % of users are flagged and not ticked."""
    starters = starter_rules(rule_context(ws))
    context = rule_context(ws, window_counts_needed(starters.rules))
    checks = check_starters(starters.rules, rule_set, context)
    flagged = sum(not c.recommended for c in checks)
    label = "Starter rules" + (f" · {flagged} flagged" if flagged else "")
    with st.expander(label, icon=":material/auto_awesome:", expanded=not rule_set.rules):
        st.caption("Common practice from the personas: engaged → recommendation carousel, "
                   "churn risk → re-engagement modal, new visitor → welcome module, loyal "
                   "→ loyalty offer. Each is editable once added." +
                   "".join(f" {inert(n.message)}" for n in starters.notices))
        table = pd.DataFrame({
            "add": [c.recommended for c in checks],
            "name": [c.rule.name for c in checks],
            "users": [c.users for c in checks],
            "share": [c.share for c in checks],
            "flag": ["; ".join(c.problems) for c in checks],
            "rule": [format_rule(c.rule.condition, c.rule.action) for c in checks]})
        # The key follows the starters and the rules, so a tick never lands on another.
        key = "rules.starter_table." + str(abs(hash((tuple(table["rule"]),
                                                     tuple(table["flag"])))))
        ticked = st.data_editor(
            table, hide_index=True, width="stretch", key=key,
            disabled=["name", "users", "share", "flag", "rule"],
            column_config={
                "add": st.column_config.CheckboxColumn("Add", width="small"),
                "name": st.column_config.TextColumn("Rule name"),
                "users": st.column_config.NumberColumn("Users reached", format="localized"),
                "share": st.column_config.NumberColumn("Share of users", format="percent"),
                "flag": st.column_config.TextColumn("Why not ticked"),
                "rule": st.column_config.TextColumn("Rule", width="large")})
        chosen = [c.rule for c, on in zip(checks, ticked["add"], strict=True) if on]
        if st.button(f"Add {len(chosen)} starter rule(s)", key="rules.starters",
                     **edit_lock(disabled=not chosen)):
            updated = rule_set
            for rule in chosen:
                updated = updated.upsert(rule)
            save(updated, f"Added {len(chosen)} starter rule(s).")
            st.rerun()


def reach_chart(reach: pd.DataFrame):
    """Share of users each rule matches, labelled with the count."""
    # Rule names label the axes: escaped, as plotly renders HTML in labels.
    fig = px.bar(reach.assign(name=reach["name"].map(esc)), x="share", y="name",
                 orientation="h", text=reach["users"].map("{:,}".format),
                 title="Reach per rule (share of users)", labels={"name": "", "share": "share"})
    fig.update_layout(height=max(260, 40 * len(reach) + 120), xaxis_tickformat=".0%",
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def overlap_chart(sim):
    """Of each row rule's users, the share the column rule also matches (the diagonal is
    100 %); the counts are in the cells, names shortened to stay readable."""
    ids = list(sim.overlap.index)
    counts = sim.overlap.to_numpy()
    own = np.maximum(np.diag(counts), 1)
    share = counts / own[:, None]
    short = [esc(_short(next(r.name for r in sim.rules if r.id == i))) for i in ids]
    text = [[f"{share[r, c]:.0%}<br>{counts[r, c]:,}" for c in range(len(ids))]
            for r in range(len(ids))]
    fig = go.Figure(go.Heatmap(
        z=share, x=short, y=short, text=text, texttemplate="%{text}", zmin=0, zmax=1,
        colorscale="Blues", colorbar={"title": "share", "tickformat": ".0%"},
        hovertemplate="%{y} → also %{x}: %{text}<extra></extra>"))
    fig.update_layout(title="Overlap between rules", height=max(320, 48 * len(ids) + 170),
                      margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      yaxis={"autorange": "reversed"}, xaxis={"tickangle": -30})
    return fig


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


#: Ids a picker lists at most (any other id can be typed).
PICKER_LIMIT = 1000


def pick_user(users: pd.Index, persona: pd.Series | None) -> str:
    """A user id: typed, or picked (searchable) from everyone or from one persona."""
    cols = st.columns([2, 3, 3])
    groups = ["Everyone", *sorted(map(str, persona.dropna().unique()))] \
        if persona is not None else ["Everyone"]
    group = cols[0].selectbox("Pick from", groups, key="rules.user_group")
    pool = users if group == "Everyone" else persona.index[persona.astype(str) == group]
    options = sorted(map(str, pool))[:PICKER_LIMIT]
    more = len(pool) - len(options)
    picked = cols[1].selectbox(
        f"User ({len(pool):,})", options, index=None, key=f"rules.user_pick.{group}",
        placeholder="Type to search an id",
        help=f"The first {PICKER_LIMIT:,} ids in order; type any other id on the right."
             if more > 0 else "Type part of an id to search.")
    typed = cols[2].text_input("Or type a user id", key="rules.user",
                               placeholder=str(users[0]) if len(users) else "",
                               help="Which rules fire for this user, which lose on "
                                    "priority, cap or hold-out, and why, condition by "
                                    "condition.")
    return typed.strip() or (picked or "")


with shows_errors():
    rule_set = stored_rules(ws)
    base = rule_context(ws)
    vocabulary = base.vocabulary()
    if base.now is not None:
        st.caption(f"'Now' is the last timestamp in the data, {base.now:%Y-%m-%d %H:%M} UTC: "
                   "windows and hours since the last visit count back from it, so results "
                   "are the same on every run.")
    if base.persona is None:
        st.info("No personas yet: cluster users on the **Clustering** page to write persona "
                "rules. Rules on features, segments and recent behavior work now.",
                icon=":material/info:")
    saved = st.session_state.pop("rules.saved", None)
    if saved:
        st.success(saved, icon=":material/check_circle:")

    # ------------------------------------------------------------------ write a rule
    st.subheader("Write a rule")
    # Tabs give each way of writing the page's full width (side by side, both were
    # cramped at 1024 px); the text comes first, where "Edit as text" puts a rule.
    text_tab, form_tab = st.tabs(["As text", "With a form"])
    with text_tab:
        text_rule_editor(rule_set, vocabulary, base)
    with form_tab:
        form_rule_editor(rule_set, vocabulary)

    # ------------------------------------------------------------------ the rules
    st.subheader("Rules")
    starter_section(rule_set)
    if not rule_set.rules:
        st.info("No rules yet: write one above, or add starter rules.")
        st.stop()

    listing = pd.DataFrame({
        "Enabled": [r.enabled for r in rule_set.rules],
        "Id": [r.id for r in rule_set.rules],
        "Name": [r.name for r in rule_set.rules],
        "Rule": [format_rule(r.condition, r.action) for r in rule_set.rules]})
    # The key follows the list, so edits kept by the widget never land on another rule.
    list_key = "rules.list." + str(abs(hash(tuple(zip(listing["Id"], listing["Enabled"],
                                                      strict=True)))))
    edited = st.data_editor(listing, hide_index=True, width="stretch", key=list_key,
                            disabled=["Id", "Name", "Rule"] if can_edit() else True,
                            column_config={"Rule": st.column_config.TextColumn(width="large")})
    if edited["Enabled"].tolist() != listing["Enabled"].tolist():
        switched = RuleSet([Rule(r.id, r.name, r.condition, r.action, bool(on), r.description)
                            for r, on in zip(rule_set.rules, edited["Enabled"], strict=True)],
                           rule_set.settings)
        save(switched, "Switched rules on or off.")
        st.rerun()
    # Horizontal containers wrap at 1024 px instead of cutting the buttons' labels.
    row = st.container(horizontal=True, vertical_alignment="bottom")
    by_id = {r.id: r for r in rule_set.rules}
    chosen = row.selectbox("Edit a rule", list(by_id), key="rules.edit_choice",
                           format_func=lambda i: by_id[i].name, width=260)
    row.button("Edit as text", key="rules.edit", on_click=load_into_text_box,
               args=(by_id[chosen],))
    remove = row.multiselect("Remove rules", list(by_id), key="rules.remove",
                             format_func=lambda i: by_id[i].name, width=260)
    if row.button("Remove", key="rules.remove_button", **edit_lock(disabled=not remove)):
        save(rule_set.without(remove), f"Removed {len(remove)} rule(s).")
        st.rerun()

    # ------------------------------------------------------------------ simulation
    st.subheader("Simulation on the current users")
    st.caption("In each slot the matching rule with the highest priority wins (equal "
               "priorities: the earlier rule in the list). Caps share the slot's requests: "
               "each request goes to the highest rule still under its cap. Hold-out users "
               "skip the rule, as if it did not exist.")
    cols = st.columns(4)
    sessions = cols[0].number_input("Sessions per day", 1, 24,
                                    rule_set.settings.sessions_per_day, key="rules.sessions",
                                    **edit_lock())
    requests = cols[1].number_input("Slot requests per session", 1, 100,
                                    rule_set.settings.requests_per_session,
                                    key="rules.requests", **edit_lock())
    settings = ServeSettings(int(sessions), int(requests))
    if settings != rule_set.settings:
        rule_set = RuleSet(rule_set.rules, settings)
        store_rules(ws, rule_set)
    context = rule_context(ws, window_counts_needed(rule_set.enabled()))
    sim = simulate(rule_set, context)
    n = len(sim.users)
    reached = n - len(sim.unreached)
    cols = st.columns(4)
    cols[0].metric("Users", f"{n:,}")
    cols[1].metric("Reached by a rule", f"{reached:,}", f"{sim.reached_share:.1%}",
                   delta_color="off", delta_arrow="off")
    cols[2].metric("No rule reaches", f"{len(sim.unreached):,}",
                   f"{len(sim.unreached) / max(n, 1):.1%}", delta_color="off",
                   delta_arrow="off")
    cols[3].metric("In a conflict", f"{sim.conflicted_users():,}",
                   help="Users matched by two or more rules for the same slot.")
    show_notices(sim.notices, infos="caption")
    reach = sim.reach
    st.dataframe(reach, hide_index=True, width="stretch", key="rules.reach",
                 column_config=REACH_HEADERS)
    st.markdown("  \n".join(f"**{inert(row.name)}**: {row.users:,} users ({row.share:.1%}), "
                            f"wins {row.wins:,}, held out {row.held_out:,}"
                            for row in reach.itertuples()))
    chart_col, overlap_col = st.columns(2)
    with chart_col:
        st.plotly_chart(reach_chart(reach), key="rules.chart.reach")
    with overlap_col:
        if len(sim.overlap) > 1:
            st.plotly_chart(overlap_chart(sim), key="rules.chart.overlap")
            st.caption("Each cell: of the row rule's users, the share (and the number) the "
                       "column rule also matches.")
    st.markdown("**Conflicts per slot**")
    if sim.conflicts.empty:
        st.caption("No conflicts: no user is matched by two rules for the same slot.")
    else:
        st.dataframe(sim.conflicts, hide_index=True, width="stretch", key="rules.conflicts",
                     column_config=CONFLICT_HEADERS)
    if base.persona is not None and len(sim.unreached):
        st.markdown("**Users no rule reaches, by persona**")
        counts = base.persona.reindex(sim.unreached).fillna("(no persona)").value_counts()
        st.dataframe(counts.rename("users").rename_axis("persona").reset_index(),
                     hide_index=True, key="rules.unreached",
                     column_config={"persona": "Persona", "users": st.column_config.NumberColumn(
                         "Users no rule reaches", format="localized")})

    # ------------------------------------------------------------------ why
    st.subheader("Why am I seeing this?")
    user_id = pick_user(sim.users, base.persona)
    if user_id.strip():
        # An unknown id is said here; the export below stays.
        with shows_errors():
            explanation = explain_user(rule_set, context, user_id)
            shown = [f"**{inert(slot)}** → {code(by_id[w].action.module)} "
                     f"(rule '{inert(by_id[w].name)}')"
                     for slot, w in explanation.winners.items() if w]
            st.markdown(f"User **{inert(explanation.user_id)}** sees: " +
                        ("; ".join(shown) if shown else "nothing from these rules") + ".")
            if any(by_id[w].action.module in RECOMMENDATION_MODULES
                   for w in explanation.winners.values() if w):
                with shows_errors():
                    picks = recommendations(ws, recommend_settings(ws)).for_user(user_id)
                    st.markdown(f"**Recommended items** ({code('recommendation_carousel')}, "
                                "Recommendations page settings):\n" + "\n".join(
                                    f"{r.rank}. {code(r.item)}: {inert(r.reason)}"
                                    for r in picks.itertuples()))
            for verdict in explanation.verdicts:
                with st.container(border=True):
                    st.markdown(f"{OUTCOME_ICONS[verdict.outcome]} **{inert(verdict.name)}** "
                                f"({verdict.outcome}) — {inert(verdict.reason)}")
                    st.markdown("\n".join(
                        f"{'    ' * row.depth}- {'✓' if row.holds else '✗'} {code(row.text)}"
                        + (f" — user: **{inert(row.value)}**" if row.value else "")
                        for row in verdict.conditions))

    # ------------------------------------------------------------------ export
    st.subheader("Export and import")
    st.caption("Rules as versioned JSON (schema: core/rules/schemas/rules.schema.json, checked on "
               "import); the evaluation as CSV: one row per user and slot with the action, "
               "the winning rule, its explanation and the hold-out flag. Headless: "
               "`python -m core rules rules.json events.parquet -o actions.csv`.")
    downloads = st.container(horizontal=True)  # one row that wraps at 1024 px
    rules_json = rules_json_bytes(rule_set)
    # The evaluation follows the rules (with their serving settings) and the workspace.
    version = (rules_json, ws.version())
    download_button("Download rules (JSON)", key="rules.download_json", version=rules_json,
                    build=lambda: rules_json, container=downloads, file_name="rules.json",
                    mime="application/json", icon=":material/download:")
    serves_items = shows_recommendations(rule_set)
    if serves_items:
        # Without items to recommend (no item column...), the evaluation has no items.
        with shows_errors():
            serves_items = False
            check_settings(ws, recommend_settings(ws))
            serves_items = True
            st.caption(f"Users served {code('recommendation_carousel')} get their "
                       "recommended items (Recommendations page settings) in the `items` "
                       "column.")

    def evaluation_csv() -> bytes:
        table = evaluation_table(sim, context)
        if serves_items:
            recs = recommendations(ws, recommend_settings(ws))
            table = with_items(table, recommended_items(ws, recs.table))
        return safe_csv_bytes(table, index=False)

    download_button("Download evaluation (CSV)", key="rules.download_csv",
                    version=(version, ws.version("recommend")), build=evaluation_csv,
                    container=downloads, file_name="actions.csv", mime="text/csv",
                    icon=":material/download:")
    download_button("Download hold-out groups (CSV)", key="rules.download_holdouts",
                    version=version, container=downloads,
                    build=lambda: safe_csv_bytes(holdout_table(sim.rules, sim.users),
                                                 index=False),
                    file_name="holdouts.csv", mime="text/csv", icon=":material/download:")
    upload = st.file_uploader("Import rules (JSON)", type=["json"], key="rules.import",
                              **edit_lock())
    if upload is not None and st.button("Replace the rules with the file",
                                        key="rules.import_button", **edit_lock()):
        imported = read_rules(upload.getvalue())
        save(imported, f"Imported {len(imported.rules)} rule(s).")
        st.rerun()
