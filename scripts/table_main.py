"""Main table: final test accuracy (%) per activation and regime, mean [95% bootstrap CI]
over seeds, with diverged runs counted; the best mean of each row in bold.

    python scripts/table_main.py --results results/cpu --out paper/generated/table_main.tex
"""
from __future__ import annotations

import sys

from rectifiers import results as R


def cell(s, bold: bool = False) -> str:
    """One table cell from a row of results.summarise (None: no runs in that cell)."""
    if s is None or s.n == 0:
        return "n/a"
    mean = R.pct(s["mean"])
    text = "---" if s.n_ok == 0 else (rf"\textbf{{{mean}}}" if bold else mean) + s_ci(s)
    if s.n_diverged:
        text += rf" {{\scriptsize({int(s.n_diverged)}/{int(s.n)} div.)}}"
    return text


def s_ci(s) -> str:
    return rf" {{\scriptsize[{R.pct(s.low)}, {R.pct(s.high)}]}}"


def level_tex(r) -> str:
    return "---" if r["kind"] != "stress" else f"{r['level']:g}".replace("-", "$-$")


def table(runs, study) -> str:
    df = R.regime_frame(runs, study)
    summ = R.summarise(df, "final_test_acc", ["regime", "act"]).set_index(["regime", "act"])
    acts = R.act_order(df.act.unique())
    lines = [r"\begin{tabular}{@{}ll" + "l" * len(acts) + "@{}}", r"\toprule",
             "Regime & Level & " + " & ".join(R.act_name(a) for a in acts) + r" \\", r"\midrule"]
    group = None
    for r in R.regimes(study):
        g = r["knob"] if r["kind"] == "stress" else r["key"]
        name = ""
        if g != group:
            if group is not None:
                lines.append(r"\addlinespace")
            name = {"baseline": "Baseline", "reference": r["label"]}.get(r["kind"]) or R.tex_escape(R.KNOB_NAMES.get(g, g))
            group = g
        row = {a: summ.loc[(r["key"], a)] if (r["key"], a) in summ.index else None for a in acts}
        means = {a: s["mean"] for a, s in row.items() if s is not None and s.n_ok}
        best = max(means, key=means.get) if means else None
        lines.append(f"{name} & {level_tex(r)} & " + " & ".join(cell(s, a == best) for a, s in row.items())
                     + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    return R.generated_main("table_main", lambda d: table(*R.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
