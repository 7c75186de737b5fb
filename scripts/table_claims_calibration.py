"""Calibration of the claim rules (scripts/calibrate_claims.py): for each claim and each
simulated world, how often its rule says supported, contradicted or inconclusive, and how
often the printed intervals cover the planted value. Each cell shows both noise models,
pooled / per cell (docs/design.md section 6).

    python scripts/table_claims_calibration.py --results results/cpu --out paper/generated/table_claims_calibration.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rectifiers.analysis import claims, results
from rectifiers.render import cli, latex

FILE = "claims_calibration.csv"
NOISE = ("pooled", "cell")  # the order of each cell's two numbers (scripts/calibrate_claims.py)
ROLE = {"true": "true (edge)", "false": "false (edge)", "effect": "declared effect"}


def both(g: pd.DataFrame, col: str) -> str:
    """'0.2 / 3.6': the rate under pooled noise, then under per-cell noise."""
    return " / ".join(latex.pct(g.loc[g.noise == m, col].iloc[0]) for m in NOISE if (g.noise == m).any())


def table(cal: pd.DataFrame) -> str:
    lines = []
    for i, (claim, g) in enumerate(cal.groupby("claim", sort=True)):
        if i:
            lines.append(r"\addlinespace")
        for j, (name, w) in enumerate(g.groupby("world", sort=False)):
            r = w.iloc[0]
            world = ROLE.get(r.role, r.role) + (name[len(r.role):] if name.startswith(r.role) else "")
            cells = [both(w, c) for c in claims.VERDICTS]
            bold = {"true": 1, "false": 0}.get(r.role)  # the false-verdict rate that the bar limits
            if bold is not None:
                cells[bold] = rf"\textbf{{{cells[bold]}}}"
            lines.append(f"{claim if j == 0 else ''} & {latex.tex_escape(world)} & {latex.tex_escape(r.description)} & "
                         + " & ".join(cells) + f" & {both(w, 'coverage')} \\\\")
    return latex.tabular(r"@{}r>{\raggedright}p{0.12\linewidth}>{\raggedright}p{0.3\linewidth}rrrr@{}",
                         r"Claim & World & Planted & Supported & Contradicted & Inconclusive & Coverage \\", lines)


def read(results_dir: Path) -> pd.DataFrame:
    path = Path(results_dir) / FILE
    if not path.is_file() or not path.read_text().strip():
        raise results.ResultsError(f"{path} is missing: run `make calibrate` (scripts/calibrate_claims.py, after "
                           "scripts/aggregate.py) first")
    return pd.read_csv(path)


def main(argv=None) -> int:
    def make(results_dir: Path) -> str:
        results.load(results_dir)  # the study's results first: without them there is nothing to calibrate against
        return table(read(results_dir))
    return cli.generated_main("table_claims_calibration", make, argv)


if __name__ == "__main__":
    sys.exit(main())
