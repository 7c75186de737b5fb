"""Claims table: each claim, the result computed from the runs and the verdict of its rule
(rectifiers.analysis.claims); beside it the verdict of the five-seed study before its extension,
the seed bootstrap's shares of each verdict (scripts/stability.py; descriptive, not a test), and
how the rule fared in simulation (scripts/calibrate_claims.py, scripts/power.py): its false
verdicts and coverage under both noise models, its power, the verdicts it can reach. A verdict
whose rule misses a bar is marked. The tests themselves are the second table,
scripts/table_claim_tests.py. The claims and their rules: docs/design.md sections 1 and 6.

    python scripts/table_claims.py --results results/cpu --out paper/generated/table_claims.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rectifiers.analysis import bars, claims, results
from rectifiers.render import cli, latex

NOISE = ("pooled", "cell")  # the order of each pair of numbers
MARK = {"pooled": r"$^\dagger$", "cell": r"$^\ddagger$"}  # a bar missed under that noise model

COLUMNS = (r"@{}>{\raggedright}p{0.02\linewidth}>{\raggedright}p{0.16\linewidth}>{\raggedright}p{0.25\linewidth}"
           r">{\raggedright}p{0.14\linewidth}>{\raggedright}p{0.12\linewidth}"
           r">{\raggedright\arraybackslash}p{0.19\linewidth}@{}")


def shares(st: pd.DataFrame, claim: int, view: str) -> str:
    """'S 76, C 24, I 0': the bootstrap's percentages of each verdict."""
    r = st[(st.claim == claim) & (st.view == view)].iloc[0]
    return ", ".join(f"{k[0].upper()}\\,{latex.pct(r[k], 0)}" for k in claims.VERDICTS)


def pair(cal: list[bars.RuleCalibration], field: str, digits: int = 1) -> str:
    """'12.3 / 10.3': one figure under pooled, then per-cell noise."""
    return " / ".join(latex.pct(getattr(c, field), digits) for c in cal)


def calibration_cell(cal: list[bars.RuleCalibration], power_seeds: int | None, max_seeds: int) -> str:
    reach = " / ".join(", ".join(v[0].upper() for v in c.reachable) for c in cal)
    need = f"{power_seeds}" if power_seeds else f"$>${max_seeds}"
    return (rf"false C: {pair(cal, 'false_contradicted')}\newline false S: {pair(cal, 'false_supported')}"
            rf"\newline cover: {pair(cal, 'coverage')}\newline power: {pair(cal, 'power', 0)}; "
            rf"80\%: {need} seeds\newline reaches: {reach}")


def table(verdicts: list[claims.Verdict], first: list[claims.Verdict], st: pd.DataFrame, cal: pd.DataFrame,
          power: pd.DataFrame) -> str:
    lines = []
    for i, (v, v5) in enumerate(zip(verdicts, first)):
        if i:
            lines.append(r"\addlinespace")
        # a profile whose runs fall outside the claims' design (smoke) has nothing calibrated
        rc = [bars.rule_calibration(cal, v.number, n) for n in NOISE] if len(cal) else []
        mark = "".join(MARK[c.noise] for c in rc if c.missed)
        simulated = calibration_cell(rc, bars.seeds_for_power(power, v.number), int(power.seeds.max())) \
            if rc and len(power) else "not calibrated"
        lines.append(" & ".join([str(v.number), latex.tex_escape(v.claim), latex.tex_escape(v.result),
                                 rf"\textbf{{{v.verdict}}}{mark} ({v5.verdict})",
                                 rf"{shares(st, v.number, 'all seeds')}\newline 5 seeds: "
                                 rf"{shares(st, v.number, 'five seeds')}",
                                 simulated])
                     + r" \\")
    return latex.tabular(COLUMNS, r"\# & Claim & Result & Verdict (5 seeds) & Seed bootstrap, \% & "
                         r"Rule in simulation, \% (pooled / per cell) \\", lines)


def read_csv(results_dir: Path, name: str, make: str) -> pd.DataFrame:
    path = Path(results_dir) / name
    if not path.is_file() or not path.read_text().strip():
        raise results.ResultsError(f"{path} is missing: run `make {make}` first")
    return pd.read_csv(path)


def main(argv=None) -> int:
    def make(d: Path) -> str:
        res = results.load(d, "epochs")
        t, missing = res.tidy(), res.study.get("missing", [])
        return table(claims.decide_first_seeds(t, missing), claims.decide_first_seeds(t, missing, claims.FIVE_SEEDS),
                     read_csv(d, "stability.csv", "stability"), read_csv(d, "claims_calibration.csv", "calibrate"),
                     read_csv(d, "power.csv", "power"))
    return cli.generated_main("table_claims", make, argv)


if __name__ == "__main__":
    sys.exit(main())
