"""Over the cells of each scale (the stress grid's ten, the long plain runs' two, the trained
ResNet's one), per activation: the interquartile mean (IQM) of the test accuracy of all its
runs, the probability of improvement over ReLU and the mean difference from ReLU in points
(paired by seed, each cell weighing the same), and the performance profile (the share of runs
above a threshold: the collapse threshold, so the share trained, then 30% and 40%), each with
a 95% stratified bootstrap interval (seeds resampled within each cell, the same seeds for an
activation and ReLU). A diverged run counts at chance. Intervals are unadjusted
(rectifiers.analysis.estimates).

    python scripts/table_aggregates.py --results results/cpu --out paper/generated/table_aggregates.tex
"""
from __future__ import annotations

import sys

import numpy as np

from rectifiers import activations
from rectifiers.analysis import estimates, results
from rectifiers.analysis.rules import RULES
from rectifiers.render import cli, latex

TAUS = (RULES.collapse_accuracy, 0.3, 0.4)  # the performance profile's thresholds


def with_interval(x, low, high, fmt) -> str:
    """'29.6 [27.4, 30.8]' with fmt formatting each value; '---' where there is no value."""
    if x != x:
        return "---"
    return fmt(x) + (f" [{fmt(low)}, {fmt(high)}]" if low == low else "")


def scale_lines(t, scale: str) -> list[str]:
    agg = estimates.aggregates(t, scale).set_index("act")
    prof = estimates.profiles(t, TAUS, scale).set_index(["act", "tau"])
    lines = [rf"\multicolumn{{{4 + len(TAUS)}}}{{@{{}}l}}{{\emph{{{estimates.HEADING_BY_SCALE[scale]}}}: "
             rf"{int(agg.n_cells.max())} cell{'s' if agg.n_cells.max() > 1 else ''}, "
             rf"{int(agg.n_runs.max())} runs per activation}} \\"]
    for act in activations.ordered(agg.index):
        a = agg.loc[act]
        cells = [activations.display(act), with_interval(a.iqm, a.iqm_low, a.iqm_high, latex.pct),
                 with_interval(a.poi, a.poi_low, a.poi_high, lambda x: f"{x:.2f}"),
                 latex.signed_interval_tex(a.gain, a.gain_low, a.gain_high) if a.gain == a.gain else "---"]
        for tau in TAUS:
            p = prof.loc[(act, tau)]
            cells.append(with_interval(p.share, p.low, p.high, lambda x: latex.pct(x, 0)))
        lines.append(" & ".join(cells) + r" \\")
    return lines


def table(res: results.Results) -> str:
    t = res.tidy()
    scales = [s for s in estimates.SCALE_ORDER if (t.scale == s).any()]
    if not scales:  # a profile whose runs fall in none of the claims' scales (smoke)
        return latex.tabular("@{}l@{}", r"Aggregates \\", [r"no run of any scale of the claims' design \\"])
    lines = []
    for scale in scales:
        lines += ([r"\addlinespace"] if lines else []) + scale_lines(t, scale)
    above = " & ".join(rf"$>${latex.num(np.round(100 * tau, 1))}" for tau in TAUS)
    header = "\n".join([rf"& & \multicolumn{{2}}{{c}}{{Against ReLU (same seed)}} & "
                        rf"\multicolumn{{{len(TAUS)}}}{{c}}{{Share of runs (\%) above an accuracy of (\%)}} \\",
                        rf"\cmidrule(lr){{3-4}}\cmidrule(lr){{5-{4 + len(TAUS)}}}",
                        r"Activation & IQM (\%) & P(improvement) & $\Delta$, points & " + above + r" \\"])
    text = latex.tabular("@{}" + "l" * (4 + len(TAUS)) + "@{}", header, lines)
    return "\\setlength{\\tabcolsep}{4pt}\n" + text


def main(argv=None) -> int:
    return cli.generated_main("table_aggregates", lambda d: table(results.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
