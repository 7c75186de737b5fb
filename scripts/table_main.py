"""Main table: final test accuracy (%) per activation and cell of the stress grid: the mean
over all seeds with the 95% t interval of that mean, a diverged run counted at chance
(rectifiers.analysis.tidy.outcomes) and counted beside the mean; the best mean of each row in bold.
A cell with one run has no interval.

    python scripts/table_main.py --results results/cpu --out paper/generated/table_main.tex
"""
from __future__ import annotations

import sys

from rectifiers import activations, knobs
from rectifiers.analysis import results
from rectifiers.render import cli, latex


def mean_cell(s, bold: bool = False) -> str:
    """One table cell from a row of results.over_seeds (None: no runs in that cell)."""
    if s is None or s.n == 0:
        return "n/a"
    mean = latex.pct(s["mean"])
    text = rf"\textbf{{{mean}}}" if bold else mean
    ci = latex.interval(s.low, s.high)
    if ci:
        text += rf" {{\scriptsize{ci}}}"
    if s.n_diverged:
        text += rf" {{\scriptsize({int(s.n_diverged)}/{int(s.n_runs)} div.)}}"
    return text


def level_tex(c) -> str:
    return "---" if c.kind != "stress" else latex.num(c.level)


def group_name(c, study: dict) -> str:
    """The name of a group of rows: 'Baseline', the reference ('ResNet-20') or the knob
    ('Learning rate')."""
    if c.kind == "baseline":
        return "Baseline"
    if c.kind == "reference":
        return c.label
    return latex.tex_escape(knobs.capital(knobs.KNOBS[study["knobs"][c.knob]["column"]].name))


def table(res: results.Results) -> str:
    df = results.cell_frame(res.runs, res.study)
    summ = results.over_seeds(df, "acc", ["cell", "act"]).set_index(["cell", "act"])
    acts = activations.ordered(df.act.unique())
    lines = []
    group = None
    for c in results.cells(res.study):
        g = c.knob if c.kind == "stress" else c.key
        name = ""
        if g != group:
            if group is not None:
                lines.append(r"\addlinespace")
            name, group = group_name(c, res.study), g
        row = {a: summ.loc[(c.key, a)] if (c.key, a) in summ.index else None for a in acts}
        means = {a: s["mean"] for a, s in row.items() if s is not None and s.n}
        best = max(means, key=means.get) if means else None
        lines.append(f"{name} & {level_tex(c)} & " + " & ".join(mean_cell(s, a == best) for a, s in row.items())
                     + r" \\")
    return latex.tabular("@{}ll" + "l" * len(acts) + "@{}",
                         "Regime & Level & " + " & ".join(activations.display(a) for a in acts) + r" \\", lines)


def main(argv=None) -> int:
    return cli.generated_main("table_main", lambda d: table(results.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
