"""Learns faster, or ends better? Per network and activation: the mean accuracy gap over ReLU
(same seed) at the stress grid's budget and at the larger one, each with its paired t
interval, and the change between them with a Welch t interval (different runs), Holm's
correction over the family of every network x activation change (rectifiers.analysis.scaling).

    python scripts/table_budget.py --results results/cpu --out paper/generated/table_budget.tex
"""
from __future__ import annotations

import sys

from rectifiers import activations
from rectifiers.analysis import results, stats
from rectifiers.analysis.scaling import NETWORKS, gap_changes, gaps
from rectifiers.render import cli, latex


def gap_cell(v) -> str:
    """Mean gap [paired t interval] (n seeds); no interval for one seed or no spread."""
    if not len(v):
        return "none"
    t = stats.t_test(v)
    return f"{latex.signed_interval_tex(t.mean, t.low, t.high)} ({t.n})"


def table(res: results.Results) -> str:
    g = gaps(res.tidy())
    ch = gap_changes(g)
    lines = []
    for i, (network, _) in enumerate(NETWORKS):
        here = g[g.network == network]
        if here.empty:
            continue
        if i:
            lines.append(r"\addlinespace")
        budgets = sorted(here.budget.unique())
        for j, act in enumerate(activations.ordered(here.act.unique())):
            small = here[(here.budget == budgets[0]) & (here.act == act)].gap.to_numpy()
            large = here[(here.budget == budgets[-1]) & (here.act == act)].gap.to_numpy() if len(budgets) > 1 else []
            c = ch[(ch.network == network) & (ch.act == act)]
            change = (f"{latex.signed_interval_tex(c.change.iloc[0], c.low.iloc[0], c.high.iloc[0])}, "
                      f"{c.trend.iloc[0]}" if len(c) else "")
            p = latex.p_value(c.p_adj.iloc[0]) if len(c) else ""
            lines.append(f"{network if j == 0 else ''} & {activations.display(act)} & {gap_cell(small)} & "
                         f"{gap_cell(large)} & {change} & {p} \\\\")
    return latex.tabular("@{}llllll@{}", r"Network & Activation & Gap at $1\times$ & Gap at the larger budget & "
                         r"Change & $p_{\mathrm{Holm}}$ \\", lines)


def main(argv=None) -> int:
    return cli.generated_main("table_budget", lambda d: table(results.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
