"""Calibration table: the ReLU runs that chose the baseline (conf/study/calibration.yaml):
test accuracy and peak dead ratio of each candidate depth x learning rate x batch size.

    python scripts/table_calibration.py --results results/cpu --out paper/generated/table_calibration.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rectifiers import cli, latex, results


def table(cal: pd.DataFrame) -> str:
    lines = [r"\begin{tabular}{@{}rrrlrr@{}}", r"\toprule",
             r"Depth & Learning rate & Batch & Status & Test acc.\ (\%) & Peak dead (\%) \\", r"\midrule"]
    for r in cal.sort_values(["depth", "batch_size", "lr"]).itertuples():
        lines.append(f"{r.depth} & {r.lr:g} & {r.batch_size} & {r.status} & {latex.pct(r.final_test_acc)} & "
                     f"{latex.pct(r.dead_ratio_peak)} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    def make(results_dir: Path) -> str:
        path = results_dir / "calibration.csv"
        if not path.exists() or not path.read_text().strip():
            raise results.ResultsError(f"{path} is missing or has no runs: run the calibration study (`make "
                                       "train` runs +study=calibration first), then aggregate (`make results`)")
        return table(pd.read_csv(path))
    return cli.generated_main("table_calibration", make, argv)


if __name__ == "__main__":
    sys.exit(main())
