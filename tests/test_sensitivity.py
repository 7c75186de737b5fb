"""Claim 3's sensitivity analyses (rectifiers.analysis.sensitivity) and what the calibration says
about a rule (rectifiers.analysis.bars), on hand-made tables with values computed by hand."""
import numpy as np
import pandas as pd
import pytest

from rectifiers.analysis import bars, claims, sensitivity
from rectifiers.analysis.rules import RULES


def long_runs(collapsed: dict[str, list[bool]], depth: int = 20) -> pd.DataFrame:
    """A tidy table of long runs at one depth: per activation, whether each seed collapsed."""
    return pd.DataFrame([dict(scale="long", cell=f"depth={depth}", act=a, seed=s, collapsed=float(c))
                         for a, cs in collapsed.items() for s, c in enumerate(cs)])


def test_collapse_pair_counts_discordant_seeds_and_tests_them_exactly():
    t = long_runs({"leaky_relu_0.01": [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
                   "leaky_relu_0.3": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]})
    p = sensitivity.collapse_pair(t, 20, "leaky_relu_0.01", "leaky_relu_0.3")
    assert (p.seeds, p.collapsed_act, p.collapsed_other, p.only_act, p.only_other) == (10, 7, 1, 7, 1)
    # two-sided exact binomial on 8 discordant seeds, 7 against 1: 2 * (1 + 8) / 2^8
    assert p.p == pytest.approx(2 * 9 / 256)


def test_no_discordant_seed_is_no_evidence():
    t = long_runs({"leaky_relu_0.01": [0, 1, 0], "relu": [0, 1, 0]})
    assert sensitivity.collapse_pair(t, 20, "leaky_relu_0.01", "relu").p == 1.0


def test_collapse_is_holm_adjusted_over_the_rules_comparisons_and_can_only_contradict():
    acts = {"relu": [0] * 10, "leaky_relu_0.01": [1] * 10, "leaky_relu_0.1": [0] * 10, "leaky_relu_0.3": [0] * 10}
    t = pd.concat([long_runs({a: [0] * 10 for a in acts}, depth=8), long_runs(acts, depth=20)])
    pairs = sensitivity.collapse(t)
    assert len(pairs) == 6 and [p.depth for p in pairs] == [8, 8, 8, 20, 20, 20]
    # each comparison at depth 20: 10 against 0, p = 2 / 2^10; Holm over all six comparisons (those at
    # depth 8 have p = 1): 6p, 5p and 4p, made monotone, so 6p each
    p = 2 / 1024
    assert [x.p_adj for x in pairs[3:]] == pytest.approx([6 * p] * 3) and [x.p_adj for x in pairs[:3]] == [1.0] * 3
    assert sensitivity.collapse_verdict(pairs) == claims.CONTRADICTED
    flipped = [sensitivity.CollapsePair(20, "a", "b", 10, 0, 10, 0, 10, p, 6 * p)]  # the other collapses more
    assert sensitivity.collapse_verdict(flipped) == claims.INCONCLUSIVE


def test_collapse_counts_per_depth_and_activation():
    t = pd.concat([long_runs({"relu": [1, 0, 1], "prelu": [0, 0, 0]}, depth=20),
                   long_runs({"relu": [0, 0, 0], "prelu": [0, 0, 0]}, depth=8)])
    c = sensitivity.collapse_counts(t)
    assert c.loc[("depth=20", "relu")].tolist() == [2, 3] and c.loc[("depth=8", "prelu")].tolist() == [0, 3]


def test_at_level_is_the_rule_at_that_alpha():
    """A difference whose one-sided p-value lies between the two levels flips the verdict."""
    rng = np.random.default_rng(0)
    rows = []
    for d in (8, 20):
        for s in range(10):
            base = 0.6 + 0.01 * rng.standard_normal()
            for a in ("relu", "leaky_relu_0.1", "leaky_relu_0.3"):
                rows.append(dict(scale="long", cell=f"depth={d}", act=a, seed=s, acc=base))
            rows.append(dict(scale="long", cell=f"depth={d}", act="leaky_relu_0.01", seed=s,
                             acc=base - 0.02 + 0.02 * rng.standard_normal()))
    t = pd.DataFrame(rows)
    worst = min(r.adjusted.less for r in claims.claim3(t).comparisons)
    assert sensitivity.at_level(t, worst * 1.01).verdict == claims.CONTRADICTED
    assert sensitivity.at_level(t, worst * 0.99).verdict != claims.CONTRADICTED


def calibration(rows):
    return pd.DataFrame([dict(noise="pooled", claim=3, world=w, role=w, supported=s, contradicted=c,
                              inconclusive=1 - s - c, coverage=cov) for w, s, c, cov in rows])


def test_rule_calibration_by_hand():
    cal = calibration([("true", 0.0, 0.123, 0.923), ("false", 0.001, 0.039, 0.94), ("effect", 0.0, 0.017, 0.95)])
    r = bars.rule_calibration(cal, 3, "pooled")
    assert (r.false_contradicted, r.false_supported, r.coverage, r.power) == (0.123, 0.001, 0.923, 0.0)
    assert r.missed and r.reachable == tuple(claims.VERDICTS)  # 'supported' only in the false world
    assert not r.can_support                                     # never where the claim holds
    ok = bars.rule_calibration(calibration([("true", 0.02, 0.01, 0.95), ("false", 0.0, 0.0, 0.95),
                                            ("effect", 0.3, 0.0, 0.95)]), 3, "pooled")
    assert not ok.missed and ok.can_support and ok.reachable == (claims.SUPPORTED, claims.CONTRADICTED,
                                                                 claims.INCONCLUSIVE)
    with pytest.raises(ValueError, match="no rows for claim 3 under cell noise"):
        bars.rule_calibration(cal, 3, "cell")


def test_seeds_for_power():
    power = pd.DataFrame([dict(claim=c, world="effect", seeds=n, supported=s)
                          for c, n, s in ((1, 5, 0.4), (1, 10, 0.9), (1, 15, 1.0), (3, 20, 0.01))])
    assert bars.seeds_for_power(power, 1) == 10 and bars.seeds_for_power(power, 3) is None
    assert bars.POWER_TARGET == 0.8 and RULES.sensitivity["claim3"]["collapse"]["correction"] == "holm"
