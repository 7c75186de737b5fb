"""The claims' tests: for each claim, the runs it is decided on, its test, its family with the
family's size, and the correction (rectifiers.analysis.claims). The verdicts are the claims
table, scripts/table_claims.py; the rules in words are in the paper through numbers.tex.

    python scripts/table_claim_tests.py --results results/cpu --out paper/generated/table_claim_tests.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

from rectifiers.analysis import claims, results
from rectifiers.render import cli, latex

RUNS_BY_SCALE = {  # claim scale -> the runs the table names
    "stress": "stress grid", "long": "plain CNN, 4$\\times$ budget", "trained": "trained ResNet"}

COLUMNS = (r"@{}>{\raggedright}p{0.02\linewidth}>{\raggedright}p{0.13\linewidth}>{\raggedright}p{0.36\linewidth}"
           r">{\raggedright}p{0.24\linewidth}>{\raggedright\arraybackslash}p{0.17\linewidth}@{}")


def table(verdicts: list[claims.Verdict]) -> str:
    lines = []
    for i, v in enumerate(verdicts):
        if i:
            lines.append(r"\addlinespace")
        lines.append(" & ".join([str(v.number), " and ".join(RUNS_BY_SCALE[s] for s in v.scales),
                                 latex.tex_escape(v.method), rf"({v.family_size}) {latex.tex_escape(v.family)}",
                                 latex.tex_escape(v.correction)]) + r" \\")
    return latex.tabular(COLUMNS, r"\# & Runs & Test & Family (size) & Correction \\", lines)


def main(argv=None) -> int:
    def make(d: Path) -> str:
        res = results.load(d, "epochs")
        return table(claims.decide(res.tidy(), missing=res.study.get("missing", [])))
    return cli.generated_main("table_claim_tests", make, argv)


if __name__ == "__main__":
    sys.exit(main())
