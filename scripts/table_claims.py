"""Claims table: each claim, the runs it is decided on, its test with the family size and
the correction, the result computed from the runs and the verdict of its rule
(rectifiers.claims; the rules are printed in the paper through numbers.tex).
The claims and their rules are docs/design.md section 1 and section 6.

    python scripts/table_claims.py --results results/cpu --out paper/generated/table_claims.tex
"""
from __future__ import annotations

import sys

from rectifiers import claims, cli, latex, results

SCALES = {"stress": "stress grid", "long": "plain CNN, 4$\\times$ budget", "trained": "trained ResNet",
          "trained + stress": "trained ResNet and stress grid"}


def table(verdicts: list[claims.Verdict]) -> str:
    lines = [r"\begin{tabular}{@{}>{\raggedright}p{0.02\linewidth}>{\raggedright}p{0.17\linewidth}"
             r">{\raggedright}p{0.09\linewidth}>{\raggedright}p{0.28\linewidth}"
             r">{\raggedright}p{0.19\linewidth}>{\raggedright\arraybackslash}p{0.12\linewidth}@{}}", r"\toprule",
             r"\# & Claim & Runs & Test, family (size), correction & Result & Verdict \\", r"\midrule"]
    for i, v in enumerate(verdicts):
        if i:
            lines.append(r"\addlinespace")
        test = (rf"\emph{{test:}} {latex.tex_escape(v.method)}\newline "
                rf"\emph{{family ({v.family_size}):}} {latex.tex_escape(v.family)}\newline "
                rf"\emph{{correction:}} {latex.tex_escape(v.correction)}")
        lines.append(" & ".join([str(v.number), latex.tex_escape(v.claim), SCALES.get(v.scale, latex.tex_escape(v.scale)),
                                 test, latex.tex_escape(v.result), r"\textbf{" + v.verdict + "}"]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def verdicts(res: results.Results) -> list[claims.Verdict]:
    """The six verdicts; a claim whose studies still miss runs is inconclusive (not yet run)."""
    return claims.decide(res.tidy(), missing=res.study.get("missing", []))


def main(argv=None) -> int:
    return cli.generated_main("table_claims", lambda d: table(verdicts(results.load(d, "epochs"))), argv)


if __name__ == "__main__":
    sys.exit(main())
