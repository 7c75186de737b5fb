"""What the claim rules' calibration, power and sensitivity analyses say, as macros of
numbers.tex (render/numbers.py): the bars each rule misses, the verdicts it can reach,
the seeds 80% power would take, claim 3's calibrated level and collapse test beside its verdict,
why claim 2's rule errs under per-cell noise, and claim 2 without its diverged runs. Reads the
CSVs of scripts/calibrate_claims.py and scripts/power.py; never simulates."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import activations
from ..analysis import bars, claims, sensitivity
from ..analysis.comparisons import Comparison
from ..analysis.rules import RULES, Cell
from ..analysis.tidy import Values
from . import latex
from .latex import claims_list, count, num, spelled


def compared(verdict: claims.Verdict, label: str) -> Comparison | None:
    """The comparison of a verdict that a table names by its label (the calibration's drivers);
    None where the verdict has no such comparison."""
    return next((r for r in verdict.comparisons if r.label == label), None)


def calibration_numbers(results_dir: Path) -> dict[str, str]:
    """The claim rules' calibration (scripts/calibrate_claims.py), if it has been run: the
    bars under each noise model (pooled, per cell), and each rule's power under both."""
    path = results_dir / "claims_calibration.csv"
    models = {"pooled": "Pooled", "cell": "Cell"}
    m = {"CalibrationSimulations": "n/a", "CalibrationSeeds": "n/a",
         "CoverageBarPct": latex.pct(bars.MIN_COVERAGE, None),
         "FalseVerdictBarPct": latex.pct(bars.MAX_FALSE_VERDICT, None)}
    for model in models.values():
        m.update({f"CalibrationMaxFalseContradicted{model}": "n/a", f"CalibrationMaxFalseSupported{model}": "n/a",
                  f"CalibrationMinCoverage{model}": "n/a"})
        m.update({f"Claim{spelled(n)}Power{model}": "n/a" for n in claims.CLAIM_FUNCS})
        m[f"CalibrationMisses{model}"] = m[f"CalibrationUnreachable{model}"] = "n/a"
    if not path.is_file():
        return m
    cal = pd.read_csv(path)
    if cal.empty:  # a profile whose runs fall outside the claims' design: nothing was calibrated
        return m
    m["CalibrationSimulations"] = count(cal.simulations.max())
    m["CalibrationSeeds"] = count(cal.seeds.max())
    for key, model in models.items():
        c = cal[cal.noise == key]
        if c.empty:
            continue
        m[f"CalibrationMaxFalseContradicted{model}"] = latex.pct(c[c.role == "true"].contradicted.max())
        m[f"CalibrationMaxFalseSupported{model}"] = latex.pct(c[c.role == "false"].supported.max())
        m[f"CalibrationMinCoverage{model}"] = latex.pct(c.coverage.min())
        for r in c[c.role == "effect"].itertuples():
            m[f"Claim{spelled(r.claim)}Power{model}"] = latex.pct(r.supported, 0)
        missed = [n for n in sorted(c.claim.unique()) if bars.rule_calibration(cal, n, key).missed]
        m[f"CalibrationMisses{model}"] = claims_list(missed, ", ") if missed else "none"
        never = bars.unreachable(c)  # e.g. "claim~5 never said ``supported''"
        m[f"CalibrationUnreachable{model}"] = "; ".join(
            f"claim~{n} never said " + " or ".join(f"``{v}''" for v in vs) for n, vs in never.items()) or "none"
    return m


def finished_only_numbers(res) -> dict[str, str]:
    """Claim 2 again with each diverged run left out of the end dead ratio instead of counted as
    all dead: a secondary analysis, not the verdict. And where Leaky ends detectably deader than
    ReLU, how many of its runs there diverged."""
    t, missing = res.tidy(), res.study.get("missing", [])
    v = claims.decide(t, missing=missing)[1]
    finished = t.assign(dead_final=t.dead_final.where(~t.diverged.astype(bool)))
    v2 = claims.incomplete(claims.claim2(finished), list(missing))
    pairs = [(r.act, r.cell) for r in v.comparisons if r.adjusted.greater < RULES.alpha / 2]
    here = t[t.scale == "stress"]
    div = sum(int(here[(here.cell == c) & (here.act == a)].diverged.sum()) for a, c in pairs)
    runs = sum(int(((here.cell == c) & (here.act == a)).sum()) for a, c in pairs)
    clause = ""  # the abstract's clause: a contradiction that the diverged runs make, and the reading without them
    if v.verdict == claims.CONTRADICTED and v2.verdict != claims.CONTRADICTED and div:
        where = latex.prose(", ".join(sorted({c for _, c in pairs})))
        clause = (f" Claim~2's contradiction comes from runs that diverged (at {where}), each scored as "
                  f"every unit dead ({count(div)} of the {count(runs)} runs where Leaky ReLU ends with more dead units "
                  f"than ReLU); with diverged runs left out it is {v2.verdict}.")
    return {"ClaimTwoDivergedClause": clause, "ClaimTwoFinishedVerdict": v2.verdict,
            "ClaimTwoFinishedResult": latex.prose(v2.result),
            "ClaimTwoMoreDead": latex.prose(", ".join(f"{activations.display(a)} at {c}" for a, c in pairs) or "none"),
            "ClaimTwoMoreDeadDiverged": f"{count(div)} of {count(runs)}"}


def reach_numbers(results_dir: Path) -> dict[str, str]:
    """What the rules could say at the study's seeds (scripts/calibrate_claims.py, pooled noise,
    the model the bars are held to): the claims whose rule misses a bar, those it could not
    have supported (no 'supported' in any simulation of a world where the claim holds), and
    the seeds that scripts/power.py says 80% power would take for each rule below it."""
    m = {"MissedClaims": "n/a", "MissedClaimsCell": "n/a", "CannotSupportClaims": "n/a", "SeedsForPower": "n/a",
         "CalibrationClause": ""}
    cal_path, power_path = results_dir / "claims_calibration.csv", results_dir / "power.csv"
    cal = pd.read_csv(cal_path) if cal_path.is_file() else pd.DataFrame()
    if cal.empty:
        return m
    numbers = sorted(cal.claim.unique())
    pooled = [bars.rule_calibration(cal, n, "pooled") for n in numbers]
    cell = [bars.rule_calibration(cal, n, "cell") for n in numbers]
    m["MissedClaims"] = claims_list([c.claim for c in pooled if c.missed])
    m["MissedClaimsCell"] = claims_list([c.claim for c in cell if c.missed])
    m["CannotSupportClaims"] = claims_list([c.claim for c in pooled if not c.can_support])
    power = pd.read_csv(power_path) if power_path.is_file() else pd.DataFrame()
    if len(power):
        at = power[(power.world == "effect") & (power.seeds == RULES.extension["seeds"])].set_index("claim").supported
        short = [n for n in numbers if at.get(n, 0.0) < bars.POWER_TARGET]
        m["SeedsForPower"] = "; ".join(
            f"claim~{n}, " + (f"{bars.seeds_for_power(power, n)} seeds" if bars.seeds_for_power(power, n)
                             else f"more than {count(power.seeds.max())}") for n in short) or "none"
    # the abstract's sentences on what the calibration found; nothing where it found nothing
    missed, cannot = [c.claim for c in pooled if c.missed], [c.claim for c in pooled if not c.can_support]
    if missed:
        one = len(missed) == 1
        m["CalibrationClause"] += (f" In simulation the {'rule' if one else 'rules'} of {m['MissedClaims']} "
                                   f"{'misses' if one else 'miss'} a pre-registered bar on false verdicts or coverage; "
                                   f"{'its verdict is' if one else 'their verdicts are'} marked and discussed.")
    if cannot:
        m["CalibrationClause"] += (f" At {count(cal.seeds.max())} seeds the {'rule' if len(cannot) == 1 else 'rules'} "
                                   f"of {m['CannotSupportClaims']} could not "
                                   "have said ``supported'' in any simulated world where the claim holds.")
    return m


def claim3_numbers(res, results_dir: Path, verdict: claims.Verdict) -> dict[str, str]:
    """Claim 3's sensitivity analyses (conf/claims.yaml, sensitivity): (a) its rule at the level
    calibrated by simulation, (b) collapse as its own outcome; and whether they agree with the
    verdict of record."""
    t = res.tidy()
    pairs = sensitivity.collapse(t)
    counts = sensitivity.collapse_counts(t)
    by_depth = []
    for cell, g in counts.groupby(level="cell", sort=False):
        acts = activations.ordered([a for a in g.index.get_level_values("act")])
        by_depth.append(f"at {Cell.parse(cell, 'long').label}: " + ", ".join(
            f"{activations.display(a)} {count(g.loc[(cell, a), 'sum'])} of {count(g.loc[(cell, a), 'count'])}"
            for a in acts))
    tested = [p for p in pairs if p.only_act + p.only_other]
    m = {"ClaimThreeCollapseCounts": latex.prose("; ".join(by_depth)),
         "ClaimThreeCollapseVerdict": sensitivity.collapse_verdict(pairs),
         "ClaimThreeCollapseTests": latex.prose("; ".join(
             f"{activations.display(p.other)} at depth {p.depth:g}: {p.only_act} against {p.only_other}, "
             f"p = {latex.p_value(p.p)} (Holm {latex.p_value(p.p_adj)})" for p in tested) or "no seed where only one "
             "of two activations collapsed"),
         "ClaimThreeLevel": "n/a", "ClaimThreeLevelRate": "n/a", "ClaimThreeLevelVerdict": "n/a",
         "ClaimThreeLevelSimulations": "n/a"}
    path = results_dir / "claim3_level.csv"
    levels = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    level = levels.iloc[0] if len(levels) else None
    if level is not None:
        at = sensitivity.at_level(t, float(level.level))
        if verdict.not_run:
            at = claims.incomplete(at, res.study.get("missing", []))
        m.update(ClaimThreeLevel=num(round(float(level.level), 3)), ClaimThreeLevelVerdict=at.verdict,
                 ClaimThreeLevelRate=latex.pct(level.contradicted_at_alpha),
                 ClaimThreeLevelSimulations=count(level.simulations))
    # the depths whose comparisons contradict the claim, and those of them where no run collapsed:
    # a contradiction there does not rest on the mixture of trained and collapsed runs
    worse = set(verdict.numbers.get("worse", []))
    depths = sorted({float(r.depth) for r in verdict.comparisons if r.label in worse})
    clean = [d for d in depths if int(counts.loc[f"depth={d:g}", "sum"].sum()) == 0]
    level_v, collapse_v = m["ClaimThreeLevelVerdict"], m["ClaimThreeCollapseVerdict"]
    collapsing = [p.depth for p in pairs if p.collapsed_act + p.collapsed_other]
    collapsing = sorted(set(collapsing))
    if verdict.not_run or level is None:
        m["ClaimThreeRobustness"] = "Its runs are not all trained yet, so its robustness is not assessed."
    elif level_v == collapse_v == verdict.verdict:
        m["ClaimThreeRobustness"] = f"Both agree with the verdict of record, {verdict.verdict}: it is robust to them."
    else:  # the declared reading: any disagreement makes the verdict not robust; then say why
        disagree = [f"{name} says {v}" for name, v in (("the calibrated level", level_v),
                                                       ("collapse alone", collapse_v))
                    if v != verdict.verdict]
        m["ClaimThreeRobustness"] = (
            f"By the reading declared with these analyses the verdict is not robust, since {' and '.join(disagree)}"
            f" against {verdict.verdict} at the declared level. "
            + (f"What it rests on: comparisons at depth {', '.join(f'{d:g}' for d in clean)}, where no run collapsed, "
               "contradict the claim by themselves, and there the mixture of trained and collapsed runs plays no part"
               + (f"; runs collapsed only at depth {', '.join(f'{d:g}' for d in collapsing)}, where "
                  f"{count(t.seed.nunique())} seeds do not separate the collapse rates after Holm's correction."
                  if collapse_v == claims.INCONCLUSIVE else ".")
               if clean else "Every comparison that contradicts the claim is at a depth where runs collapsed."))
    return m


def claim2_cell_noise_numbers(res, results_dir: Path) -> dict[str, str]:
    """Why claim 2's rule says 'supported' so often in its false world under per-cell noise: the
    comparison that makes most of those false verdicts (scripts/calibrate_claims.py's drivers)
    and the shape of its paired differences in the committed runs."""
    m = dict.fromkeys(["ClaimTwoCellFalseSupported", "ClaimTwoDriver", "ClaimTwoDriverShare", "ClaimTwoDriverExact",
                       "ClaimTwoDriverSeeds", "ClaimTwoDriverNear", "ClaimTwoDriverOutlier",
                       "ClaimTwoDriverMiss"], "n/a")
    path = results_dir / "claims_calibration_drivers.csv"
    d = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    d = d[(d.claim == 2) & (d.noise == "cell") & (d.verdict == claims.SUPPORTED)] if len(d) else d
    if d.empty:
        return m
    top = d.sort_values("share", ascending=False).iloc[0]
    t = res.tidy()
    row = compared(claims.claim2(t), top.comparison)
    diffs = Values(t, "stress", "dead_final").diff(row.cell, row.act, RULES.relu) if row else []
    if not len(diffs):  # no such comparison, or no paired run in its cell (a study off the claims' design)
        return m
    far = int(np.argmax(np.abs(diffs - np.median(diffs))))
    near = np.delete(diffs, far)
    cal = pd.read_csv(results_dir / "claims_calibration.csv")
    false_world = cal[(cal.claim == 2) & (cal.noise == "cell") & (cal.role == "false")]
    m.update(ClaimTwoCellFalseSupported=latex.pct(false_world.supported.max()),
             ClaimTwoDriver=latex.prose(f"{activations.display(row.act)} against ReLU at {row.cell}"),
             ClaimTwoDriverShare=latex.pct(top.share, 0), ClaimTwoDriverExact=latex.pct(top.exact, 0),
             ClaimTwoDriverSeeds=count(len(diffs)),
             ClaimTwoDriverNear=latex.pct(np.abs(near - np.median(diffs)).max(), 0),
             ClaimTwoDriverOutlier=f"${latex.pct_signed(diffs[far], 0)}$",
             ClaimTwoDriverMiss=latex.pct((1 - 1 / len(diffs)) ** len(diffs), 0))
    return m


def power_numbers(results_dir: Path) -> dict[str, str]:
    """Which rules reach 80% power at the extension's seeds (scripts/power.py, effect worlds),
    and the best the others do at any size."""
    path = results_dir / "power.csv"
    m = {"PowerReachedClaims": "n/a", "PowerShortClaims": "n/a", "PowerShortBest": "n/a", "PowerMaxSeeds": "n/a",
         "PowerMinSeeds": "n/a", "PowerTarget": latex.pct(bars.POWER_TARGET, 0)}
    if not path.is_file():
        return m
    eff = pd.read_csv(path).query("world == 'effect'")
    if eff.empty:
        return m
    at = eff[eff.seeds == RULES.extension["seeds"]].set_index("claim").supported
    reached, short = sorted(at.index[at >= bars.POWER_TARGET]), sorted(at.index[at < bars.POWER_TARGET])
    m.update(PowerReachedClaims=claims_list(reached), PowerShortClaims=claims_list(short),
             PowerMaxSeeds=count(eff.seeds.max()), PowerMinSeeds=count(eff.seeds.min()),
             PowerShortBest=latex.pct(eff[eff.claim.isin(short)].supported.max(), 0) if short else "n/a")
    return m


def claim5_numbers(res, results_dir: Path) -> dict[str, str]:
    """Why claim 5's rule says 'contradicted' too often in its true world: the trained ResNet's
    comparison that makes most of those false verdicts, and the seeds in which every paired
    difference from ReLU lies below its activation's mean: a tail that all the comparisons share,
    which a resample of the seeds often misses."""
    m = dict.fromkeys(["ClaimFiveFalseContradicted", "ClaimFiveDriver", "ClaimFiveDriverShare", "ClaimFiveTailSeeds",
                       "ClaimFiveSeeds", "ClaimFiveTailMiss"], "n/a")
    cal_path, path = results_dir / "claims_calibration.csv", results_dir / "claims_calibration_drivers.csv"
    d = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    d = d[(d.claim == 5) & (d.noise == "pooled") & (d.verdict == claims.CONTRADICTED)] if len(d) else d
    if d.empty:
        return m
    cal = pd.read_csv(cal_path)
    top = d.sort_values("share", ascending=False).iloc[0]
    t = res.tidy()
    row = compared(claims.claim5(t), top.comparison)
    values = Values(t, "trained")
    cell = t[t.scale == "trained"].cell.iloc[0]
    others = [a for a in RULES.leaky + [RULES.prelu] if (cell, a) in values.v]
    diffs = pd.DataFrame({a: values.diff(cell, a, RULES.relu) for a in others})
    tail = int((diffs < diffs.mean()).all(axis=1).sum())
    n = len(diffs)
    m.update(ClaimFiveFalseContradicted=latex.pct(cal[(cal.claim == 5) & (cal.noise == "pooled") &
                                                      (cal.role == "true")].contradicted.max()),
             ClaimFiveDriver=latex.tex_escape(activations.display(row.act)) if row else "n/a",
             ClaimFiveDriverShare=latex.pct(top.share, 0), ClaimFiveTailSeeds=count(tail), ClaimFiveSeeds=count(n),
             ClaimFiveTailMiss=latex.pct(((n - tail) / n) ** n, 0))
    return m
