"""What the dead-unit check reports: the table per call site, the bar chart, and the advice
drawn from the study's own results (`study_findings`, from results/cpu/ by default).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import activations, files, knobs
from .measure import STUCK

RESULTS = files.RESULTS / "cpu"  # the committed study the advice is drawn from

RELU = activations.REFERENCE


# --- advice from the study's results ------------------------------------------------------

def study_findings(results_dir: Path = RESULTS) -> dict:
    """The study's numbers behind the advice, from results/<profile>/ (runs.csv, study.json):
    descriptive figures only, in fractions, with the paper's outcomes (tidy.outcomes): a
    diverged run counts at chance accuracy with every unit dead, and is counted. A cell is
    lethal, as in the paper, when ReLU's mean peak dead ratio reaches claim 1's dead threshold
    (conf/claims.yaml). Raises FileNotFoundError or ValueError (from results.load) when the
    results are missing or empty."""
    from ..analysis import claims, results  # pandas, scipy and the claim rules only when advice is asked for
    from ..analysis.rules import RULES
    # quiet: cells without a finished run are no warning on stderr here; the advice says how many
    res = results.load(Path(results_dir), quiet=True)  # runs.csv with the outcome columns acc and dead_peak
    df, cells = results.cell_frame(res.runs, res.study), results.cells(res.study)
    acc, peak, init = (results.over_seeds(df, v, ["cell", "act"]).set_index(["cell", "act"])
                       for v in ("acc", "dead_peak", "dead_ratio_init"))
    threshold = RULES.dead_threshold
    plain = [c for c in cells if c.kind != "reference" and not np.isnan(_relu_mean(peak, c))]
    if not plain:
        raise ValueError(f"{results_dir} has no finished ReLU run of the plain network yet")
    lethal = [c for c in plain if _relu_mean(peak, c) >= threshold]
    deadliest = max(plain, key=lambda c: _relu_mean(peak, c))
    spared = [a for a in (_relu_mean(acc, c) for c in plain if c not in lethal) if not np.isnan(a)]
    reference = next((c for c in cells if c.kind == "reference"), None)
    t = res.tidy()
    revival_relu, revival_leaky = claims._revival(t[t.scale == "stress"], RULES)  # claim 2's, as the paper
    return {
        "results": str(results_dir), "dead_threshold": threshold, "plain_cells": len(plain),
        "missing": len(res.study.get("missing", [])), "cells": res.study.get("cells", "?"),
        "lethal": [_lethal_cell(c, acc, peak, _milder(c, cells, res.study, acc)) for c in lethal],
        "relu_acc_not_lethal": float(np.mean(spared)) if spared else np.nan,
        "deadliest": {"label": deadliest.label, "relu_init_dead": _relu_mean(init, deadliest),
                      "relu_peak_dead": _relu_mean(peak, deadliest)},
        "revival_relu": revival_relu, "revival_leaky": revival_leaky,
        "reference": _reference_cell(reference, acc, peak) if reference else None,
    }


def _relu_mean(frame, cell) -> float:
    """ReLU's mean in a cell (a summary indexed by cell and act), NaN without a run."""
    key = (cell.key, RELU)
    return float(frame.loc[key, "mean"]) if key in frame.index else np.nan


def _lethal_cell(cell, acc, peak, milder: dict | None) -> dict:
    """ReLU in a lethal cell, every activation's mean accuracy and divergences there (table
    order), the best of them (the paper's bold), and the milder level of the same knob."""
    here = acc.loc[cell.key]
    acts = [{"act": a, "name": activations.display(a), "slope": activations.by_label()[a].slope,
             "acc": float(here.loc[a, "mean"]), "runs": int(here.loc[a, "n_runs"]),
             "diverged": int(here.loc[a, "n_diverged"])}
            for a in activations.ordered(here.index) if here.loc[a, "n"] > 0]
    return {"label": cell.label, "knob": cell.knob, "relu_peak_dead": _relu_mean(peak, cell),
            "relu_acc": _relu_mean(acc, cell), "acts": acts, "best": max(acts, key=lambda a: a["acc"]),
            "milder": milder}


def _milder(cell, cells, study: dict, acc) -> dict | None:
    """The nearest less stressful level of the cell's knob at which no run diverged, with
    ReLU's mean accuracy there; None if every milder level had a divergence."""
    knob = study["knobs"][cell.knob]
    by_level = {c.level: c for c in cells if c.knob == cell.knob and c.kind == "stress"}
    baseline = next((c for c in cells if c.kind == "baseline"), None)
    levels = knob["levels"][:knob["levels"].index(cell.level)]  # baseline first, the stress level left out
    for level in reversed(levels):
        c = by_level.get(level, baseline if level == knob["baseline"] else None)
        if c is None or c.key not in acc.index.get_level_values(0):
            continue
        here = acc.loc[c.key]
        if here.n_diverged.sum() == 0:
            label = f"{knobs.KNOBS[knob['column']].short} {level:g}"
            return {"label": label, "runs": int(here.n_runs.sum()), "relu_acc": _relu_mean(acc, c)}
    return None


def _reference_cell(cell, acc, peak) -> dict:
    """ReLU's peak dead ratio in the reference network, and the largest accuracy gap to it."""
    means = acc.loc[cell.key]["mean"].dropna()
    diffs = (means.drop(RELU) - means[RELU]).abs() if RELU in means else means.iloc[:0]
    return {"label": cell.label, "relu_peak_dead": _relu_mean(peak, cell),
            "max_abs_acc_diff": float(diffs.max()) if len(diffs) else np.nan}


def pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"


def pct_g(x: float) -> str:
    """A round threshold: 0.3 -> '30'."""
    return f"{100 * x:g}"


def _listing(items: list[str], conjunction: str = "and") -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def _runs(n: int, of: int) -> str:
    return f"{n} of {of} runs"


def lethal_cell_text(c: dict) -> str:
    """One lethal cell in words: ReLU, the best activation, which diverged (with counts), and
    the change that worked there: a smaller slope where larger ones diverged, a milder level
    of the knob where any run diverged. Every number from `c` (study_findings)."""
    best = c["best"]
    text = (f"{c['label']}: ReLU {pct(c['relu_acc'])}% test accuracy ({pct(c['relu_peak_dead'])}% dead at its "
            f"peak); best " + ("ReLU itself" if best["act"] == RELU else f"{best['name']}, {pct(best['acc'])}%"))
    if best["diverged"]:
        text += f" ({_runs(best['diverged'], best['runs'])} diverged)"
    if not any(a["diverged"] for a in c["acts"]):
        beat = [a["name"] for a in c["acts"] if a["acc"] > c["relu_acc"]]
        return text + "; no run diverged" + (f", and {_listing(beat)} beat ReLU." if beat else ".")
    diverged = [a for a in c["acts"] if a["diverged"] and a is not best]
    if diverged:
        text += "; diverged: " + _listing([f"{a['name']} in {_runs(a['diverged'], a['runs'])}" for a in diverged])
    steeper = [a["name"] for a in diverged if a["slope"] > best["slope"]]
    fixes = [f"a smaller slope ({best['name']}, not {_listing(steeper, 'or')})"] if steeper else []
    if c["milder"]:
        m = c["milder"]
        fixes.append(f"a milder setting (at {m['label']} none of {m['runs']} runs diverged and ReLU reached "
                     f"{pct(m['relu_acc'])}%)")
    return text + "." + (f" What worked there: {' or '.join(fixes)}." if fixes else "")


def _lethal_lines(cells: list[dict]) -> str:
    """The lethal cells, one line each (the command line wraps each line on its own)."""
    return "".join(f"\n- {lethal_cell_text(c)}" for c in cells)


def worst_sites(rows: list[dict], n: int = 3) -> str:
    """This model's worst call sites by name: every entirely dead one (the first 8 named), else
    the n with the largest dead share; "" when no unit is dead."""
    dead = [r for r in rows if r["dead"]]
    whole = [r["name"] for r in dead if r["dead"] == r["units"]]
    if whole:
        named = whole[:8] + ([f"{len(whole) - 8} more"] if len(whole) > 8 else [])
        return f"; entirely dead: {_listing(named)} ({len(whole)} of {len(rows)} call sites)"
    if not dead:
        return ""
    worst = sorted(dead, key=lambda r: -r["dead"] / r["units"])[:n]  # stable: forward order among equals
    return "; the most at " + _listing([f"{r['name']} ({pct(r['dead'] / r['units'])}%)" for r in worst])


def advice(dead_ratio: float, rows: list[dict], findings: dict | None, missing: str = "") -> str:
    """A few sentences for a measured model, its worst call sites first, and one line per lethal
    cell of the study, every number taken from `findings` (study_findings); `missing` says why
    there are no findings."""
    here = f"{pct(dead_ratio)}% of the units are dead on this probe{worst_sites(rows)}"
    if findings is None:
        return f"{here}. No comparison with the study: {missing}"
    f = findings
    incomplete = (f" The study's figures come from the runs there are: {f['missing']} of its {f['cells']} cells "
                  "have no finished run yet." if f.get("missing") else "")
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
        return text + f"But {killed}, so measure the trained model too." + incomplete
    stuck = sum(r["dead"] for r in rows if r["kind"] in STUCK)
    leaky_note = "" if stuck else (
        f" They sit in rectifiers that pass gradient below zero, so they can come back: in the study, Leaky ReLU "
        f"revived {pct(f['revival_leaky'])}% of its ever-dead units, ReLU {pct(f['revival_relu'])}%.")
    if dead_ratio < thr:
        text = f"{here}. That is below the {pct_g(thr)}% at which the study calls a setting lethal. But {killed}"
        if cells:
            text += (f", and where {pct_g(thr)}% or more died ReLU averaged "
                     f"{pct(sum(c['relu_acc'] for c in cells) / len(cells))}% test accuracy, against "
                     f"{pct(f['relu_acc_not_lethal'])}% in its other plain-network cells")
        text += "." + leaky_note + " Measure again during training." + incomplete
        return text + (_what_worked(f"If the dead share climbs towards {pct_g(thr)}%, do", cells) if cells else "")
    text = f"{here}. That is at least the {pct_g(thr)}% at which the study calls a setting lethal." + leaky_note
    if not stuck:
        text += " Look at what killed them: the learning rate, the batch size, the initialisation."
    return text + incomplete + (_what_worked("Do", cells) if cells
                                else " The study has no lethal cell to compare with.")


def _what_worked(lead: str, cells: list[dict]) -> str:
    return (f" {lead} what worked in the study's lethal setting nearest to yours (a diverged run counted at "
            f"chance accuracy); a larger slope or PReLU is no cure where it diverged:{_lethal_lines(cells)}")


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


LABEL_CHARS = 40  # a longer call-site name is cut in its middle: the bars keep their room


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else f"{name[:LABEL_CHARS // 2 - 1]}…{name[-(LABEL_CHARS // 2):]}"


def figure(rows: list[dict], title: str, path: Path, threshold: float | None) -> None:
    """Dead (solid) and tau-dormant (light) share of units per call site, in forward order,
    coloured by kind in the paper's style, with the study's lethal level. Nothing covers a bar:
    the legend stands above the axes and has a swatch for each bar style drawn (kind x dead or
    dormant) and the lethal line; the figure grows with its longest call-site name, so that no
    label is cut off."""
    import textwrap

    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    from ..render import style  # matplotlib and seaborn only when a figure is asked for

    def colour(kind):
        return style.colour(KIND_COLOURS[kind]) if kind in KIND_COLOURS else "0.6"

    style.setup()
    n, step = len(rows), max(1, len(rows) // 40)  # at most about 40 readable labels
    labels = [_label(r["name"]) for r in rows][::step]
    width = min(7.0, max(3.4, 0.16 * n + 1.2))
    label_height = max(map(len, labels)) * 0.6 * style.MIN_FONT / 72  # inches: an upright label's length
    fig, ax = plt.subplots(figsize=(width, 2.9 + label_height), layout="constrained")
    x = range(n)
    colours = [colour(r["kind"]) for r in rows]
    ax.bar([i - 0.2 for i in x], [r["dead_ratio"] for r in rows], width=0.4, color=colours)
    ax.bar([i + 0.2 for i in x], [r["dormant_ratio"] for r in rows], width=0.4, color=colours, alpha=0.35)
    if threshold is not None:
        ax.axhline(threshold, color="0.4", lw=0.6, ls="--")
    ax.set_xticks(list(x)[::step], labels, rotation=90)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("share of units")
    ax.set_title(textwrap.fill(title, int(width * 72 / (0.6 * 8))))  # 8 pt characters per line of the width
    handles = [h for k in dict.fromkeys(r["kind"] for r in rows)
               for h in (Patch(color=colour(k), label=f"{k}: dead"),
                         Patch(color=colour(k), alpha=0.35, label=f"{k}: τ-dormant"))]
    if threshold is not None:
        handles.append(Line2D([], [], color="0.4", lw=0.6, ls="--", label=f"lethal in the study ({pct_g(threshold)}%)"))
    style.legend_on_top(fig, handles, ncol=2)  # one row per kind: its dead and its dormant bars
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None} if path.suffix.lower() == ".png" else None)
    plt.close(fig)


CSV_COLUMNS = ("index", "name", "kind", "units", "dead", "dead_ratio", "dormant_ratio", "sparsity")


def write_csv(rows: list[dict], path: Path) -> None:
    """One row per call site, in forward order, with the table's columns (ratios unrounded)."""
    import csv
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        w.writerows([i, *(r[k] for k in CSV_COLUMNS[1:])] for i, r in enumerate(rows))

