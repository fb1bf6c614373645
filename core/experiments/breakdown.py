"""Breakdowns of an experiment: per segment (persona, hold-out, device...) with corrected
p-values and a Simpson's-paradox check, and cumulative results over time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.common.errors import PersonaLensError
from core.common.notices import Notice
from core.experiments.adjust import msprt_p_value
from core.experiments.arms import ArmStats, arm_sums, take
from core.experiments.compare import SEQUENTIAL_TAU_SHARE
from core.experiments.frequentist import (
    adjust_pvalues,
    compare_two_proportions,
    fisher_test,
    means_test_from_stats,
    too_few_to_estimate,
)
from core.experiments.inputs import ExperimentSpec

SEGMENT_COLUMNS = ["segment", "metric", "variant", "control_n", "treatment_n",
                   "control_value", "treatment_value", "difference", "ci_low", "ci_high",
                   "relative_lift", "p_value", "p_adjusted", "significant"]


def _pair(kind: str, n, means, sds, sums, i: int, spec: ExperimentSpec):
    if kind == "conversion":
        return compare_two_proportions(sums[0], n[0], sums[i], n[i], spec.alpha,
                                       spec.alternative, spec.interval)
    return means_test_from_stats(means[0], sds[0], n[0], means[i], sds[i], n[i], spec.alpha,
                                 spec.alternative)


def segment_table(arms: list[ArmStats], segments: np.ndarray, names: list[str],
                  spec: ExperimentSpec) -> pd.DataFrame:
    """Each metric x treatment within each segment; p-values corrected per metric over
    every segment x treatment (the chosen correction)."""
    seg_codes, seg_names = pd.factorize(pd.Series(segments, dtype=object), sort=True)
    k, rows = len(names), []
    for arm in arms:
        if arm.codes is None:
            continue
        seg = take(seg_codes, arm.rows)
        for s, label in enumerate(seg_names):
            inside = seg == s
            n, sums, means, sds = arm_sums(arm.codes[inside], arm.values[inside], k)
            for i in range(1, k):
                rows.append(_segment_row(arm, label, n, means, sds, sums, i, names, spec))
    table = pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
    for _metric, idx in table.groupby("metric").groups.items():
        p = table.loc[idx, "p_value"]
        ok = p.notna()
        adjusted = adjust_pvalues(p[ok].to_numpy(), spec.correction)
        table.loc[p[ok].index, "p_adjusted"] = adjusted
    table["significant"] = table["p_adjusted"] < spec.alpha
    return table


def _segment_row(arm, label, n, means, sds, sums, i, names, spec) -> list:
    base = [str(label), arm.name, names[i], int(n[0]), int(n[i]), float(means[0]),
            float(means[i])]
    untestable = [*base, *[float("nan")] * 6, False]
    if arm.kind == "conversion" and (sums[0] + sums[i] in (0, n[0] + n[i])):
        return untestable  # every user has the same outcome
    try:
        res = _pair(arm.kind, n, means, sds, sums, i, spec)
    except PersonaLensError:
        return untestable  # too few users or no variation
    counts = [sums[0], sums[i]] if arm.kind == "conversion" else None
    if too_few_to_estimate([names[0], names[i]], [n[0], n[i]], counts):
        # As in the pooled comparison: no interval, and a rate's p-value is exact.
        p = (fisher_test(sums[0], n[0], sums[i], n[i], spec.alternative).p_value
             if arm.kind == "conversion" else res.p_value)
        return [*base, res.difference, float("nan"), float("nan"), res.relative_lift, p,
                float("nan"), False]
    return [*base, res.difference, *res.difference_ci, res.relative_lift, res.p_value,
            float("nan"), False]


def simpson_notices(pooled: dict[tuple[str, str], float], table: pd.DataFrame,
                    alpha: float) -> list[Notice]:
    """Warn when every segment's effect points the other way than the pooled effect
    (Simpson's paradox), or a significant segment effect opposes a significant pooled
    one."""
    notices = []
    for (metric, variant), pooled_diff in pooled.items():
        part = table[(table["metric"] == metric) & (table["variant"] == variant)
                     & table["difference"].notna()]
        signs = np.sign(part["difference"].to_numpy())
        if pooled_diff == 0 or len(part) < 2:
            continue
        if (signs == -np.sign(pooled_diff)).all():
            notices.append(Notice(
                "simpson", f"Simpson's paradox on {metric} ({variant}): the pooled effect "
                f"is {'positive' if pooled_diff > 0 else 'negative'} but it is "
                f"{'negative' if pooled_diff > 0 else 'positive'} in every one of the "
                f"{len(part)} segments. The variants' mix of segments differs; trust the "
                "per-segment results and check the randomisation.", "error"))
            continue
        against = part[part["significant"] & (np.sign(part["difference"]) ==
                                              -np.sign(pooled_diff))]
        if len(against):
            notices.append(Notice(
                "segment_disagrees", f"{metric} ({variant}): the effect is significantly "
                f"{'negative' if pooled_diff > 0 else 'positive'} in "
                f"{', '.join(map(str, against['segment']))}, against the pooled direction."))
    return notices


#: Below this p-value the segments' shares differ between the variants by more than
#: chance (the sample-ratio alarm's threshold, applied to the mix of segments).
MIX_ALARM_P = 0.001
#: Segments named in a sentence at most (the rest are counted).
MAX_NAMED = 3


def mix_p_value(part: pd.DataFrame) -> float:
    """Chi-square test of independence of segment and variant on the users of one
    metric x treatment of :func:`segment_table` (NaN with fewer than two segments)."""
    from scipy.stats import chi2_contingency

    counts = part[["control_n", "treatment_n"]].to_numpy(float)
    counts = counts[counts.sum(axis=1) > 0]
    if len(counts) < 2 or (counts.sum(axis=0) == 0).any():
        return float("nan")
    return float(chi2_contingency(counts, correction=False).pvalue)


def _names(values) -> str:
    names = [f"'{v}'" for v in values]
    if len(names) > MAX_NAMED:
        names = [*names[:MAX_NAMED], f"{len(names) - MAX_NAMED} more"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def simpson_sentence(pooled_difference: float, part: pd.DataFrame, label: str,
                     noun: str = "segment") -> str:
    """Simpson's check in words: do the segments move the way the total does?

    Parameters
    ----------
    pooled_difference : float
        The total's difference (treatment minus control), unadjusted like the segments'.
    part : DataFrame
        The rows of :func:`segment_table` for one metric and one treatment.
    label : str
        The metric in words ("conversion", "mean revenue").
    noun : str
        What a segment is called ("persona").
    """
    plural = f"{noun}s"
    rated = part[part["difference"].notna()]
    if rated.empty:
        return f"No {noun} has enough users to estimate an effect on {label}."
    n = len(rated)
    signs = np.sign(rated["difference"].to_numpy())
    if pooled_difference == 0 or not np.isfinite(pooled_difference):
        up = int((signs > 0).sum())
        return f"The total {label} does not move; it rises in {up} of {n} {plural}."
    total = "rises" if pooled_difference > 0 else "falls"
    against = rated[signs == -np.sign(pooled_difference)]
    k = len(against)
    if k == 0:
        return (f"Every {noun} moves the same way as the total: {label} {total} in "
                f"{'both' if n == 2 else 'all'} {n} {plural}." if n > 1 else
                f"The only {noun} with an estimate moves the same way as the total.")
    other = "fall" if pooled_difference > 0 else "rise"
    mix = mix_p_value(part)
    mix_differs = np.isfinite(mix) and mix < MIX_ALARM_P
    mix_text = (f" (χ² test of the mix p {'< 0.001' if mix < 0.001 else f'= {mix:.3f}'})"
                if np.isfinite(mix) else "")
    if k == n and n > 1:
        return (f"Simpson's paradox: the total {label} {total} while every one of the {n} "
                f"{plural} {other}s — the mix of {plural} differs between variants"
                f"{mix_text}; trust the per-{noun} results and check the randomisation.")
    if k > n / 2:
        if mix_differs:
            return (f"Simpson's paradox: the total {label} {total} while {k} of {n} "
                    f"{plural} {other} — the mix of {plural} differs between variants"
                    f"{mix_text}; trust the per-{noun} results and check the "
                    "randomisation.")
        return (f"The total {label} {total} while {k} of {n} {plural} {other}: the "
                f"{plural} that move with the total are larger or move more. The mix of "
                f"{plural} is the same in both variants{mix_text}, so this is not "
                "Simpson's paradox.")
    significant = against[against["significant"].astype(bool)]
    how = (f"; {_names(significant['segment'])} significantly so after correction"
           if len(significant) else ", not significantly" if k == 1
           else ", none of them significantly")
    verb = "moves" if k == 1 else "move"
    return (f"{n - k} of {n} {plural} move the same way as the total ({label} "
            f"{total}); {_names(against['segment'])} {verb} the other way{how}.")


def timeline(arm: ArmStats, ts: pd.Series, names: list[str], spec: ExperimentSpec
             ) -> tuple[pd.DataFrame, list[Notice]]:
    """Cumulative value per variant and day, with the fixed-horizon and the sequential
    p-value of each treatment at the end of each day."""
    stamps = pd.to_datetime(ts if arm.rows is None else ts.iloc[arm.rows], utc=True,
                            errors="coerce")
    bad = int(stamps.isna().sum())
    notices = []
    if bad:
        notices.append(Notice("bad_timestamps", f"{bad:,} rows have no readable timestamp "
                              "and are left out of the timeline.", "info"))
    ok = stamps.notna().to_numpy()
    days = stamps[ok].dt.floor("D")
    day_codes, day_index = pd.factorize(days, sort=True)
    k, d = len(names), len(day_index)
    flat = day_codes * k + arm.codes[ok]
    n = np.bincount(flat, minlength=d * k).reshape(d, k).cumsum(axis=0)
    s = np.bincount(flat, weights=arm.values[ok], minlength=d * k).reshape(d, k).cumsum(0)
    sq = np.bincount(flat, weights=arm.values[ok] ** 2, minlength=d * k).reshape(d, k)
    sq = sq.cumsum(axis=0)
    frames = []
    for i in range(k):
        frame = pd.DataFrame({"day": day_index, "variant": names[i], "users": n[:, i]})
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["value"] = s[:, i] / n[:, i]
        frame["p_value"], frame["sequential_p"] = np.nan, np.nan
        if i > 0:
            frame["p_value"], frame["sequential_p"] = _daily_p(arm.kind, n, s, sq, i, spec)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), notices


def _daily_p(kind, n, s, sq, i, spec):
    with np.errstate(invalid="ignore", divide="ignore"):
        m0, m1 = s[:, 0] / n[:, 0], s[:, i] / n[:, i]
        v0 = np.maximum(sq[:, 0] - s[:, 0] ** 2 / n[:, 0], 0) / (n[:, 0] - 1)
        v1 = np.maximum(sq[:, i] - s[:, i] ** 2 / n[:, i], 0) / (n[:, i] - 1)
    p = np.full(len(n), np.nan)
    for day in range(len(n)):
        try:
            if kind == "conversion":
                res = compare_two_proportions(s[day, 0], n[day, 0], s[day, i], n[day, i],
                                              spec.alpha, spec.alternative)
            else:
                res = means_test_from_stats(m0[day], np.sqrt(v0[day]), n[day, 0], m1[day],
                                            np.sqrt(v1[day]), n[day, i], spec.alpha,
                                            spec.alternative)
            p[day] = res.p_value
        except (PersonaLensError, ZeroDivisionError, ValueError):
            continue
    se = np.sqrt(v0 / n[:, 0] + v1 / n[:, i])
    tau = SEQUENTIAL_TAU_SHARE * abs(m0[-1]) or 1e-9
    seq = msprt_p_value(np.nan_to_num(m1 - m0), np.where(np.isfinite(se) & (se > 0), se,
                                                         np.inf), tau)
    return p, seq


def peeking_notices(table: pd.DataFrame, alpha: float, final_significant: dict[str, bool]
                    ) -> list[Notice]:
    """Say when the daily fixed-horizon p-value dipped below alpha before the end."""
    notices = []
    for variant, part in table[table["p_value"].notna()].groupby("variant"):
        early = part.iloc[:-1]
        dips = int((early["p_value"] < alpha).sum())
        if dips and not final_significant.get(variant, False):
            notices.append(Notice(
                "peeking", f"'{variant}': the fixed-horizon p-value was below α = {alpha:g} "
                f"on {dips} of {len(part)} days but is not significant at the end. Stopping "
                "at such a day would have been a false positive; when looking daily, read "
                "the sequential (always-valid) p-value instead."))
        elif dips:
            notices.append(Notice(
                "peeking_info", f"'{variant}': the daily p-value was below α on {dips} of "
                f"{len(part)} days. Fixed-horizon p-values assume one look at the planned "
                "end; if you stopped early, use the sequential p-value.", "info"))
    return notices
