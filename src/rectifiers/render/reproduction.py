"""A reproduction against the committed results (docs/design.md section 9), counted: the claims'
verdicts, the headline means of numbers.tex with the reproduction's intervals, and the runs of
the same configuration in both (status and collapse flips, accuracy differences); and the
committed quick reproduction the paper cites, where it lies and what numbers.tex says of it.
Pure functions over small tables; tests/test_compare.py checks them by hand, and
reproduction_report.py writes them up."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rectifiers import activations
from rectifiers.analysis import claims, results, stats
from rectifiers.render import latex
from rectifiers.render.cell_numbers import cell_means, lookup
from rectifiers.render.latex import count, num

TRAINED = "trained"  # the cell of a headline number taken over the trained ResNet's runs
AGREE, DIFFER, NOT_COMPARABLE = "agree", "differ", "not comparable"


def verdict_seeds(scales: tuple[str, ...], seeds: dict[str, int]) -> int:
    """Seeds per cell behind a verdict decided at `scales` (('stress',), ('trained', 'stress')):
    the fewest of its scales."""
    return min((seeds.get(s, 0) for s in scales), default=0)


def compare_verdicts(committed: list[dict], reproduced: list[dict]) -> list[dict]:
    """One row per claim. Each verdict is {claim, verdict, not_run, seeds}. A reproduction with fewer
    seeds that stays inconclusive has too few runs to decide the claim: not comparable, like a claim
    without runs on either side; otherwise the verdicts agree or differ."""
    rows = []
    for c, r in zip(committed, reproduced):
        unrun = [side for side, v in (("committed study", c), ("reproduction", r))
                 if v["seeds"] == 0 or v["not_run"]]
        if unrun:
            status, why = NOT_COMPARABLE, f"not run in full in the {' and the '.join(unrun)}"
        elif r["verdict"] == claims.INCONCLUSIVE and r["seeds"] < c["seeds"]:
            status, why = NOT_COMPARABLE, f"inconclusive on {r['seeds']} of {c['seeds']} seeds: too few to decide"
        else:
            status, why = (AGREE, "") if c["verdict"] == r["verdict"] else (DIFFER, "")
        rows.append({"claim": c["claim"], "committed": c["verdict"], "reproduced": r["verdict"], "status": status,
                     "why": why, "seeds_committed": c["seeds"], "seeds_reproduced": r["seeds"]})
    return rows


def within(value: float, mean: float, low: float, high: float, n: int) -> bool | None:
    """Whether a committed mean lies in the reproduction's 95% interval [low, high] of `mean` over
    n runs; None where the reproduction has no interval (fewer than 2 runs, or none). Runs without
    spread (no dead unit in any run) have no t interval: there the interval is their one value."""
    if n < 2 or np.isnan(value) or np.isnan(mean):
        return None
    if np.isnan(low) or np.isnan(high):
        return bool(np.isclose(value, mean))
    return bool(low - 1e-12 <= value <= high + 1e-12)


def paired_runs(committed: pd.DataFrame, reproduced: pd.DataFrame) -> pd.DataFrame:
    """Runs of the same configuration (`key`: the run identity without the data, seed included) in
    both tables, one row per pair; columns get _c (committed) and _r (reproduced)."""
    return committed.merge(reproduced, on="key", suffixes=("_c", "_r"))


def flips(pairs: pd.DataFrame) -> dict:
    """Status changes ({'ok -> diverged': n}) and collapse changes between paired runs: `collapsed`
    (collapsed only in the reproduction) and `recovered` (only in the committed run); a run
    without an outcome (failed) counts in neither."""
    status = Counter(f"{a} -> {b}" for a, b in zip(pairs.status_c, pairs.status_r) if a != b)
    both = pairs.collapsed_c.notna() & pairs.collapsed_r.notna()
    c, r = pairs.collapsed_c.astype(float), pairs.collapsed_r.astype(float)
    return {"pairs": len(pairs), "status": dict(sorted(status.items())),
            "collapsed": int((both & (c == 0) & (r == 1)).sum()), "recovered": int((both & (c == 1) & (r == 0)).sum())}


def differences(pairs: pd.DataFrame) -> dict:
    """The distribution of accuracy differences, reproduced minus committed, in points."""
    d = (pairs.acc_r - pairs.acc_c).dropna().to_numpy() * 100
    if not len(d):
        return {"n": 0}
    q = np.quantile(d, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"n": len(d), "mean": float(d.mean()), "sd": float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
            "q05": q[0], "q25": q[1], "median": q[2], "q75": q[3], "q95": q[4], "max_abs": float(np.abs(d).max()),
            "within_1": int((np.abs(d) <= 1).sum())}


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def which_claims(vs: list[dict]) -> str:
    return f" ({'claim' if len(vs) == 1 else 'claims'} {', '.join(str(v['claim']) for v in vs)})" if vs else ""


def conclusion(verdicts: list[dict], numbers: list[dict], flip: dict) -> list[str]:
    """The report's last lines: what agreed, what did not, what could not be compared."""
    by = {s: [v for v in verdicts if v["status"] == s] for s in (AGREE, DIFFER, NOT_COMPARABLE)}
    held = [n for n in numbers if n["inside"] is True]
    out = [n for n in numbers if n["inside"] is False]
    open_ = [n for n in numbers if n["inside"] is None]
    same = flip["pairs"] - sum(flip["status"].values())
    lines = [f"Agreed: {len(by[AGREE])} of {plural(len(by[AGREE]) + len(by[DIFFER]), 'comparable verdict')}"
             f"{which_claims(by[AGREE])}; {len(held)} of {plural(len(held) + len(out), 'headline number')} inside the "
             f"reproduction's 95% interval; {same} of {plural(flip['pairs'], 'paired run')} ended the same way."]
    wrong = [f"claim {v['claim']} ({v['committed']} committed, {v['reproduced']} reproduced)" for v in by[DIFFER]]
    wrong += [f"{n['name']} ({n['committed']} committed, {n['reproduced']} reproduced)" for n in out]
    wrong += [f"{plural(k, 'run')} {t}" for t, k in flip["status"].items()]
    wrong += [f"{plural(flip['collapsed'], 'run')} collapsed only in the reproduction"] if flip["collapsed"] else []
    wrong += [f"{plural(flip['recovered'], 'run')} collapsed only in the committed study"] if flip["recovered"] else []
    lines.append("Did not agree: " + ("; ".join(wrong) if wrong else "nothing") + ".")
    if by[NOT_COMPARABLE] or open_:
        lines.append(f"Not comparable: {plural(len(by[NOT_COMPARABLE]), 'verdict')}{which_claims(by[NOT_COMPARABLE])} "
                     f"and {plural(len(open_), 'number')} without a reproduced interval (too few runs).")
    return lines


# --- the headline numbers: the means numbers.tex prints, as the runs they average --------

@dataclass(frozen=True)
class Spec:
    names: tuple[str, ...]  # the macros of numbers.tex (a mean, and its interval where printed)
    what: str
    outcome: str            # acc, dead_peak, dead_final, dead_ratio_init
    cell: str               # a key of results.cells, or TRAINED
    act: str


def best(frame: pd.DataFrame, key: str, acts) -> str | None:
    means = {a: lookup(frame, key, a) for a in acts}
    means = {a: m for a, m in means.items() if not np.isnan(m)}
    return max(means, key=means.get) if means else None


def headline_specs(res: results.Results) -> list[Spec]:
    """Every mean and interval of numbers.tex (render/cell_numbers.py's cell_numbers, and the trained ResNet's
    ReLU accuracy), each as the runs it averages. The activation of a best or largest mean is the
    one these results pick; a reproduction is measured on that same activation."""
    df, cells = results.cell_frame(res.runs, res.study), results.cells(res.study)
    acts = activations.ordered(df.act.unique())
    leaky = [a for a in acts if activations.is_leaky(a)]
    means = cell_means(df)
    relu = activations.REFERENCE
    last = {c.knob: c for c in cells if c.kind == "stress"}
    specs = []
    for c in [c for c in cells if c.kind != "stress"] + list(last.values()):
        key, label = c.key, c.label
        s = "Baseline" if c.kind == "baseline" else latex.macro_name(c.knob)
        specs += [Spec(("ReluAcc" + s,), f"ReLU accuracy, {label}", "acc", key, relu),
                  Spec(("ReluPeakDead" + s, "ReluPeakDeadCi" + s), f"ReLU peak dead ratio, {label}", "dead_peak",
                       key, relu),
                  Spec(("ReluEndDead" + s,), f"ReLU final dead ratio, {label}", "dead_final", key, relu),
                  Spec(("ReluInitDead" + s,), f"ReLU dead ratio at init, {label}", "dead_ratio_init", key, relu)]
        if (a := best(means["acc"], key, acts)):
            specs.append(Spec(("BestAcc" + s,), f"best accuracy, {label} ({activations.display(a)})", "acc", key, a))
        if (a := best(means["dead_final"], key, leaky)):
            specs.append(Spec(("LeakyMaxEndDead" + s,), f"largest Leaky final dead ratio, {label} "
                              f"({activations.display(a)})", "dead_final", key, a))
    if cells and acts:
        specs.append(Spec(("MainFirstAccuracy",), f"{activations.display(acts[0])} accuracy, {cells[0].label}",
                          "acc", cells[0].key, acts[0]))
    top = means["acc"]["mean"].dropna()
    if len(top):
        key, act = top.idxmax()
        label = next(c.label for c in cells if c.key == key)
        specs.append(Spec(("BestAccuracy",), f"best accuracy of the grid ({label}, {activations.display(act)})",
                          "acc", key, act))
    specs.append(Spec(("ReluAccTrained",), "ReLU accuracy, trained ResNet", "acc", TRAINED, relu))
    return specs


def measure(res: results.Results, specs: list[Spec]) -> dict[Spec, dict]:
    """{spec: mean, low, high (the 95% t interval), n} over these results' runs."""
    frames = cell_means(results.cell_frame(res.runs, res.study))
    t = res.tidy()
    out = {}
    for spec in specs:
        if spec.cell == TRAINED:
            x = t[(t.scale == "trained") & (t.act == spec.act)][spec.outcome].dropna()
            r = stats.t_test(x)
            out[spec] = {"mean": r.mean, "low": float(np.clip(r.low, 0, 1)), "high": float(np.clip(r.high, 0, 1)),
                         "n": r.n}
        else:
            f = frames[spec.outcome]
            out[spec] = {k: lookup(f, spec.cell, spec.act, k) for k in ("mean", "low", "high", "n")}
            out[spec]["n"] = 0 if np.isnan(out[spec]["n"]) else int(out[spec]["n"])
    return out


def points(m: dict) -> str:
    """'36.4 [33.1, 39.7] (5)': a mean in percent, its interval and its number of runs."""
    if m["n"] == 0 or np.isnan(m["mean"]):
        return "not run"
    ci = latex.interval(m["low"], m["high"])
    return f"{latex.pct(m['mean'])} {ci or '(no interval)'} ({m['n']})"


def compare_numbers(specs: list[Spec], committed: dict, reproduced: dict) -> list[dict]:
    rows = []
    for s in specs:
        c, r = committed[s], reproduced[s]
        if c["n"] == 0:
            continue  # not in the committed paper either
        rows.append({"name": s.names[0], "macros": ", ".join(s.names), "what": s.what, "committed": points(c),
                     "reproduced": points(r), "inside": within(c["mean"], r["mean"], r["low"], r["high"], r["n"])})
    return rows


# --- the committed quick reproduction, as numbers.tex quotes it ----------------------------

# The committed quick reproduction the paper cites, per profile (reproductions/<name>/README.md).
QUICK_REPRODUCTION = {"cpu": "reproductions/cpu-folder-e00b28a47d65-epyc-avx512"}


def reproduction_numbers(res: results.Results, profile: str, root) -> dict[str, str]:
    """The committed quick reproduction against the committed runs of the same id (same data, so the
    same configuration and seed): pairs whose committed run came from the reproduction's CPU kind,
    how many of those are bit-identical, and for the pairs from another kind, the spread of the
    accuracy difference and the status and collapse changes (tidy.outcomes' `collapsed`)."""
    place = QUICK_REPRODUCTION.get(profile)
    if place is None or not (root / place / "results" / profile / "runs.csv").exists():
        none = ("Runs", "Pairs", "CoreMinutes", "SameKind", "SameKindIdentical", "OtherKind", "OtherKindSd",
                "StatusChanges", "CollapseChanges")
        return {"QuickReproMachine": "no machine (none is committed)"} | {f"QuickRepro{k}": "n/a" for k in none}
    rep = results.load(root / place / "results" / profile, quiet=True)  # a sample: its missing cells are by design
    t, tr = res.tidy(), rep.tidy()
    kind = res.runs.set_index("run_id").reindex(columns=["cpu_capability"]).cpu_capability.fillna("not recorded")
    pairs = t.merge(tr, on="run_id", suffixes=("_c", "_r")).assign(kind=lambda p: p.run_id.map(kind))
    own = rep.runs.cpu_capability.iloc[0]
    same, other = pairs[pairs.kind == own], pairs[pairs.kind != own]
    d = (other.acc_r - other.acc_c) * 100
    return {"QuickReproRuns": count(len(rep.runs)), "QuickReproPairs": count(len(pairs)),
            "QuickReproCoreMinutes": f"{rep.runs.wall_time_s.sum() / 60:.0f}",
            "QuickReproMachine": f"{rep.runs.cpu.iloc[0]} ({own})",
            "QuickReproSameKind": count(len(same)),
            "QuickReproSameKindIdentical": count(int((same.acc_r == same.acc_c).sum())),
            "QuickReproOtherKind": count(len(other)), "QuickReproOtherKindSd": num(d.std(ddof=1), ".1f"),
            "QuickReproStatusChanges": count(int((other.status_r != other.status_c).sum())),
            "QuickReproCollapseChanges": count(int((other.collapsed_r != other.collapsed_c).sum()))}
