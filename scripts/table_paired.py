"""Paired differences against ReLU (same seed, same cell): final test accuracy and end dead
ratio, in percentage points, mean [95% bootstrap CI] and the verdict of results.verdict
(for the dead ratio, lower is better).

    python scripts/table_paired.py --results results/cpu --out paper/generated/table_paired.tex
"""
from __future__ import annotations

import sys

from rectifiers import results as R

WORDS = {"better": "better", "worse": "worse", "no detectable difference": "no diff.", "undecided": "n/a"}


def label_tex(reg) -> str:
    """'Baseline', 'lr 0.1', 'bias $-$0.5', 'ResNet-20'."""
    if reg["kind"] == "baseline":
        return "Baseline"
    text = R.tex_escape(reg["label"])
    return text.replace("-", "$-$") if reg["kind"] == "stress" else text


def table(runs, study) -> str:
    df = R.regime_frame(runs, study)
    acc = R.paired_summary(df, "final_test_acc", ["regime"])
    dead = R.paired_summary(df, "dead_ratio_final", ["regime"], higher_is_better=False)
    pairs = acc.merge(dead, on=["regime", "act"], how="outer", suffixes=("_acc", "_dead")) if len(acc) else acc
    index = {(r.regime, r.act): r for r in pairs.itertuples()}
    acts = [a for a in R.act_order(df.act.unique()) if a != R.BASELINE_ACT]
    lines = [r"\begin{tabular}{@{}llrlrlr@{}}", r"\toprule",
             r"& & \multicolumn{2}{c}{Test accuracy} & \multicolumn{2}{c}{End dead ratio} & \\",
             r"\cmidrule(lr){3-4}\cmidrule(lr){5-6}",
             r"Regime & Activation & $\Delta$ (points) [95\% CI] & Verdict & $\Delta$ (points) [95\% CI] & "
             r"Verdict & Pairs \\", r"\midrule"]
    first = True
    for reg in R.regimes(study):
        rows = [(a, index.get((reg["key"], a))) for a in acts]
        if not first:
            lines.append(r"\addlinespace")
        first = False
        for i, (a, p) in enumerate(rows):
            name = label_tex(reg) if i == 0 else ""
            if p is None:
                lines.append(f"{name} & {R.act_name(a)} & n/a & & n/a & & 0 \\\\")
                continue
            n = max(int(x) for x in (p.n_pairs_acc, p.n_pairs_dead) if x == x)
            lines.append(f"{name} & {R.act_name(a)} & {R.signed_ci_tex(p.mean_acc, p.low_acc, p.high_acc)} & "
                         f"{WORDS.get(p.verdict_acc, 'n/a')} & "
                         f"{R.signed_ci_tex(p.mean_dead, p.low_dead, p.high_dead)} & "
                         f"{WORDS.get(p.verdict_dead, 'n/a')} & {n} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    return R.generated_main("table_paired", lambda d: table(*R.load(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
