"""Claims table: each claim, the runs it is decided on, its test with the family size and
the correction, the result computed from the runs and the verdict of its rule
(rectifiers.analysis.claims; the rules are printed in the paper through numbers.tex); beside it the
verdict of the five-seed study before its extension, and the seed bootstrap's shares of
each verdict (scripts/stability.py; descriptive, not a test).
The claims and their rules are docs/design.md section 1 and section 6.

    python scripts/table_claims.py --results results/cpu --out paper/generated/table_claims.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rectifiers.analysis import claims, results
from rectifiers.render import cli, latex

SCALES = {"stress": "stress grid", "long": "plain CNN, 4$\\times$ budget", "trained": "trained ResNet"}

COLUMNS = (r"@{}>{\raggedright}p{0.02\linewidth}>{\raggedright}p{0.14\linewidth}>{\raggedright}p{0.08\linewidth}"
           r">{\raggedright}p{0.22\linewidth}>{\raggedright}p{0.17\linewidth}>{\raggedright}p{0.12\linewidth}"
           r">{\raggedright\arraybackslash}p{0.13\linewidth}@{}")


def shares(st: pd.DataFrame, claim: int, view: str) -> str:
    """'S 76, C 24, I 0': the bootstrap's percentages of each verdict."""
    r = st[(st.claim == claim) & (st.view == view)].iloc[0]
    return ", ".join(f"{k[0].upper()}\\,{100 * r[k]:.0f}" for k in (claims.SUPPORTED, claims.CONTRADICTED,
                                                                    claims.INCONCLUSIVE))


def table(verdicts: list[claims.Verdict], first: list[claims.Verdict], st: pd.DataFrame) -> str:
    lines = []
    for i, (v, v5) in enumerate(zip(verdicts, first)):
        if i:
            lines.append(r"\addlinespace")
        test = (rf"\emph{{test:}} {latex.tex_escape(v.method)}\newline "
                rf"\emph{{family ({v.family_size}):}} {latex.tex_escape(v.family)}\newline "
                rf"\emph{{correction:}} {latex.tex_escape(v.correction)}")
        lines.append(" & ".join([str(v.number), latex.tex_escape(v.claim), " and ".join(SCALES[s] for s in v.scales),
                                 test, latex.tex_escape(v.result),
                                 rf"\textbf{{{v.verdict}}} ({v5.verdict})",
                                 rf"{shares(st, v.number, 'all seeds')}\newline 5 seeds: {shares(st, v.number, 'five seeds')}"])
                     + r" \\")
    return latex.tabular(COLUMNS, r"\# & Claim & Runs & Test, family (size), correction & Result & "
                         r"Verdict (5 seeds) & Seed bootstrap, \% (descriptive) \\", lines)


def verdicts(res: results.Results, seeds: int | None = None) -> list[claims.Verdict]:
    """The six verdicts, from every seed or from seeds 0..seeds-1; a claim whose studies still
    miss runs is inconclusive (not yet run)."""
    t, missing = res.tidy(), res.study.get("missing", [])
    if seeds is not None:
        t, missing = t[t.seed < seeds], [m for m in missing if m["seed"] < seeds]
    return claims.decide(t, missing=missing)


def read_stability(results_dir: Path) -> pd.DataFrame:
    path = Path(results_dir) / "stability.csv"
    if not path.is_file():
        raise results.ResultsError(f"{path} is missing: run `make stability` (scripts/stability.py) first")
    return pd.read_csv(path)


def main(argv=None) -> int:
    def make(d: Path) -> str:
        res = results.load(d, "epochs")
        return table(verdicts(res), verdicts(res, claims.FIVE_SEEDS), read_stability(d))
    return cli.generated_main("table_claims", make, argv)


if __name__ == "__main__":
    sys.exit(main())
