"""Calibration table: the ReLU runs that chose the baseline (conf/study/calibration.yaml):
test accuracy and peak dead ratio of each candidate depth x learning rate x batch size of
the plain CNN; and, under its own label, the ResNet pilot (conf/study/resnet_pilot.yaml).

    python scripts/table_calibration.py --results results/cpu --out paper/generated/table_calibration.tex
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rectifiers.analysis import results
from rectifiers.render import cli, latex


def rows(cal: pd.DataFrame) -> list[str]:
    """One line per run, sorted by depth, batch size and learning rate."""
    return [f"{r.depth} & {r.lr:g} & {r.batch_size} & {r.status} & {latex.pct(r.final_test_acc)} & "
            f"{latex.pct(r.dead_ratio_peak)} \\\\" for r in cal.sort_values(["depth", "batch_size", "lr"]).itertuples()]


def budget(cal: pd.DataFrame) -> str:
    """'5{,}000 images, 3 epochs' (an empty train_size: every training image)."""
    parts = []
    if "train_size" in cal:
        n = sorted({int(x) for x in cal.train_size.dropna()})
        parts.append(", ".join(latex.count(x) for x in n) + " images" if n else "all images")
    e = sorted({int(x) for x in cal.epochs.dropna()})
    parts.append(", ".join(map(str, e)) + (" epoch" if e == [1] else " epochs"))
    return ", ".join(parts)


def table(cal: pd.DataFrame) -> str:
    """The plain-CNN candidates that chose the baseline, then the ResNet pilot (conf/study/
    resnet_pilot.yaml, which picked the trained ResNet's epochs) under its own label: it is
    another network at another budget, not a candidate depth of the plain CNN."""
    model = cal.model if "model" in cal else pd.Series("plain", index=cal.index)
    plain, pilot = cal[model != "resnet"], cal[model == "resnet"]
    lines = []
    groups = (("Plain CNN, baseline candidates", plain), ("ResNet pilot (picked the trained ResNet's epochs)", pilot))
    for i, (label, part) in enumerate((label, part) for label, part in groups if len(part)):
        if i:
            lines.append(r"\addlinespace")
        lines += [rf"\multicolumn{{6}}{{@{{}}l}}{{\emph{{{label}: {budget(part)}}}}} \\", *rows(part)]
    return latex.tabular("@{}rrrlrr@{}", r"Depth & Learning rate & Batch & Status & Test acc.\ (\%) & "
                         r"Peak dead (\%) \\", lines)


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
