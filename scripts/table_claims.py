"""Claims table: each claim of DESIGN.md section 1, the measurement that tests it, the
computed result and the verdict that results.claims derives from the data by its
pre-declared rule (the rules are printed in the paper through numbers.tex).

    python scripts/table_claims.py --results results/cpu --out paper/generated/table_claims.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rectifiers import results as R


def table(runs, study, layers) -> str:
    lines = [r"\begin{tabular}{@{}>{\raggedright}p{0.02\linewidth}>{\raggedright}p{0.23\linewidth}"
             r">{\raggedright}p{0.17\linewidth}>{\raggedright}p{0.33\linewidth}"
             r">{\raggedright\arraybackslash}p{0.13\linewidth}@{}}", r"\toprule",
             r"\# & Claim & Measurement & Result & Verdict \\", r"\midrule"]
    for i, c in enumerate(R.claims(runs, study, layers)):
        if i:
            lines.append(r"\addlinespace")
        lines.append(" & ".join([str(c["number"]), R.tex_escape(c["claim"]), R.tex_escape(c["test"]),
                                 R.tex_escape(c["result"]), r"\textbf{" + c["verdict"] + "}"]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    def make(results: Path) -> str:
        runs, study = R.load(results)
        layers = pd.read_csv(results / "layers.csv") if (results / "layers.csv").exists() else None
        return table(runs, study, layers)
    return R.generated_main("table_claims", make, argv)


if __name__ == "__main__":
    sys.exit(main())
