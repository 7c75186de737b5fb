"""After tuning: per depth and activation, the learning rate chosen on the validation images
(best mean validation accuracy over the selection seeds; a diverged run at chance), then on the
fresh comparison seeds at that rate: the runs that trained (k/n, exact 95% interval), their mean
test accuracy, and against ReLU at ReLU's chosen rate, paired by seed, the mean difference and
the probability of improvement (95% percentile bootstrap intervals over seeds, unadjusted). Beside
it, the fixed-rate study's difference in the same cell (every activation at 0.02: the stress
grid's baseline at depth 8, its depth-20 cell). conf/claims.yaml, tuning; analysis/tuning.py.

    python scripts/table_tuned.py --results results/cpu --out paper/generated/table_tuned.tex
"""
from __future__ import annotations

import sys

from rectifiers import activations
from rectifiers.analysis import results, tuning
from rectifiers.render import cli, latex

HEADER = (r"Depth & Act. & Rate & Val. & Trained & Test & $\Delta$ vs ReLU, tuned & "
          r"P($>$ReLU), tuned & $\Delta$ vs ReLU, at 0.02 \\")


def line(depth, pick, comparison, fixed) -> str:
    act = pick.act
    rate = latex.num(pick.lr) + (r"$^{e}$" if pick.at_edge else "")
    cells = [str(depth), activations.display(act), rate, latex.pct(pick["mean"])]
    c = comparison.get((depth, act))
    if c is None:
        cells += ["not yet run"] + [""] * 3
    else:
        ref = act == activations.REFERENCE
        cells += [latex.share_text(c.n_trained, c.n, c.share_low, c.share_high), latex.pct(c.mean),
                  "---" if ref else latex.signed_interval_tex(c.gain, c.gain_low, c.gain_high),
                  "---" if ref else latex.probability_text(c.poi, c.poi_low, c.poi_high)]
    f = fixed.loc[(depth, act)] if (depth, act) in fixed.index else None
    cells.append("---" if f is None else latex.signed_interval_tex(f.gain, f.gain_low, f.gain_high))
    return " & ".join(cells) + r" \\"


def table(results_dir) -> str:
    res = results.load(results_dir)  # the fixed-rate study: without it, nothing to compare with
    found = tuning.summarise(results.load_tuned(results_dir))
    if found.chosen.empty:
        return latex.tabular("@{}l@{}", r"After tuning \\", [r"not yet run \\"])
    fixed = tuning.fixed_rate(res.tidy())
    comparison = {(r.depth, r.act): r for r in found.comparison.itertuples()} if len(found.comparison) else {}
    lines = []
    for i, (depth, picks) in enumerate(found.chosen.groupby("depth")):
        if i:
            lines.append(r"\addlinespace")
        picks = picks.set_index("act").loc[activations.ordered(picks.act)].reset_index()
        lines += [line(depth, pick, comparison, fixed) for _, pick in picks.iterrows()]
    if not found.selected:
        lines.append(rf"\multicolumn{{9}}{{l}}{{selection grid: {found.grid_runs} of {found.grid_planned} "
                     rf"runs so far}} \\")
    return latex.tabular("@{}rllllllll@{}", HEADER, lines)


def main(argv=None) -> int:
    return cli.generated_main("table_tuned", table, argv)


if __name__ == "__main__":
    sys.exit(main())
