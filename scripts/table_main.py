"""Main table: final test accuracy (%) per activation and cell of the stress grid: the mean
over all seeds with the 95% t interval of that mean, a diverged run counted at chance
(rectifiers.claims.outcomes) and counted beside the mean; the best mean of each row in bold.
A cell with one run has no interval.

    python scripts/table_main.py --results results/cpu --out paper/generated/table_main.tex
"""
from __future__ import annotations

import sys

from rectifiers import cli
from rectifiers import latex as L
from rectifiers import results as R


def cell(s, bold: bool = False) -> str:
    """One table cell from a row of results.summarise (None: no runs in that cell)."""
    if s is None or s.n == 0:
        return "n/a"
    mean = L.pct(s["mean"])
    text = rf"\textbf{{{mean}}}" if bold else mean
    ci = L.interval(s.low, s.high)
    if ci:
        text += rf" {{\scriptsize{ci}}}"
    if s.n_diverged:
        text += rf" {{\scriptsize({int(s.n_diverged)}/{int(s.n_runs)} div.)}}"
    return text


def level_tex(r) -> str:
    return "---" if r["kind"] != "stress" else f"{r['level']:g}".replace("-", "$-$")


def table(res: R.Results) -> str:
    df = R.regime_frame(res.runs, res.study)
    summ = R.summarise(df, "acc", ["regime", "act"]).set_index(["regime", "act"])
    acts = R.act_order(df.act.unique())
    lines = [r"\begin{tabular}{@{}ll" + "l" * len(acts) + "@{}}", r"\toprule",
             "Regime & Level & " + " & ".join(R.act_name(a) for a in acts) + r" \\", r"\midrule"]
    group = None
    for r in R.regimes(res.study):
        g = r["knob"] if r["kind"] == "stress" else r["key"]
        name = ""
        if g != group:
            if group is not None:
                lines.append(r"\addlinespace")
            name = {"baseline": "Baseline", "reference": r["label"]}.get(r["kind"]) or L.tex_escape(R.KNOB_NAMES.get(g, g))
            group = g
        row = {a: summ.loc[(r["key"], a)] if (r["key"], a) in summ.index else None for a in acts}
        means = {a: s["mean"] for a, s in row.items() if s is not None and s.n}
        best = max(means, key=means.get) if means else None
        lines.append(f"{name} & {level_tex(r)} & " + " & ".join(cell(s, a == best) for a, s in row.items())
                     + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    return cli.generated_main("table_main", lambda d: table(R.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
