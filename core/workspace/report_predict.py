"""The persona report's propensity section: for each saved model, what it predicts and
how, every model's test metrics beside the recency baseline, the features that matter
and each persona's share in the high band (in words and tables, like the A/B section)."""

from __future__ import annotations

import pandas as pd

from core.predict import MODELS
from core.predict.explain import readable
from core.workspace.predict import persona_risk
from core.workspace.report_html import esc, facts_table, grid_table
from core.workspace.store import Workspace

OUTCOMES = {"churn": "Churn", "conversion": "Conversion"}


def risk_sentence(risk: pd.DataFrame | None, persona: str) -> str:
    """'Churn risk: 23 % in the high band (mean score 0.31)' for a persona card."""
    if risk is None:
        return ""
    words = {"churn": "Churn risk", "conversion": "Likely to convert"}
    return " · ".join(f"{words[r.target]}: {risk_text(r)}"
                      for r in risk[risk["persona"] == persona].itertuples())


def risk_text(row) -> str:
    """'23 % in the high band (mean score 0.31)', with the lapsed share first if any."""
    if row.scored == 0:
        return f"all {row.users:,} lapsed (no recent event), none scored"
    lapsed = f"{row.lapsed_share:.0%} lapsed (not scored); of the others, " \
        if row.lapsed_share > 0 else ""
    return f"{lapsed}{row.high_share:.0%} in the high band (mean score {row.mean_score:.2f})"


def _target_html(target: str, entry: dict) -> str:
    labels = entry["config"]["labels"]
    summary = entry["summary"]
    population = (f"users with an event in the {labels['active_within_days']} days before "
                  "the cutoff" if labels.get("active_within_days") else
                  "every user seen before the cutoff")
    what = ("no event in the horizon" if target == "churn" else
            f"{', '.join(labels['target_events'])} in the horizon")
    facts = [("Outcome", what), ("Test cutoff", labels["cutoff"]),
             ("Trained at", summary["train_cutoff"]),
             ("Horizon", f"{labels['horizon_days']} days"), ("Who is labelled", population),
             ("Test users", f"{summary['test_users']:,} ({summary['test_positive_rate']:.1%} "
                            "positive)"),
             ("Scores from", f"{MODELS[entry['model_key']].name}, fitted again at the test "
                             f"cutoff, saved {entry['saved']}")]
    rows = [{"Model": m["model"],
             "ROC-AUC [95 %]": f"{m['roc_auc']:.3f} [{m['roc_auc_low']:.3f}, "
                               f"{m['roc_auc_high']:.3f}]",
             "PR-AUC [95 %]": f"{m['pr_auc']:.3f} [{m['pr_auc_low']:.3f}, "
                              f"{m['pr_auc_high']:.3f}]",
             "Brier": f"{m['brier']:.3f}", "Lift, top 10 %": f"{m['lift_top10']:.2f}×"}
            for m in summary["metrics"]]
    top = ", ".join(readable(r["feature"]) for r in summary.get("importance", [])[:5])
    return (f"<h3>{esc(OUTCOMES[target])}</h3>{facts_table(facts)}{grid_table(rows)}"
            f"<p>Features that matter most (drop in test ROC-AUC when shuffled): "
            f"{esc(top)}.</p>")


def propensity_section(ws: Workspace) -> str:
    """The section, or nothing when no model is saved."""
    if not ws.prediction.targets:
        return ""
    parts = ["<section><h2>Propensity</h2><p>Models learn at the cutoff minus one horizon "
             "and are tested at the cutoff on users they never saw. ROC-AUC counts ties as "
             "half; PR-AUC is average precision; intervals are 95 % percentile bootstrap "
             "over test users (200 resamples).</p>"]
    parts += [_target_html(t, e) for t, e in ws.prediction.targets.items()]
    risk = persona_risk(ws)
    if risk is not None:
        rows = [{"Persona": r.persona, "Outcome": OUTCOMES[r.target], "Users": f"{r.users:,}",
                 "Lapsed (not scored)": f"{r.lapsed_share:.0%}",
                 "High band (of scored)": "—" if r.scored == 0 else f"{r.high_share:.0%}",
                 "Mean score": "—" if r.scored == 0 else f"{r.mean_score:.2f}"}
                for r in risk.itertuples()]
        parts.append("<h3>Per persona</h3>" + grid_table(rows))
    return "".join(parts) + "</section>"
