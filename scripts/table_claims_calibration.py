"""Calibration of the claim rules (scripts/calibrate_claims.py): for each claim and each
simulated world, how often its rule says supported, contradicted or inconclusive, and how
often the printed intervals cover the planted value.

    python scripts/table_claims_calibration.py --results results/cpu --out paper/generated/table_claims_calibration.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rectifiers import cli, latex, results

FILE = "claims_calibration.csv"
ROLE = {"true": "true (edge)", "false": "false (edge)", "effect": "declared effect"}


def table(cal: pd.DataFrame) -> str:
    lines = [r"\begin{tabular}{@{}r>{\raggedright}p{0.14\linewidth}>{\raggedright}p{0.38\linewidth}rrrr@{}}",
             r"\toprule", r"Claim & World & Planted & Supported & Contradicted & Inconclusive & Coverage \\",
             r"\midrule"]
    for i, (claim, g) in enumerate(cal.groupby("claim", sort=True)):
        if i:
            lines.append(r"\addlinespace")
        for j, r in enumerate(g.itertuples()):
            world = ROLE.get(r.role, r.role) + (r.world[len(r.role):] if r.world.startswith(r.role) else "")
            cells = [latex.pct(getattr(r, c)) for c in ("supported", "contradicted", "inconclusive")]
            bold = {"true": 1, "false": 0}.get(r.role)  # the false-verdict rate that the bar limits
            if bold is not None:
                cells[bold] = rf"\textbf{{{cells[bold]}}}"
            lines.append(f"{claim if j == 0 else ''} & {latex.tex_escape(world)} & {latex.tex_escape(r.description)} & "
                         + " & ".join(cells) + f" & {latex.pct(r.coverage)} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


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
