"""The claims and their rules in words, for the paper: each claim as practitioners state it
(`CLAIMS`), each rule in plain English written from the constants of conf/claims.yaml
(`rule_text`), each result sentence from the numbers its rule computed (`result1`..`result6`,
`not_run`, `incomplete`), and what a diverged or failed run contributes (`outcome_text`).
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from .rules import RULES, Rules

CLAIMS = {
    1: "ReLU units can die; bad initialisation, high learning rates or some data can kill a large fraction "
       "(e.g. 30%) of a network.",
    2: "Leaky ReLU passes gradient a for negative inputs, so gradient always flows and dead units can come back "
       "to life.",
    3: "a = 0.01 is the common default and works well; 0.1 to 0.3 is more aggressive.",
    4: "PReLU learns a (one per channel, initialised to 0.25) and helps most in very deep networks.",
    5: "For typical networks the choice makes little difference; it matters for deep networks, high learning "
       "rates, small batches and many dead units.",
    6: "Monitoring activation statistics such as the dead ratio diagnoses the problem; switching to Leaky ReLU "
       "usually solves it.",
}


def pct0(x) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{100 * x:.0f}%"


def pts(x, signed: bool = False) -> str:
    """A difference of fractions in percentage points: 0.01 -> '1 point', signed '+1.0 points'."""
    if x is None or np.isnan(x):
        return "n/a"
    if signed:
        return f"{100 * x:+.1f} points"
    return f"{100 * x:g} point" + ("" if abs(100 * x) == 1 else "s")


def rule_text(n: int, rules: Rules = RULES) -> str:
    """The rule of claim n in plain English, written from the constants."""
    a, m, dm = rules.alpha, pts(rules.accuracy_margin), pts(rules.dead_margin)
    thr = pct0(rules.dead_threshold)
    cells = len(rules.stress_cells())
    leaky = len(rules.leaky)
    depths = rules.design["long"]["depths"]
    harsh = len(rules.harshest_cells())
    text = {
        1: f"In each of the {cells} plain cells of the stress grid, a one-sided t test asks whether ReLU's mean "
           f"peak dead ratio exceeds {thr}. Supported if it does in at least one cell after Holm's correction "
           f"over the {cells} cells (alpha {a:g}); contradicted if in every cell the mean is shown to be below "
           f"{thr}; otherwise inconclusive.",
        2: f"In each of the {cells} plain cells and for each of the {leaky} Leaky slopes, the end dead ratio is "
           f"paired with ReLU's by seed. Supported if Leaky ends with fewer dead units in at least one of the "
           f"{cells * leaky} comparisons after Holm's correction and with more in none; contradicted if it ends "
           f"with more in some comparison (Holm, alpha {a / 2:g}) or if every difference is shown to lie within "
           f"{dm} (two one-sided tests, alpha {a / 2:g}); otherwise inconclusive.",
        3: f"In the long plain runs at depths {', '.join(f'{d:g}' for d in depths)}, Leaky 0.01's accuracy is "
           f"paired by seed with ReLU's and with each larger slope's. Supported if in all "
           f"{len(depths) * (leaky)} comparisons it is shown to be less accurate by no more than {m} "
           f"(one-sided t tests, alpha {a:g} each); contradicted if in some comparison it is shown to be less "
           f"accurate by more than {m} (Holm); otherwise inconclusive. It need not beat anything.",
        4: f"In the long plain runs, PReLU's per-seed gain in accuracy over ReLU is regressed on depth. Supported "
           f"if the slope is positive and the mean gain at depth {max(depths):g} is positive (one-sided tests, "
           f"alpha {a:g} each); contradicted if, after Holm's correction over three tests, the slope is negative, "
           f"the gain at depth {max(depths):g} is negative, or that gain is shown to lie within {m} of zero; "
           f"otherwise inconclusive.",
        5: f"Supported if, in the trained ResNet, every activation's mean paired difference from ReLU is shown to "
           f"lie within {m} (two one-sided tests, alpha {a:g}, at least three activations), and every stress knob "
           f"has a cell where some activation differs from ReLU (two-sided paired t tests, Holm over all stress "
           f"cells and activations); contradicted if, in the ResNet, some activation is shown to differ by more "
           f"than {m}, or some knob is shown to make no difference beyond {m} in all its cells (alpha {a / 2:g} "
           f"each); otherwise inconclusive.",
        6: f"Diagnosis: among stress-grid runs not at chance after epoch 1, the Spearman correlation between the "
           f"dead ratio after epoch 1 and final accuracy within each (cell, activation), averaged, tested by "
           f"permuting within those groups. Cure: in the harshest cell of each of the {harsh} knobs, Leaky ReLU "
           f"(mean over its slopes) is paired with ReLU by seed. Supported if the correlation is negative "
           f"(alpha {a:g}) and Leaky is more accurate in more than half of the {harsh} cells (Holm); "
           f"contradicted if the correlation is positive, or Leaky is shown to be less accurate or within {m} "
           f"of ReLU in so many cells that no majority is left (alpha {a / 2:g} each); otherwise inconclusive.",
    }
    return text[n]


NOT_RUN = "not yet run"
SCALE_NAMES = {"stress": "stress-grid (5,000 images x 5 epochs)", "long": "long plain (>= 4x budget)",
               "trained": "trained ResNet (50,000 images)"}


def not_run(scale: str) -> str:
    return f"{NOT_RUN}: no runs at the {SCALE_NAMES[scale]} scale"


def incomplete(gaps: dict[str, int], result: str) -> str:
    """The result of a claim whose studies miss runs ({study: runs missing})."""
    where = ", ".join(f"{n} run{'s' if n != 1 else ''} of {name}" for name, n in gaps.items())
    return f"{NOT_RUN} in full ({where} missing); so far: {result}"


# What the data say of each claim, in one sentence, from the numbers its rule computed (claims.py).

def result1(above: int, cells: int, worst, rules: Rules = RULES) -> str:
    return (f"ReLU's mean peak dead ratio is detectably above {pct0(rules.dead_threshold)} in {above} of {cells} "
            f"cells; highest mean {pct0(worst.estimate)} ({worst.label})")


def result2(fewer: int, more: int, size: int, equivalent: bool, revival: tuple[float, float]) -> str:
    return (f"Leaky ends with detectably fewer dead units than ReLU in {fewer} of {size} comparisons, more in "
            f"{more}; every difference shown within the margin: {'yes' if equivalent else 'no'}; "
            f"revived / ever-dead units: Leaky {pct0(revival[1])}, ReLU {pct0(revival[0])}")


def result3(passed: int, size: int, worse: int, rules: Rules = RULES) -> str:
    return (f"Leaky 0.01 shown not worse by more than {pts(rules.accuracy_margin)} in {passed} of {size} "
            f"comparisons; worse by more than the margin in {worse}")


def result4(slope, deepest: float, gain) -> str:
    def signed(x):
        return pts(x, signed=True)
    return (f"PReLU's gain over ReLU changes by {signed(slope.estimate * 10)} per 10 layers [{signed(slope.low * 10)}, "
            f"{signed(slope.high * 10)}]; at depth {deepest:g}: {signed(gain.estimate)} [{signed(gain.low)}, "
            f"{signed(gain.high)}]")


def result5(equivalent: int, compared: int, matters: dict[str, int], rules: Rules = RULES) -> str:
    return (f"ResNet: {equivalent} of {compared} activations shown within {pts(rules.accuracy_margin)} of ReLU; "
            "detectable differences per stress knob: " + ", ".join(f"{k} {n}" for k, n in matters.items()))


def result6(assoc, cured: int, cells: int, need: int) -> str:
    return (f"within-group rho = {assoc.rho:.2f} over {assoc.n} runs in {assoc.groups} groups "
            f"(p = {assoc.p_less:.3f}); Leaky detectably more accurate than ReLU in {cured} of {cells} harshest "
            f"cells (needs {need})")


def outcome_text(rules: Rules = RULES) -> str:
    """The paper's sentence on what a diverged or failed run contributes."""
    return (f"A run that diverged counts, in every outcome, as the worst value: accuracy "
            f"{pct0(rules.chance_accuracy)} (chance) and {pct0(rules.diverged_dead_ratio)} of its units dead; "
            f"divergence and collapse (accuracy at most {100 * rules.collapse_accuracy:g}%) are also counted as "
            f"rates. A run that failed with an error is missing, and reported as such.")


def moved(before, after, alpha: float) -> list[str]:
    """The comparisons of one claim whose corrected test (an `adjusted` p-value of its rule)
    crossed alpha or alpha/2 (the level of each way to contradict) between two looks at its
    runs, each as 'label (estimate from a to b, corrected p from a to b)'. A test a rule does
    not correct is NaN at both looks, and NaN crosses nothing."""
    def crossed(p0, p1):
        return any(min(p0, p1) < level <= max(p0, p1) for level in (alpha, alpha / 2))
    first = {r.label: r for r in before.comparisons}
    out = []
    for r in after.comparisons:
        r0 = first.get(r.label)
        if r0 is None:
            continue
        p0, p1 = asdict(r0.adjusted), asdict(r.adjusted)
        test = next((k for k in p1 if crossed(p0[k], p1[k])), None)
        if test:
            out.append(f"{r.label} (estimate from {estimate_words(r0)} to {estimate_words(r)}, corrected p "
                       f"from {p0[test]:.3g} to {p1[test]:.3g})")
    return out


def estimate_words(c) -> str:
    """A comparison's estimate in its unit (Comparison.unit): a dead ratio in percent, a
    correlation as it is, a difference in points (or points per layer)."""
    if c.unit == "percent":
        return f"{100 * c.estimate:.1f}%"
    if c.unit == "rho":
        return f"rho {c.estimate:+.2f}"
    return f"{100 * c.estimate:+.1f} {c.unit}"


def verdict_changes(before: list, after: list, alpha: float, looks: tuple[int, int], shown: int = 4) -> str:
    """For every claim decided at both looks (`looks`: seeds per cell) whose verdict changed, the
    comparisons that moved (`moved`, at most `shown` named); then the claims not yet decided."""
    a, b = looks
    out, undecided = [], [v.number for v in after if v.not_run]
    for v0, v1 in zip(before, after):
        if v1.not_run or v0.verdict == v1.verdict:
            continue
        m = moved(v0, v1, alpha)
        named = "; ".join(m[:shown]) + (f"; and {len(m) - shown} more" if len(m) > shown else "")
        out.append(f"Claim {v1.number} went from {v0.verdict} at {a} seeds to {v1.verdict} at {b}: " +
                   (f"the comparisons whose corrected test crossed its level are {named}." if m else
                    "no corrected test of a single comparison crossed its level; the rule's uncorrected or joint "
                    "tests did."))
    if len(undecided) < len(after) and not out:
        out.append(f"No claim decided at {b} seeds changed its verdict from {a} seeds.")
    if undecided:
        out.append(("Claim " if len(undecided) == 1 else "Claims ") + ", ".join(map(str, undecided)) +
                   f" {'is' if len(undecided) == 1 else 'are'} not yet decided at {b} seeds.")
    return " ".join(out)
