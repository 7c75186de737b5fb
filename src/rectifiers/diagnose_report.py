"""What the dead-unit check reports: the table per call site, the bar chart, and the advice
drawn from the study's own results (`study_findings`, from results/cpu/ by default).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import activations, config
from .diagnose_measure import STUCK

RESULTS = config.RESULTS / "cpu"  # the committed study the advice is drawn from

RELU = activations.REFERENCE


# --- advice from the study's results ------------------------------------------------------

def study_findings(results_dir: Path = RESULTS) -> dict:
    """The study's numbers behind the advice, from results/<profile>/ (runs.csv, study.json):
    descriptive figures only, in fractions. Cell means are over finished runs (results.over_seeds)
    and diverged runs are counted. A cell is lethal, as in the paper, when ReLU's mean peak dead
    ratio reaches claim 1's dead threshold (conf/claims.yaml). Raises FileNotFoundError or
    ValueError (from results.load) when the results are missing or empty."""
    from . import results  # pandas, scipy and the claim rules only when advice is asked for
    from .rules import RULES
    res = results.load(Path(results_dir))
    df, cells = results.cell_frame(res.runs, res.study), results.cells(res.study)
    acc, peak, init = (results.over_seeds(df, v, ["cell", "act"]).set_index(["cell", "act"])
                       for v in ("final_test_acc", "dead_ratio_peak", "dead_ratio_init"))
    threshold = RULES.dead_threshold
    plain = [c for c in cells if c["kind"] != "reference" and not np.isnan(_relu_mean(peak, c))]
    if not plain:
        raise ValueError(f"{results_dir} has no finished ReLU run of the plain network yet")
    lethal = [c for c in plain if _relu_mean(peak, c) >= threshold]
    deadliest = max(plain, key=lambda c: _relu_mean(peak, c))
    spared = [a for a in (_relu_mean(acc, c) for c in plain if c not in lethal) if not np.isnan(a)]
    reference = next((c for c in cells if c["kind"] == "reference"), None)
    leaky = [a for a in res.runs.act.unique() if activations.is_leaky(a)]
    return {
        "results": str(results_dir), "dead_threshold": threshold, "plain_cells": len(plain),
        "lethal": [_lethal_cell(c, acc, peak) for c in lethal],
        "relu_acc_not_lethal": float(np.mean(spared)) if spared else np.nan,
        "deadliest": {"label": deadliest["label"], "relu_init_dead": _relu_mean(init, deadliest),
                      "relu_peak_dead": _relu_mean(peak, deadliest)},
        "revival_relu": _revival(res.runs, [RELU]), "revival_leaky": _revival(res.runs, leaky),
        "reference": _reference_cell(reference, acc, peak) if reference else None,
    }


def _relu_mean(frame, cell: dict) -> float:
    """ReLU's mean in a cell (a summary indexed by cell and act), NaN without a finished run."""
    key = (cell["key"], RELU)
    return float(frame.loc[key, "mean"]) if key in frame.index else np.nan


def _lethal_cell(cell: dict, acc, peak) -> dict:
    """ReLU in a lethal cell, and the best of the other activations that finished there."""
    others = acc.loc[cell["key"]].drop(RELU, errors="ignore")
    finished = others["mean"].dropna()
    best = finished.idxmax() if len(finished) else None
    return {"label": cell["label"], "relu_peak_dead": _relu_mean(peak, cell), "relu_acc": _relu_mean(acc, cell),
            "best_act": activations.display(best) if best else None,
            "best_acc": float(finished.max()) if best else np.nan,
            "other_runs": int(others["n_runs"].sum()), "other_diverged": int(others["n_diverged"].sum())}


def _revival(runs, acts: list[str]) -> float:
    """Revived over ever-dead units, pooled over the finished runs of `acts`."""
    ok = runs[(runs.status == "ok") & runs.act.isin(acts)]
    return float(ok.revived.sum() / ok.ever_dead.sum()) if ok.ever_dead.sum() > 0 else np.nan


def _reference_cell(cell: dict, acc, peak) -> dict:
    """ReLU's peak dead ratio in the reference network, and the largest accuracy gap to it."""
    means = acc.loc[cell["key"]]["mean"].dropna()
    diffs = (means.drop(RELU) - means[RELU]).abs() if RELU in means else means.iloc[:0]
    return {"label": cell["label"], "relu_peak_dead": _relu_mean(peak, cell),
            "max_abs_acc_diff": float(diffs.max()) if len(diffs) else np.nan}


def pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"


def pct_g(x: float) -> str:
    """A round threshold: 0.3 -> '30'."""
    return f"{100 * x:g}"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def advice(dead_ratio: float, rows: list[dict], findings: dict | None, missing: str = "") -> str:
    """A few sentences for a measured model, every number taken from `findings`
    (study_findings); `missing` says why there are no findings."""
    here = f"{pct(dead_ratio)}% of the units are dead on this probe"
    if findings is None:
        return f"{here}. No comparison with the study: {missing}"
    f = findings
    thr, worst, cells = f["dead_threshold"], f["deadliest"], f["lethal"]
    killed = (f"training kills units: at {worst['label']} ReLU started with {pct(worst['relu_init_dead'])}% dead "
              f"and peaked at {pct(worst['relu_peak_dead'])}%")
    if dead_ratio == 0:
        ref = f["reference"]
        text = "No unit is dead on this probe. "
        if ref:
            text += (f"In the study's {ref['label']} ReLU peaked at {pct(ref['relu_peak_dead'])}% dead units and "
                     f"the other activations' mean accuracy differed from ReLU's by at most "
                     f"{pct(ref['max_abs_acc_diff'])} points: dead units give no reason to switch. ")
        return text + f"But {killed}, so measure the trained model too."
    stuck = sum(r["dead"] for r in rows if r["kind"] in STUCK)
    leaky_note = "" if stuck else (
        f" They sit in rectifiers that pass gradient below zero, so they can come back: in the study, Leaky ReLU "
        f"revived {pct(f['revival_leaky'])}% of its ever-dead units, ReLU {pct(f['revival_relu'])}%.")
    if dead_ratio < thr:
        text = f"{here}, below the {pct_g(thr)}% at which the study calls a setting lethal. But {killed}"
        if cells:
            text += (f", and where {pct_g(thr)}% or more died ReLU averaged "
                     f"{pct(sum(c['relu_acc'] for c in cells) / len(cells))}% test accuracy, against "
                     f"{pct(f['relu_acc_not_lethal'])}% in its other plain-network cells")
        return (text + "." + leaky_note + f" Measure again during training; if the dead share climbs towards "
                f"{pct_g(thr)}%, switch to Leaky ReLU or PReLU.")
    text = f"{here}: at least the {pct_g(thr)}% at which the study calls a setting lethal."
    diverged = 0
    if cells:
        best = [f"{pct(c['best_acc'])}% ({c['best_act']})" for c in cells]
        text += (f" In its {len(cells)} lethal cells ({_listing([c['label'] for c in cells])}), ReLU ended at "
                 f"{_listing([pct(c['relu_acc']) + '%' for c in cells])} test accuracy, and the best other "
                 f"activation that finished reached {_listing(best)}.")
        diverged, runs = sum(c["other_diverged"] for c in cells), sum(c["other_runs"] for c in cells)
        if diverged:
            text += f" {diverged} of those {runs} Leaky ReLU and PReLU runs diverged."
    if not stuck:
        return text + leaky_note + " Look at what killed them: the learning rate, the batch size, the initialisation."
    return text + " Switch to Leaky ReLU or PReLU" + ("; if training then diverges, lower the learning rate."
                                                    if diverged else ".")


def findings_or_reason(results_dir: Path) -> tuple[dict | None, str]:
    try:
        return study_findings(results_dir), ""
    except (FileNotFoundError, ValueError) as e:
        return None, f"{e}."


# --- the table and the figure -------------------------------------------------------------

def table(rows: list[dict]) -> str:
    width = max(len("call site"), *(len(r["name"]) for r in rows))
    head = (f"{'#':>4}  {'call site':<{width}}  {'kind':<10} {'units':>7} {'dead %':>7} {'dormant %':>9} "
            f"{'sparsity %':>10}")
    lines = [head, "-" * len(head)]
    for i, r in enumerate(rows):
        lines.append(f"{i:>4}  {r['name']:<{width}}  {r['kind']:<10} {r['units']:>7} {pct(r['dead_ratio']):>7} "
                     f"{pct(r['dormant_ratio']):>9} {pct(r['sparsity']):>10}")
    dead, units = sum(r["dead"] for r in rows), sum(r["units"] for r in rows)
    lines += ["-" * len(head), f"network: {pct(dead / units)}% dead ({dead} of {units} units, {len(rows)} call sites)"]
    return "\n".join(lines)


KIND_COLOURS = {"relu": "relu", "relu6": "relu", "leaky_relu": "leaky_relu_0.1", "rrelu": "leaky_relu_0.1",
                "prelu": "prelu"}  # kind -> the study's activation whose colour it takes; "other" is grey


def figure(rows: list[dict], title: str, path: Path, threshold: float | None) -> None:
    """Dead (solid) and tau-dormant (light) share of units per call site, in forward order,
    coloured by kind in the paper's style, with the study's lethal level."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    from . import style  # matplotlib and seaborn only when a figure is asked for

    def colour(kind):
        return style.colour(KIND_COLOURS[kind]) if kind in KIND_COLOURS else "0.6"

    style.setup()
    n = len(rows)
    fig, ax = plt.subplots(figsize=(min(7.0, max(3.4, 0.16 * n + 1.2)), 2.6), layout="constrained")
    x = range(n)
    colours = [colour(r["kind"]) for r in rows]
    ax.bar([i - 0.2 for i in x], [r["dead_ratio"] for r in rows], width=0.4, color=colours)
    ax.bar([i + 0.2 for i in x], [r["dormant_ratio"] for r in rows], width=0.4, color=colours, alpha=0.35)
    if threshold is not None:
        ax.axhline(threshold, color="0.4", lw=0.6, ls="--")
        ax.text(-0.5, threshold, "lethal in the study", ha="left", va="bottom", fontsize=6, color="0.4")
    step = max(1, n // 40)  # at most about 40 readable labels
    ax.set_xticks(list(x)[::step], [r["name"] for r in rows][::step], rotation=90, fontsize=6)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("share of units")
    ax.set_title(title)
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    handles = [Patch(color="0.3", label="dead"), Patch(color="0.3", alpha=0.35, label="τ-dormant")]
    handles += [Patch(color=colour(k), label=k) for k in kinds]
    ax.legend(handles=handles, loc="upper left", ncol=len(handles), handlelength=1.0, columnspacing=0.8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None} if path.suffix.lower() == ".png" else None)
    plt.close(fig)

