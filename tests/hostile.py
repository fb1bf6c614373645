"""A workspace whose every name is a Markdown or HTML injection: file, dataset, persona
(and its texts), segment, saved selection, rule, event and a dropped column. Page and
browser tests open it and check that every name shows as typed."""

from __future__ import annotations

from core.data.cleaning import LoadConfig
from core.data.mapping import guess_mapping
from core.data.sample import generate_sample
from core.rules import Rule, RuleSet
from core.rules.grammar import parse_rule
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.segment.rule_segments import rule_from_rows
from core.workspace import actions, personas
from core.workspace.rules import context_from_workspace, store_rules
from core.workspace.segments import save_segment, set_segment_rules

IMAGE = "![x](https://evil.example/p.png)"
LINK = "[click](https://phish.example)"
TAG = "<img src=x onerror=alert(1)>"
FILE = f"{IMAGE} {TAG} **bold**.csv"
PERSONA = f"{LINK} **bold** <b>p</b>"
SEGMENT = ":red[alarm] $x^2$ <b>seg</b>"
SELECTION = f"{IMAGE} :material/home:"
RULE = f"{TAG} {LINK}"
EVENT = '<a href="https://phish.example">ev</a>'
COLUMN = "<b>email</b> :material/mail:"
CONTENT = "**B** :red[b] <b>v</b>"
VARIANT = "[win](https://phish.example) **B**"
#: Text of the names that plotly would render as HTML.
TAGS = ["<img src=x", "<b>p</b>", "<b>seg</b>", "<b>email</b>", "<a href="]


def fill_hostile_workspace(ws) -> None:
    """Fill ``ws`` with a small sample whose every name is an injection."""
    sample = generate_sample(n_users=400, days=60, seed=3)
    events = sample.events.replace({"event": {"video_play": EVENT}})
    events[COLUMN] = "someone@example.com"
    actions.load_events_into(ws, events, FILE, guess_mapping(sample.events.columns),
                             LoadConfig(pii_columns=(COLUMN,)))
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                         ClusterConfig(k=3, random_state=0))
    personas.refresh_personas(ws)
    label = sorted(ws.personas.names)[0]
    personas.update_persona(ws, label, name=PERSONA, description=f"{IMAGE} {TAG}",
                            traits=f"{LINK}\n{SEGMENT}", preferred_content=CONTENT,
                            action=f"{TAG} $x^2$")
    row = {"feature": "sessions", "operator": ">", "value": "1", "upper": None,
           "window_days": None}
    set_segment_rules(ws, [rule_from_rows(SEGMENT, [row], "and", False, 0),
                           rule_from_rows("Plain", [row], "or", True, 1)])
    save_segment(ws, SELECTION, [str(u) for u in ws.features.index[:40]])
    vocabulary = context_from_workspace(ws).vocabulary()
    parsed = parse_rule(f'persona = "{PERSONA}" or sessions > 1 -> show welcome_module',
                        vocabulary)
    store_rules(ws, RuleSet([Rule("r1", RULE, parsed.condition, parsed.action)]))
    experiment = sample.experiment.replace({"variant": {"treatment": VARIANT}})
    actions.store_experiment_table(ws, experiment, {"name": FILE})
