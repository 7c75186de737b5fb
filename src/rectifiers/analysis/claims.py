"""The six claims of the paper (docs/design.md sections 1 and 6), each decided by one small
pure function over the tidy table of runs (tidy.py). Every number a rule uses is declared in
conf/claims.yaml (rules.py); the families, their sizes and corrections are fixed here, and
claim_text.py writes each rule in words from the same constants. Each rule reads in three
steps: its comparisons (comparisons.py), their corrections within the family, the decision.

Verdicts:
- supported: the test in the claim's direction rejects, within its family's correction;
- contradicted: a test against the claim rejects (an effect of the opposite sign, or an
  equivalence test showing that an effect the claim asserts is below the margin);
- inconclusive: neither. Lack of evidence is never a contradiction, and a claim whose runs
  do not exist yet is "inconclusive (not yet run)".
When a claim can be contradicted in several ways, alpha is split between the ways
(Bonferroni) so that the claim's false-contradiction rate stays at most alpha.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..studies import STUDIES_BY_SCALE
from . import claim_text as words
from . import stats
from .claim_text import CLAIMS, rule_text
from .comparisons import Comparison, PValues, adjusted, compare, holm, or_one, with_p
from .rules import RULES, Cell, Rules, cell_key
from .tidy import Values, has_scale

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)  # what a rule can say, in table order
FIVE_SEEDS = 5  # seeds 0-4: the study before its pre-registered extension (conf/claims.yaml, extension)


@dataclass(kw_only=True)
class Verdict:
    number: int
    verdict: str
    result: str                    # one sentence: what the data say (claim_text.py)
    scales: tuple[str, ...]        # the runs it was decided on: studies.STUDIES_BY_SCALE
    method: str                    # the tests
    family: str                    # what the family is
    family_size: int
    correction: str
    comparisons: list[Comparison] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    not_run: bool = False          # some of its runs do not exist yet: inconclusive for that reason

    @property
    def claim(self) -> str:
        return CLAIMS[self.number]

    @property
    def rule(self) -> str:
        return rule_text(self.number)


def _decision(contradicted: bool, supported: bool) -> str:
    """A contradiction outranks support: both can hold only where the claim is tested two ways."""
    return CONTRADICTED if contradicted else SUPPORTED if supported else INCONCLUSIVE


def _not_run(number: int, scales: tuple[str, ...], missing: str, **test: str | int) -> Verdict:
    return Verdict(number=number, verdict=INCONCLUSIVE, result=words.not_run(missing), scales=scales, not_run=True,
                   **test)


def claim1(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """ReLU can lose a large fraction of its units. Per stress cell, one-sided t tests of
    ReLU's mean peak dead ratio against the threshold."""
    cells = rules.stress_cells()
    test = dict(method="one-sided t test of ReLU's mean peak dead ratio vs the threshold",
                family="plain cells of the stress grid", family_size=len(cells), correction="Holm")
    if not has_scale(t, "stress"):
        return _not_run(1, ("stress",), "stress", **test)
    here = t[(t.scale == "stress") & (t.act == rules.relu)]
    rows = [compare(c, here[here.cell == c].dead_peak, rules.dead_threshold, rules, cell=c, unit="percent")
            for c in cells]
    rows = holm(rows, "greater")
    above = [r.label for r in rows if r.adjusted.greater < rules.alpha]
    below_all = all(r.p.less < rules.alpha for r in rows)   # intersection-union: no correction
    worst = max(rows, key=lambda r: -np.inf if np.isnan(r.estimate) else r.estimate)
    return Verdict(number=1, verdict=_decision(below_all and not above, bool(above)),
                   result=words.result1(len(above), len(cells), worst, rules), scales=("stress",), **test,
                   comparisons=rows, numbers=dict(cells_above=above, max_peak=worst.estimate, max_cell=worst.label))


def claim2(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """Leaky ReLU keeps gradient flowing, so fewer units end dead. Paired (by seed) end dead
    ratio of each Leaky slope minus ReLU in every stress cell."""
    cells, leaky, a = rules.stress_cells(), rules.leaky, rules.alpha
    test = dict(method="paired t test of the end dead ratio, Leaky minus ReLU; TOST against the dead-ratio margin",
                family="Leaky slopes x plain cells of the stress grid", family_size=len(cells) * len(leaky),
                correction="Holm; alpha split between the two ways to contradict (more dead units, all within the "
                           "margin)")
    if not has_scale(t, "stress"):
        return _not_run(2, ("stress",), "stress", **test)
    dead = Values(t, "stress", "dead_final")
    rows = [compare(f"{x} @ {c}", dead.diff(c, x, rules.relu), 0.0, rules, rules.dead_margin, act=x, vs=rules.relu,
                    cell=c) for c in cells for x in leaky]
    rows = holm(holm(rows, "less"), "greater")   # fewer dead units: the claim's direction; more: against it
    fewer = sum(r.adjusted.less < a for r in rows)
    more = sum(r.adjusted.greater < a / 2 for r in rows)
    p_equiv = max(or_one(r.p.tost) for r in rows)   # every difference within the margin: against the claim
    rev = _revival(t[t.scale == "stress"], rules)
    return Verdict(number=2, verdict=_decision(more > 0 or p_equiv < a / 2, fewer > 0),
                   result=words.result2(fewer, more, test["family_size"], p_equiv < a / 2, rev), scales=("stress",),
                   **test, comparisons=rows, numbers=dict(n_fewer=fewer, n_more=more, p_equivalent=p_equiv,
                                                          revival_relu=rev[0], revival_leaky=rev[1]))


def _revival(t: pd.DataFrame, rules: Rules) -> tuple[float, float]:
    """Share of ever-dead units that revived, pooled over finished runs (descriptive only:
    units of one run are not independent, so no test is made on them)."""
    ok = t[t.status == "ok"]

    def share(f):
        ever = f.ever_dead.sum()
        return float(f.revived.sum() / ever) if ever > 0 else np.nan
    return share(ok[ok.act == rules.relu]), share(ok[ok.act.isin(rules.leaky)])


def claim3(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """Leaky 0.01 works well: it is not worse, by more than the margin, than ReLU or the
    larger slopes (non-inferiority), in the long plain runs at every depth. Against -margin,
    `greater` is the test of non-inferiority and `less` the test of inferiority."""
    default, others = rules.leaky[0], [rules.relu] + rules.leaky[1:]
    depths = rules.design["long"]["depths"]
    test = dict(method="paired t tests of non-inferiority (Leaky 0.01 minus other > -margin)",
                family="Leaky 0.01 vs ReLU and each larger slope x long-run depths",
                family_size=len(depths) * len(others),
                correction="none for support (all must pass); Holm for contradiction")
    if not has_scale(t, "long"):
        return _not_run(3, ("long",), "long", **test)
    acc = Values(t, "long")
    rows = [compare(f"{default} vs {o} @ depth {d:g}", acc.diff(cell_key("depth", d), default, o),
                    -rules.accuracy_margin, rules, act=default, vs=o, cell=cell_key("depth", d), depth=d)
            for d in depths for o in others]
    rows = holm(rows, "less")
    noninferior = sum(r.p.greater < rules.alpha for r in rows)
    worse = [r.label for r in rows if r.adjusted.less < rules.alpha]
    return Verdict(number=3, verdict=_decision(bool(worse), noninferior == len(rows)),
                   result=words.result3(noninferior, len(rows), len(worse), rules), scales=("long",), **test,
                   comparisons=rows, numbers=dict(n_noninferior=noninferior, worse=worse))


def _slope(acc: Values, depths: list[float], rules: Rules) -> Comparison:
    """The least-squares slope on depth of PReLU's paired gain over ReLU, every seed a point."""
    gains = [acc.diff(cell_key("depth", d), rules.prelu, rules.relu) for d in depths]
    s = stats.slope_test([d for d, g in zip(depths, gains) for _ in g], [x for g in gains for x in g], rules.alpha)
    return Comparison("slope per layer", s.n, s.slope, s.low, s.high, PValues(less=s.p_less, greater=s.p_greater),
                      unit="points per layer")


def claim4(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """PReLU helps most in very deep networks: a trend. PReLU's paired gain over ReLU
    (per seed) regressed on depth, and the mean gain at the deepest depth, in the long runs."""
    depths = rules.design["long"]["depths"]
    deepest = max(depths)
    test = dict(method="least-squares slope of PReLU's paired gain over ReLU on depth (t interval); "
                       "paired t test and TOST of the gain at the deepest depth",
                family="the slope and the gain at the deepest depth, both needed for support", family_size=2,
                correction="none for support (both must pass); Holm over the 3 tests against the claim")
    if not has_scale(t, "long"):
        return _not_run(4, ("long",), "long", **test)
    acc = Values(t, "long")
    slope = _slope(acc, depths, rules)
    gain = compare(f"gain @ depth {deepest:g}", acc.diff(cell_key("depth", deepest), rules.prelu, rules.relu),
                   0.0, rules, rules.accuracy_margin)
    # the three ways against the claim, one family: the slope negative, the gain negative, the gain within the margin
    against = stats.holm([slope.p.less, gain.p.less, gain.p.tost])
    slope, gain = adjusted(slope, less=against[0]), adjusted(gain, less=against[1], tost=against[2])
    supported = slope.p.greater < rules.alpha and gain.p.greater < rules.alpha
    return Verdict(number=4, verdict=_decision(bool((against < rules.alpha).any()), supported),
                   result=words.result4(slope, deepest, gain), scales=("long",), **test, comparisons=[slope, gain],
                   numbers=dict(slope=slope.estimate, gain_deepest=gain.estimate))


def _outside(d: np.ndarray, margin: float, alpha: float) -> float:
    """The p-value that the mean of `d` lies beyond +-margin: the better of the two one-sided tests."""
    return min(stats.t_test(d, margin, alpha).p_greater, stats.t_test(d, -margin, alpha).p_less)


def _against_relu(acc: Values, cells: list[str], acts: list[str], rules: Rules) -> list[Comparison]:
    """Each activation's paired accuracy minus ReLU's in each cell, with TOST against the margin."""
    return [compare(f"{x} @ {c}", acc.diff(c, x, rules.relu), 0.0, rules, rules.accuracy_margin, act=x,
                    vs=rules.relu, cell=c) for c in cells for x in acts]


def claim5(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """Little difference in a typical network (every activation equivalent to ReLU within the
    margin in the trained ResNet), but differences under stress (each knob has a cell where
    some activation differs detectably from ReLU)."""
    others = rules.leaky + [rules.prelu]
    stress_cells = [c for c in rules.stress_cells() if c != "baseline"]
    test = dict(method="paired t tests of accuracy vs ReLU: TOST (trained ResNet), two-sided (stress cells)",
                family=f"ResNet: each activation trained there vs ReLU (at least 3); stress: {len(others)} "
                       f"activations x {len(stress_cells)} stress cells",
                family_size=len(stress_cells) * len(others),
                correction="none for equivalence (all must pass); Holm within each family; alpha split between the "
                           "two ways to contradict")
    trained = t[t.scale == "trained"]
    if trained.empty or not has_scale(t, "stress"):
        return _not_run(5, ("trained", "stress"), "trained" if trained.empty else "stress", **test)
    m, a = rules.accuracy_margin, rules.alpha
    # comparisons: the trained ResNet (its one cell, the activations trained there) and the stress cells
    resnet, resnet_acc = trained.cell.iloc[0], Values(t, "trained")
    ref = _against_relu(resnet_acc, [resnet], [x for x in others if x in set(trained.act)], rules)
    ref = [with_p(r, outside=_outside(resnet_acc.diff(resnet, r.act, rules.relu), m, a)) for r in ref]
    stress = _against_relu(Values(t, "stress"), stress_cells, others, rules)
    # corrections: Holm within each family; then one equivalence p-value per knob, Holm over the knobs
    ref, stress = holm(ref, "outside"), holm(stress, "two")
    by_knob = {k: [r for r in stress if Cell.parse(r.cell).knob == k] for k in rules.knobs}
    matters = {k: sum(r.adjusted.two < a for r in rows) for k, rows in by_knob.items()}
    # a knob where every comparison is equivalent to no difference: the choice does not matter there
    knob_equivalent = stats.holm([max(or_one(r.p.tost) for r in rows) for rows in by_knob.values()])
    # decision
    n_equivalent = sum(r.p.tost < a for r in ref)
    equivalent_ref = len(ref) >= 3 and n_equivalent == len(ref)
    differs_ref = any(r.adjusted.outside < a / 2 for r in ref)
    contradicted = differs_ref or bool((knob_equivalent < a / 2).any())
    return Verdict(number=5, verdict=_decision(contradicted, equivalent_ref and all(matters.values())),
                   result=words.result5(n_equivalent, len(ref), matters, rules), scales=("trained", "stress"), **test,
                   comparisons=ref + stress, numbers=dict(ref_equivalent=equivalent_ref, matters=matters))


def _association(t: pd.DataFrame, rules: Rules) -> stats.Association:
    """Among stress-grid runs that have not collapsed after epoch 1, the Spearman correlation of the
    dead ratio after epoch 1 with final accuracy within each (cell, activation), by permutation."""
    s = t[(t.scale == "stress") & t.cell.isin(rules.stress_cells()) & ~t.early_collapse.astype(bool)]
    return stats.within_group_spearman(s.dead_epoch1, s.acc, s.cell + "/" + s.act, rules.permutations, rules.seed)


def claim6(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """The dead ratio diagnoses the problem and Leaky ReLU usually solves it.
    Diagnosis: does a higher dead ratio after epoch 1 go with a lower final accuracy within the
    same cell and activation (`_association`)? Cure: in the harshest cell of each knob, is Leaky
    ReLU (mean over its slopes, per seed) more accurate than ReLU?"""
    cells = rules.harshest_cells()
    test = dict(method="within-(cell, activation) Spearman of epoch-1 dead ratio and final accuracy, permutation "
                       "test; paired t tests of Leaky (mean over slopes) minus ReLU accuracy",
                family=f"diagnosis (1 test) and cure ({len(cells)} harshest cells; a majority must pass)",
                family_size=len(cells) + 1,
                correction="Holm over the cure cells; alpha split between the two ways to contradict")
    if not has_scale(t, "stress") or "dead_epoch1" not in t:
        return _not_run(6, ("stress",), "stress", **test)
    a = rules.alpha
    assoc, acc = _association(t, rules), Values(t, "stress")
    diag = Comparison("diagnosis: rho(epoch-1 dead ratio, final accuracy)", assoc.n, assoc.rho,
                      p=PValues(less=assoc.p_less, greater=assoc.p_greater), groups=assoc.groups, unit="rho")
    cure = [compare(f"Leaky vs ReLU @ {c}", acc.diff(c, rules.leaky, rules.relu), 0.0, rules,
                    rules.accuracy_margin, cell=c) for c in cells]
    cure = [with_p(r, ruled_out=min(r.p.less, or_one(r.p.tost))) for r in cure]   # a worse or a negligible cure
    cure = holm(holm(cure, "greater"), "ruled_out")
    need = len(cells) // 2 + 1                        # "usually": more than half the cells
    cured = sum(r.adjusted.greater < a for r in cure)
    ruled_out = sum(r.adjusted.ruled_out < a / 2 for r in cure)
    contradicted = diag.p.greater < a / 2 or ruled_out > len(cells) - need
    return Verdict(number=6, verdict=_decision(contradicted, diag.p.less < a and cured >= need),
                   result=words.result6(assoc, cured, len(cells), need), scales=("stress",), **test,
                   comparisons=[diag] + cure, numbers=dict(rho=diag.estimate, n_cured=cured, n_ruled_out=ruled_out))


CLAIM_FUNCS = {1: claim1, 2: claim2, 3: claim3, 4: claim4, 5: claim5, 6: claim6}


def incomplete(v: Verdict, missing: list[dict]) -> Verdict:
    """A verdict whose studies still miss runs is not a finding: it becomes inconclusive (not yet
    run), and its result says how many runs are missing and what the runs so far show."""
    studies = {s for scale, names in STUDIES_BY_SCALE.items() if scale in v.scales for s in names}
    gaps = {}
    for m in missing:
        if m["study"] in studies:
            gaps[m["study"]] = gaps.get(m["study"], 0) + 1
    if not gaps or v.not_run:
        return v
    return replace(v, verdict=INCONCLUSIVE, result=words.incomplete(gaps, v.result), not_run=True)


def decide(t: pd.DataFrame, rules: Rules = RULES, missing: list[dict] = ()) -> list[Verdict]:
    """All six verdicts, in order; `missing` (study.json) turns a claim whose studies are not
    complete into inconclusive (not yet run)."""
    return [incomplete(f(t, rules), list(missing)) for f in CLAIM_FUNCS.values()]


def decide_first_seeds(t: pd.DataFrame, missing: list[dict] = (), seeds: int | None = None,
                       rules: Rules = RULES) -> list[Verdict]:
    """decide() on seeds 0..seeds-1 only (every seed with None): the five-seed verdicts the
    paper prints beside the verdicts of record."""
    if seeds is not None:
        t, missing = t[t.seed < seeds], [m for m in missing if m["seed"] < seeds]
    return decide(t, rules, list(missing))
