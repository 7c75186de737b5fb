"""One comparison of a claim rule (claims.py), typed: what it compares, its estimate and
interval, the raw p-values of its tests and the same tests Holm-adjusted over the rule's
family, each under its name. `compare` makes one from paired differences, `holm` corrects one
named test over a family and `adjusted` sets corrected values a rule computes itself (claim 4
corrects three tests of two comparisons together). No reader parses a label: it is only the
comparison's name in the paper and in the calibration's drivers."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import stats
from .rules import RULES, Rules

NAN = float("nan")


@dataclass(frozen=True)
class PValues:
    """The p-values of one comparison's tests; NaN for a test it does not make.
    less, greater: one-sided (H1: the mean is below, above the null); two: two-sided;
    tost: equivalence within +-margin; outside: the mean lies beyond +-margin (claim 5);
    ruled_out: the better of `less` and `tost`, the claimed gain ruled out (claim 6).
    The field order is the order in which claim_text.moved looks for a corrected test that moved."""
    less: float = NAN
    greater: float = NAN
    two: float = NAN
    tost: float = NAN
    outside: float = NAN
    ruled_out: float = NAN


@dataclass(frozen=True)
class Comparison:
    """One test of a rule. `p`: raw p-values; `adjusted`: Holm within the rule's family, by test.
    What is compared, where a rule says: act against vs (an activation, or a list averaged per
    seed), in cell (tidy.py's name), at depth (the long runs)."""
    label: str
    n: int
    estimate: float
    low: float = NAN
    high: float = NAN
    p: PValues = PValues()
    adjusted: PValues = PValues()
    act: str | None = None
    vs: str | None = None
    cell: str | None = None
    depth: float | None = None
    groups: int | None = None   # a test within groups (claim 6's diagnosis): how many groups
    unit: str = "points"        # how the text says the estimate: percent, points, points per layer, rho


def compare(label: str, x, null: float = 0.0, rules: Rules = RULES, margin: float | None = None,
            **where) -> Comparison:
    """The t analysis of the values `x` (paired differences) against `null`, and TOST against
    `margin` where one is given. `where`: what is compared (act, vs, cell, depth)."""
    r = stats.t_test(x, null, rules.alpha)
    tost = stats.tost(x, margin) if margin is not None else NAN
    return Comparison(label, r.n, r.mean, r.low, r.high, PValues(less=r.p_less, greater=r.p_greater, two=r.p_two,
                                                                  tost=tost), **where)


def with_p(c: Comparison, **tests: float) -> Comparison:
    """`c` with more raw p-values, by test name."""
    return replace(c, p=replace(c.p, **tests))


def adjusted(c: Comparison, **tests: float) -> Comparison:
    """`c` with corrected p-values, by test name."""
    return replace(c, adjusted=replace(c.adjusted, **{k: float(p) for k, p in tests.items()}))


def holm(family: list[Comparison], test: str) -> list[Comparison]:
    """The family with its `test` p-values Holm-adjusted over it."""
    ps = stats.holm([getattr(c.p, test) for c in family])
    return [adjusted(c, **{test: p}) for c, p in zip(family, ps)]


def or_one(p: float) -> float:
    """A test that could not be made (NaN: too few runs) rejects nothing."""
    return 1.0 if np.isnan(p) else p
