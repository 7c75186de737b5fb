"""Paired differences against ReLU (same seed, same cell of the stress grid): final test
accuracy and end dead ratio, in percentage points: the mean difference with its 95% paired t
interval, and the p-value of the paired t test after Holm's correction over the table's
family (every cell and activation of that outcome). A diverged run counts at chance
accuracy and with every unit dead (rectifiers.analysis.tidy.outcomes); one pair has no interval.

    python scripts/table_paired.py --results results/cpu --out paper/generated/table_paired.tex
"""
from __future__ import annotations

import sys

import pandas as pd

from rectifiers import activations
from rectifiers.analysis import results, stats, tidy
from rectifiers.render import cli, latex

OUTCOMES = ("acc", "dead_final")


def paired_rows(df: pd.DataFrame, acts: list[str], keys: list[str]) -> pd.DataFrame:
    """One row per (cell, act, outcome): n pairs, mean, interval, raw and Holm p."""
    rows = []
    for outcome in OUTCOMES:
        values, part = tidy.Values(df.assign(scale="stress"), "stress", outcome), []
        for key in keys:
            for a in acts:
                t = stats.t_test(values.diff(key, a, activations.REFERENCE))
                part.append(dict(cell=key, act=a, outcome=outcome, n=t.n, mean=t.mean, low=t.low, high=t.high,
                                 p=t.p_two))
        for r, p in zip(part, stats.holm([r["p"] for r in part])):
            r["p_holm"] = p if r["p"] == r["p"] else float("nan")  # untestable: in the family, not printed
        rows += part
    return pd.DataFrame(rows)


def label_tex(c) -> str:
    """'Baseline', 'lr 0.1', 'bias $-$0.5', 'ResNet-20'."""
    if c.kind == "baseline":
        return "Baseline"
    text = latex.tex_escape(c.label)
    return latex.minus(text) if c.kind == "stress" else text


def table(res: results.Results) -> str:
    df = results.cell_frame(res.runs, res.study)
    cells = results.cells(res.study)
    acts = [a for a in activations.ordered(df.act.unique()) if a != activations.REFERENCE]
    rows = paired_rows(df, acts, [c.key for c in cells]).set_index(["cell", "act", "outcome"])
    header = "\n".join([r"& & \multicolumn{2}{c}{Test accuracy} & \multicolumn{2}{c}{End dead ratio} & \\",
                        r"\cmidrule(lr){3-4}\cmidrule(lr){5-6}",
                        r"Regime & Activation & $\Delta$ (points) [95\% CI] & $p_{\mathrm{Holm}}$ & "
                        r"$\Delta$ (points) [95\% CI] & $p_{\mathrm{Holm}}$ & Pairs \\"])
    lines = []
    for i, c in enumerate(cells):
        if i:
            lines.append(r"\addlinespace")
        for j, a in enumerate(acts):
            acc, dead = rows.loc[(c.key, a, "acc")], rows.loc[(c.key, a, "dead_final")]
            lines.append(f"{label_tex(c) if j == 0 else ''} & {activations.display(a)} & "
                         f"{latex.signed_interval_tex(acc['mean'], acc.low, acc.high)} & {latex.p_value(acc.p_holm)} & "
                         f"{latex.signed_interval_tex(dead['mean'], dead.low, dead.high)} & "
                         f"{latex.p_value(dead.p_holm)} & {int(max(acc.n, dead.n))} \\\\")
    return latex.tabular("@{}llrlrlr@{}", header, lines)


def main(argv=None) -> int:
    return cli.generated_main("table_paired", lambda d: table(results.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
