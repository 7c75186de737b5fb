"""Failure rates in the stress grid: per cell and activation, how many runs diverged and how
many collapsed (test accuracy at chance, diverged runs included), each compared with ReLU
in the same cell by Fisher's exact test, Holm's correction over the family of every cell and
non-ReLU activation. Only cells where some run diverged or collapsed are listed; the others
are in the family with p = 1.

    python scripts/table_rates.py --results results/cpu --out paper/generated/table_rates.tex
"""
from __future__ import annotations

import sys

import pandas as pd

from rectifiers import activations
from rectifiers.analysis import results, stats
from rectifiers.render import cli, latex

RATES = ("diverged", "collapsed")


def rates(df: pd.DataFrame, keys: list[str], acts: list[str]) -> pd.DataFrame:
    """One row per (cell, act): k of n for each rate, Fisher p against ReLU and its Holm
    adjustment within each rate's family."""
    rows = []
    for key in keys:
        here = df[(df.cell == key) & df.acc.notna()]  # failed runs (errors) are missing, not outcomes
        base = here[here.act == activations.REFERENCE]
        for a in acts:
            x = here[here.act == a]
            row = dict(cell=key, act=a, n=len(x), n_relu=len(base))
            for rate in RATES:
                k, k0 = int(x[rate].astype(bool).sum()), int(base[rate].astype(bool).sum())
                row[rate], row[rate + "_relu"] = k, k0
                row["p_" + rate] = stats.fisher(k, len(x), k0, len(base))
            rows.append(row)
    out = pd.DataFrame(rows)
    for rate in RATES:
        out["holm_" + rate] = stats.holm(out["p_" + rate]) if len(out) else []
    return out


def table(res: results.Results) -> str:
    df = results.cell_frame(res.runs, res.study)
    cells = results.cells(res.study)
    acts = [a for a in activations.ordered(df.act.unique()) if a != activations.REFERENCE]
    r = rates(df, [c.key for c in cells], acts)
    label = {c.key: c.label for c in cells}
    lines = []
    shown = [k for k in dict.fromkeys(r.cell) if (r[r.cell == k][["diverged", "collapsed", "collapsed_relu"]]
                                                  .to_numpy().sum() > 0)]
    for i, key in enumerate(shown):
        if i:
            lines.append(r"\addlinespace")
        for j, row in enumerate(r[r.cell == key].itertuples()):
            name = latex.minus(latex.tex_escape(label[key])) if j == 0 else ""
            lines.append(f"{name} & {activations.display(row.act)} & {row.diverged}/{row.n} & "
                         f"{latex.p_value(row.holm_diverged)} & {row.collapsed}/{row.n} & "
                         f"{latex.p_value(row.holm_collapsed)} & {row.collapsed_relu}/{row.n_relu} \\\\")
    if not shown:
        lines.append(r"\multicolumn{7}{c}{no run diverged or collapsed} \\")
    return latex.tabular("@{}llrrrrr@{}", r"Regime & Activation & Diverged & $p_{\mathrm{Holm}}$ & Collapsed & "
                         r"$p_{\mathrm{Holm}}$ & ReLU collapsed \\", lines)


def main(argv=None) -> int:
    return cli.generated_main("table_rates", lambda d: table(results.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
