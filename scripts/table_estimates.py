"""Estimation first, for the appendix: every scale, cell and activation. How often it trained
(neither collapsed nor diverged: k/n with the exact Clopper-Pearson 95% interval, in
percent), the mean test accuracy of the runs that trained, the median and the interquartile
mean (IQM) of all runs (a diverged run at chance); and against ReLU, paired by seed in the
same cell: the probability of improvement P(act > ReLU) (a tie counts 1/2) and the mean
difference in points, each with a 95% percentile bootstrap interval over seeds. Every
interval is unadjusted for the many comparisons (rectifiers.analysis.estimates).

    python scripts/table_estimates.py --results results/cpu --out paper/generated/table_estimates.tex
"""
from __future__ import annotations

import sys

from rectifiers import activations
from rectifiers.analysis import estimates, results
from rectifiers.render import cli, latex

TABCOLSEP = "\\setlength{\\tabcolsep}{4pt}\n"  # local to the table environment that inputs the file


def label_tex(g: dict) -> str:
    """A regime's label; a knob's level with a typographic minus ('bias $-$0.5'), 'ResNet-20' as it is."""
    text = latex.tex_escape(g["label"])
    return latex.minus(text) if "=" in g["cell"] else text


def row(label: str, act: str, r, v) -> str:
    """One activation's line; ReLU, the reference, has no comparison."""
    versus = ["---", "---"] if v is None else [latex.probability_text(v.poi, v.poi_low, v.poi_high),
                                               latex.signed_interval_tex(v.gain, v.gain_low, v.gain_high)]
    cells = [label, activations.display(act), latex.share_text(r.n_trained, r.n, r.share_low, r.share_high),
             latex.pct(r.acc_trained), latex.pct(r["median"]), latex.pct(r.iqm), *versus]
    return " & ".join(cells) + r" \\"


def table(res: results.Results) -> str:
    t = res.tidy()
    per = estimates.per_activation(t).set_index(["scale", "cell", "act"]).sort_index()
    vs = estimates.versus_relu(t).set_index(["scale", "cell", "act"])
    lines, scale = [], None
    for g in estimates.regimes(t, res.study):
        if g["scale"] != scale:
            scale = g["scale"]
            title = rf"\multicolumn{{8}}{{@{{}}l}}{{\emph{{{estimates.HEADING_BY_SCALE[scale]}}}}} \\"
            lines += ([r"\addlinespace"] if lines else []) + [title]
        elif lines:
            lines.append(r"\addlinespace[2pt]")
        here = per.loc[(g["scale"], g["cell"])]
        for j, act in enumerate(activations.ordered(here.index)):
            key = (g["scale"], g["cell"], act)
            lines.append(row(label_tex(g) if j == 0 else "", act, here.loc[act],
                             vs.loc[key] if key in vs.index else None))
    header = "\n".join([r"& & & \multicolumn{3}{c}{Accuracy (\%)} & \multicolumn{2}{c}{Against ReLU, same seed} \\",
                        r"\cmidrule(lr){4-6}\cmidrule(lr){7-8}",
                        r"Regime & Activation & Trained [CI, \%] & Trained runs & Median & IQM & "
                        r"P(improvement) [CI] & $\Delta$, points [CI] \\"])
    return TABCOLSEP + latex.tabular("@{}llrrrrll@{}", header, lines)


def main(argv=None) -> int:
    return cli.generated_main("table_estimates", lambda d: table(results.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
