"""The six claims of the paper (docs/design.md sections 1 and 6), each decided by one small
pure function over the tidy table of runs (tidy.py). Every number a rule uses is declared in
conf/claims.yaml (rules.py); the families, their sizes and corrections are fixed here, and
claim_text.py writes each rule in words from the same constants.

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
from .rules import RULES, Rules, cell_key
from .tidy import Values, has_scale

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)  # what a rule can say, in table order
FIVE_SEEDS = 5  # seeds 0-4: the study before its pre-registered extension (conf/claims.yaml, extension)


@dataclass
class Verdict:
    number: int
    verdict: str
    result: str                    # one sentence: what the data say (claim_text.py)
    scales: tuple[str, ...]        # the runs it was decided on: studies.STUDIES_BY_SCALE
    method: str                    # the tests
    family: str                    # what the family is
    family_size: int
    correction: str
    comparisons: list = field(default_factory=list)   # one dict per test, see `_row`
    numbers: dict = field(default_factory=dict)
    not_run: bool = False          # some of its runs do not exist yet: inconclusive for that reason

    @property
    def claim(self) -> str:
        return CLAIMS[self.number]

    @property
    def rule(self) -> str:
        return rule_text(self.number)


def _row(label: str, x, null: float = 0.0, rules: Rules = RULES, margin: float | None = None, **where) -> dict:
    """One comparison: its t analysis against `null` (and TOST against `margin`). `where` says what
    is compared, typed (act, vs, cell, depth), so that no reader parses the label."""
    r = stats.t_test(x, null, rules.alpha)
    out = dict(label=label, **where, n=r.n, estimate=r.mean, low=r.low, high=r.high, p_greater=r.p_greater,
               p_less=r.p_less, p_two=r.p_two)
    if margin is not None:
        out["p_tost"] = stats.tost(x, margin)
    return out


def _adjust(rows: list[dict], key: str, out: str) -> None:
    for r, p in zip(rows, stats.holm([r[key] for r in rows])):
        r[out] = float(p)


def _not_run(n: int, scales: tuple[str, ...], missing: str, method: str, family: str, size: int,
             correction: str) -> Verdict:
    return Verdict(n, INCONCLUSIVE, words.not_run(missing), scales, method, family, size, correction, not_run=True)


def claim1(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """ReLU can lose a large fraction of its units. Per stress cell, one-sided t tests of
    ReLU's mean peak dead ratio against the threshold."""
    cells = rules.stress_cells()
    method, family, corr = ("one-sided t test of ReLU's mean peak dead ratio vs the threshold",
                            "plain cells of the stress grid", "Holm")
    if not has_scale(t, "stress"):
        return _not_run(1, ("stress",), "stress", method, family, len(cells), corr)
    here = t[(t.scale == "stress") & (t.act == rules.relu)]
    rows = [_row(c, here[here.cell == c].dead_peak, rules.dead_threshold, rules) for c in cells]
    _adjust(rows, "p_greater", "p_adj")
    above = [r["label"] for r in rows if r["p_adj"] < rules.alpha]
    below_all = all(r["p_less"] < rules.alpha for r in rows)   # intersection-union: no correction
    v = SUPPORTED if above else CONTRADICTED if below_all else INCONCLUSIVE
    worst = max(rows, key=lambda r: -np.inf if np.isnan(r["estimate"]) else r["estimate"])
    return Verdict(1, v, words.result1(len(above), len(cells), worst, rules), ("stress",), method, family,
                   len(cells), corr, rows,
                   dict(cells_above=above, max_peak=worst["estimate"], max_cell=worst["label"]))


def claim2(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """Leaky ReLU keeps gradient flowing, so fewer units end dead. Paired (by seed) end dead
    ratio of each Leaky slope minus ReLU in every stress cell."""
    cells, leaky = rules.stress_cells(), rules.leaky
    size = len(cells) * len(leaky)
    method = "paired t test of the end dead ratio, Leaky minus ReLU; TOST against the dead-ratio margin"
    family, corr = "Leaky slopes x plain cells of the stress grid", \
        "Holm; alpha split between the two ways to contradict (more dead units, all within the margin)"
    if not has_scale(t, "stress"):
        return _not_run(2, ("stress",), "stress", method, family, size, corr)
    dead = Values(t, "stress", "dead_final")
    rows = [_row(f"{a} @ {c}", dead.diff(c, a, rules.relu), 0.0, rules, rules.dead_margin, act=a, vs=rules.relu, cell=c)
            for c in cells for a in leaky]
    _adjust(rows, "p_less", "p_adj")           # fewer dead units: the claim's direction
    _adjust(rows, "p_greater", "p_adj_more")   # more dead units: against the claim
    fewer = sum(r["p_adj"] < rules.alpha for r in rows)
    more = sum(r["p_adj_more"] < rules.alpha / 2 for r in rows)
    p_equiv = max(r["p_tost"] if not np.isnan(r["p_tost"]) else 1.0 for r in rows)
    v = (CONTRADICTED if more or p_equiv < rules.alpha / 2 else SUPPORTED if fewer else INCONCLUSIVE)
    rev = _revival(t[t.scale == "stress"], rules)
    return Verdict(2, v, words.result2(fewer, more, size, p_equiv < rules.alpha / 2, rev), ("stress",), method,
                   family, size, corr, rows,
                   dict(n_fewer=fewer, n_more=more, p_equivalent=p_equiv, revival_relu=rev[0], revival_leaky=rev[1]))


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
    larger slopes (non-inferiority), in the long plain runs at every depth."""
    default, others = rules.leaky[0], [rules.relu] + rules.leaky[1:]
    depths = rules.design["long"]["depths"]
    size = len(depths) * len(others)
    method = "paired t tests of non-inferiority (Leaky 0.01 minus other > -margin)"
    family, corr = "Leaky 0.01 vs ReLU and each larger slope x long-run depths", \
        "none for support (all must pass); Holm for contradiction"
    if not has_scale(t, "long"):
        return _not_run(3, ("long",), "long", method, family, size, corr)
    m, acc = rules.accuracy_margin, Values(t, "long")
    rows = [_row(f"{default} vs {o} @ depth {d:g}", acc.diff(cell_key("depth", d), default, o), -m, rules,
                 act=default, vs=o, cell=cell_key("depth", d), depth=d) for d in depths for o in others]
    for r in rows:
        r["p_noninf"] = r["p_greater"]        # H0: difference <= -margin
        r["p_inferior"] = r["p_less"]         # H0: difference >= -margin
    _adjust(rows, "p_inferior", "p_adj")
    noninf = all(r["p_noninf"] < rules.alpha for r in rows)
    worse = [r["label"] for r in rows if r["p_adj"] < rules.alpha]
    v = CONTRADICTED if worse else SUPPORTED if noninf else INCONCLUSIVE
    passed = sum(r["p_noninf"] < rules.alpha for r in rows)
    return Verdict(3, v, words.result3(passed, size, len(worse), rules), ("long",), method, family, size, corr, rows,
                   dict(n_noninferior=passed, worse=worse))


def claim4(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """PReLU helps most in very deep networks: a trend. PReLU's paired gain over ReLU
    (per seed) regressed on depth, and the mean gain at the deepest depth, in the long runs."""
    depths = rules.design["long"]["depths"]
    deepest = max(depths)
    method = ("least-squares slope of PReLU's paired gain over ReLU on depth (t interval); "
              "paired t test and TOST of the gain at the deepest depth")
    family, corr = "the slope and the gain at the deepest depth, both needed for support", \
        "none for support (both must pass); Holm over the 3 tests against the claim"
    if not has_scale(t, "long"):
        return _not_run(4, ("long",), "long", method, family, 2, corr)
    xs, ys, acc = [], [], Values(t, "long")
    for d in depths:
        g = acc.diff(cell_key("depth", d), rules.prelu, rules.relu)
        xs += [d] * len(g)
        ys += list(g)
    s = stats.slope_test(xs, ys, rules.alpha)
    gain = _row(f"gain @ depth {deepest:g}", acc.diff(cell_key("depth", deepest), rules.prelu, rules.relu),
                0.0, rules, rules.accuracy_margin)
    slope_row = dict(label="slope per layer", n=s.n, estimate=s.slope, low=s.low, high=s.high,
                     p_greater=s.p_greater, p_less=s.p_less)
    against = stats.holm([s.p_less, gain["p_less"], gain["p_tost"]])
    for r, p in zip((slope_row, gain), (against[0], against[1])):
        r["p_adj"] = float(p)
    gain["p_adj_tost"] = float(against[2])
    supported = s.p_greater < rules.alpha and gain["p_greater"] < rules.alpha
    v = CONTRADICTED if (against < rules.alpha).any() else SUPPORTED if supported else INCONCLUSIVE
    return Verdict(4, v, words.result4(s, deepest, gain), ("long",), method, family, 2, corr, [slope_row, gain],
                   dict(slope=s.slope, gain_deepest=gain["estimate"]))


def claim5(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """Little difference in a typical network (every activation equivalent to ReLU within the
    margin in the trained ResNet), but differences under stress (each knob has a cell where
    some activation differs detectably from ReLU)."""
    others = rules.leaky + [rules.prelu]
    stress_cells = [c for c in rules.stress_cells() if c != "baseline"]
    size_b = len(stress_cells) * len(others)
    method = "paired t tests of accuracy vs ReLU: TOST (trained ResNet), two-sided (stress cells)"
    family = (f"ResNet: each activation trained there vs ReLU (at least 3); stress: {len(others)} activations x "
              f"{len(stress_cells)} stress cells")
    corr = ("none for equivalence (all must pass); Holm within each family; alpha split between the two ways to "
            "contradict")
    trained = t[t.scale == "trained"]
    if trained.empty or not has_scale(t, "stress"):
        return _not_run(5, ("trained", "stress"), "trained" if trained.empty else "stress", method, family,
                        size_b, corr)
    m, a = rules.accuracy_margin, rules.alpha
    cell = trained.cell.iloc[0]
    ref_acts = [x for x in others if x in set(trained.act)]
    ref_acc, stress_acc = Values(t, "trained"), Values(t, "stress")
    ref = [_row(f"{x} @ {cell}", ref_acc.diff(cell, x, rules.relu), 0.0, rules, m, act=x, vs=rules.relu, cell=cell)
           for x in ref_acts]
    for r, x in zip(ref, ref_acts):
        d = ref_acc.diff(cell, x, rules.relu)
        r["p_outside"] = min(stats.t_test(d, m, a).p_greater, stats.t_test(d, -m, a).p_less)
    _adjust(ref, "p_outside", "p_adj_outside")
    stress = [_row(f"{x} @ {c}", stress_acc.diff(c, x, rules.relu), 0.0, rules, m, act=x, vs=rules.relu, cell=c)
              for c in stress_cells for x in others]
    _adjust(stress, "p_two", "p_adj")
    knob_of = [c.split("=")[0] for c in stress_cells for _ in others]
    knobs = list(rules.knobs)
    matters = {k: sum(r["p_adj"] < a for r, kk in zip(stress, knob_of) if kk == k) for k in knobs}
    # a knob where every comparison is equivalent to no difference: the choice does not matter there
    knob_equiv = [max((r["p_tost"] if not np.isnan(r["p_tost"]) else 1.0) for r, kk in zip(stress, knob_of) if kk == k)
                  for k in knobs]
    knob_equiv_adj = stats.holm(knob_equiv)
    equiv_ref = len(ref_acts) >= 3 and all(r["p_tost"] < a for r in ref)
    differs_ref = any(r["p_adj_outside"] < a / 2 for r in ref)
    v = (CONTRADICTED if differs_ref or (knob_equiv_adj < a / 2).any() else
         SUPPORTED if equiv_ref and all(matters.values()) else INCONCLUSIVE)
    return Verdict(5, v, words.result5(sum(r["p_tost"] < a for r in ref), len(ref), matters, rules),
                   ("trained", "stress"), method, family, size_b, corr, ref + stress,
                   dict(ref_equivalent=equiv_ref, matters=matters))


def claim6(t: pd.DataFrame, rules: Rules = RULES) -> Verdict:
    """The dead ratio diagnoses the problem and Leaky ReLU usually solves it.
    Diagnosis: among stress-grid runs that have not collapsed after epoch 1, does a higher
    dead ratio after epoch 1 go with a lower final accuracy within the same cell and
    activation (permutation test within those groups)? Cure: in the harshest cell of each
    knob, is Leaky ReLU (mean over its slopes, per seed) more accurate than ReLU?"""
    cells = rules.harshest_cells()
    method = ("within-(cell, activation) Spearman of epoch-1 dead ratio and final accuracy, permutation test; "
              "paired t tests of Leaky (mean over slopes) minus ReLU accuracy")
    family = f"diagnosis (1 test) and cure ({len(cells)} harshest cells; a majority must pass)"
    corr = "Holm over the cure cells; alpha split between the two ways to contradict"
    if not has_scale(t, "stress") or "dead_epoch1" not in t:
        return _not_run(6, ("stress",), "stress", method, family, len(cells) + 1, corr)
    a = rules.alpha
    s = t[(t.scale == "stress") & t.cell.isin(rules.stress_cells()) & ~t.early_collapse.astype(bool)]
    assoc = stats.within_group_spearman(s.dead_epoch1, s.acc, s.cell + "/" + s.act, rules.permutations, rules.seed)
    diag = dict(label="diagnosis: rho(epoch-1 dead ratio, final accuracy)", n=assoc.n, estimate=assoc.rho,
                low=np.nan, high=np.nan, p_less=assoc.p_less, p_greater=assoc.p_greater, groups=assoc.groups)
    acc = Values(t, "stress")
    cure = [_row(f"Leaky vs ReLU @ {c}", acc.diff(c, rules.leaky, rules.relu), 0.0, rules,
                 rules.accuracy_margin) for c in cells]
    _adjust(cure, "p_greater", "p_adj")
    for r in cure:
        r["p_ruled_out"] = min(r["p_less"], r["p_tost"] if not np.isnan(r["p_tost"]) else 1.0)
    _adjust(cure, "p_ruled_out", "p_adj_ruled_out")
    need = len(cells) // 2 + 1                        # "usually": more than half the cells
    cured = sum(r["p_adj"] < a for r in cure)
    ruled_out = sum(r["p_adj_ruled_out"] < a / 2 for r in cure)
    contradicted = assoc.p_greater < a / 2 or ruled_out > len(cells) - need
    v = CONTRADICTED if contradicted else SUPPORTED if assoc.p_less < a and cured >= need else INCONCLUSIVE
    return Verdict(6, v, words.result6(assoc, cured, len(cells), need), ("stress",), method, family, len(cells) + 1,
                   corr, [diag] + cure, dict(rho=assoc.rho, n_cured=cured, n_ruled_out=ruled_out))


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
