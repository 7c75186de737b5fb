"""Reproductions: where one lives, and what agrees between it and the committed results
(docs/design.md section 9).

    python scripts/compare.py locate --profile cpu [--fresh] [--sample K] [--name NAME] [DATA overrides]
    python scripts/compare.py report --reproduction reproductions/<name>

`locate` (the first step of `make reproduce`) checks the data DATA selects and prints where the
chain builds: nothing for the committed tree (the committed data, its committed records, no
FRESH), otherwise the name of a folder of reproductions/ (`<profile>-<source>-<fingerprint>`),
which it claims with a reproduction.json. A folder made on other data is refused; an
interrupted one is continued.

`report` (`make compare`, the last step of a reproduction) writes reproductions/<name>/report.md
and compare.pdf/png: the claims' verdicts, the paper's headline means with the reproduction's
95% intervals, the runs of the same configuration in both (status and collapse flips, accuracy
differences) and the machines and libraries of both; its last lines say what agreed and what did
not. The pure functions below do the counting; tests/test_compare.py checks them by hand.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import make_numbers  # scripts/: the macros the paper prints
from rectifiers import activations
from rectifiers.analysis import claims, results, stats
from rectifiers.files import CONF
from rectifiers.files import write_atomic
from rectifiers.spec import data
from rectifiers.spec.config import ConfigError, cell_of, check_config, check_overrides

log = logging.getLogger("rectifiers")

HOME = Path("reproductions")
MANIFEST = "reproduction.json"
SOURCE_NAMES = {"torchvision": "official", "folder": "folder", "synthetic": "synthetic"}
SCALES = ("stress", "long", "trained")
TRAINED = "trained"  # the cell of a headline number taken over the trained ResNet's runs
AGREE, DIFFER, NOT_COMPARABLE = "agree", "differ", "not comparable"


class Refused(Exception):
    """A reproduction that cannot start; the message names the problem and the fix."""


# --- locate: where a reproduction is built ----------------------------------------------

@dataclass
class Place:
    name: str | None        # a folder of reproductions/; None: the committed tree
    fingerprint: str | None  # None: the data is not on this machine (only without download)
    description: str
    note: str = ""


def selected_data(profile: str, overrides: list[str], download: bool) -> tuple[str | None, str, str]:
    """(fingerprint, description, source) of the data the overrides select; the fingerprint is None
    when that data is not here and may not be downloaded. ConfigError or DataError otherwise."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    check_overrides(overrides)
    try:
        with initialize_config_dir(str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[f"profile={profile}", *overrides])
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(str(e).splitlines()[0]) from None
    check_config(cfg)
    if not download and "download" in cfg.data:
        cfg.data.download = False
    description = data.DESCRIPTIONS[cfg.data.source].format(root=Path(str(cfg.data.get("root", ""))).expanduser())
    try:
        return data.content_fingerprint(cfg.data), description, cfg.data.source
    except data.DataError:
        if download:
            raise
        return None, description, cfg.data.source


def read_json(path: Path, fix: str) -> dict | None:
    """A JSON file, None if absent; Refused naming it and the fix if it cannot be read."""
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (OSError, ValueError) as e:
        raise Refused(f"{path} is unreadable ({type(e).__name__}: {e}). {fix}") from None


def record_fingerprints(records: Path) -> Counter:
    """How many records of each dataset a record store holds (unreadable ones are aggregate's to name)."""
    found = Counter()
    for p in records.glob("*/summary.json"):
        try:
            found[json.loads(p.read_text()).get("data_fingerprint")] += 1
        except (OSError, ValueError):
            pass
    return found


def check_folder(tree: Path, profile: str, fp: str) -> str:
    """Refuse a folder that holds anything but a reproduction of this profile on this data; say
    whether an earlier reproduction there is continued."""
    again = f"give another name (make reproduce REPRO=<name>) or delete it (rm -rf {tree})"
    old = read_json(tree / MANIFEST, f"Delete it to start that reproduction again, or {again}")
    if old is None:
        if tree.exists() and any(tree.iterdir()):
            raise Refused(f"{tree}/ exists but holds no {MANIFEST}, so it is no reproduction of make reproduce: "
                          f"{again}")
        return ""
    if old.get("profile") != profile or old.get("data_fingerprint") != fp:
        raise Refused(f"{tree}/ holds a reproduction of profile {old.get('profile')} on other data "
                      f"({old.get('data_description')}, fingerprint {str(old.get('data_fingerprint'))[:12]}), not of "
                      f"profile {profile} on this data (fingerprint {fp[:12]}): {again}")
    found = record_fingerprints(tree / "results" / profile / "runs")
    other = sum(n for f, n in found.items() if f != fp)
    if other:
        raise Refused(f"{tree}/results/{profile}/runs/ holds {other} records made on other data: {again}")
    n = sum(found.values())
    if old.get("state") != "complete":
        return f"{tree}/ holds an interrupted reproduction ({n} runs recorded): continuing where it stopped"
    return f"{tree}/ holds a finished reproduction ({n} runs recorded): only what is missing or stale is made again"


def locate(profile: str, overrides: list[str], *, fresh: bool = False, sample: int | None = None,
           sample_trained: int | None = None, name: str | None = None, download: bool = True,
           write: bool = True, committed: Path = Path("results"), home: Path = HOME) -> Place:
    """Where `make reproduce` with these settings builds (see the module's docstring)."""
    fp, description, source = selected_data(profile, overrides, download)
    study = read_json(committed / profile / "study.json", f"Restore it: git checkout -- {committed / profile}")
    same = fp is not None and study is not None and study.get("data_fingerprint") == fp
    if same and not fresh and not name:
        if sample is not None or sample_trained is not None:
            raise Refused("SAMPLE retrains a sample, but the committed records of this data hold its runs already: "
                          "add FRESH=1 to retrain it on this machine (make reproduce FRESH=1 SAMPLE=1)")
        return Place(None, fp, description)
    if fp is None:
        return Place(None, None, description)
    name = name or f"{profile}-{SOURCE_NAMES[source]}-{fp[:12]}"
    if not name or "/" in name or name.startswith("."):
        raise Refused(f"REPRO={name!r} is not a folder name: use letters, digits and dashes")
    tree = home / name
    note = check_folder(tree, profile, fp)
    if write:
        manifest = {"name": name, "profile": profile, "data_fingerprint": fp, "data_description": description,
                    "data": list(overrides), "fresh": bool(fresh or same), "sample": sample,
                    "sample_trained": sample_trained, "state": "running"}
        tree.mkdir(parents=True, exist_ok=True)
        write_atomic(tree / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return Place(name, fp, description, note)


def check_sample(profile: str, sample: int | None, sample_trained: int | None) -> None:
    """SAMPLE counts seeds of the profile's cells: 1 to profile.seeds (SAMPLE_TRAINED may be 0)."""
    from omegaconf import OmegaConf
    seeds = OmegaConf.load(CONF / "profile" / f"{profile}.yaml").profile.seeds
    for var, k, low in (("SAMPLE", sample, 1), ("SAMPLE_TRAINED", sample_trained, 0)):
        if k is not None and not low <= k <= seeds:
            raise Refused(f"{var}={k}: profile {profile} has {seeds} seeds per cell; give {low} to {seeds}")


# --- the comparison: pure functions over small tables ----------------------------------

def verdict_seeds(scale: str, seeds: dict[str, int]) -> int:
    """Seeds per cell behind a verdict decided at `scale` ('stress', 'trained + stress'): the fewest
    of its scales."""
    return min((seeds.get(s, 0) for s in SCALES if s in scale), default=0)


def compare_verdicts(committed: list[dict], reproduced: list[dict]) -> list[dict]:
    """One row per claim. Each verdict is {claim, verdict, result, seeds}. A reproduction with fewer
    seeds that stays inconclusive has too few runs to decide the claim: not comparable, like a claim
    without runs on either side; otherwise the verdicts agree or differ."""
    rows = []
    for c, r in zip(committed, reproduced):
        unrun = [side for side, v in (("committed study", c), ("reproduction", r))
                 if v["seeds"] == 0 or v["result"].startswith(claims.NOT_RUN)]
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


def claim_list(vs: list[dict]) -> str:
    return f" ({'claim' if len(vs) == 1 else 'claims'} {', '.join(str(v['claim']) for v in vs)})" if vs else ""


def conclusion(verdicts: list[dict], numbers: list[dict], flip: dict) -> list[str]:
    """The report's last lines: what agreed, what did not, what could not be compared."""
    by = {s: [v for v in verdicts if v["status"] == s] for s in (AGREE, DIFFER, NOT_COMPARABLE)}
    held = [n for n in numbers if n["inside"] is True]
    out = [n for n in numbers if n["inside"] is False]
    open_ = [n for n in numbers if n["inside"] is None]
    same = flip["pairs"] - sum(flip["status"].values())
    lines = [f"Agreed: {len(by[AGREE])} of {plural(len(by[AGREE]) + len(by[DIFFER]), 'comparable verdict')}"
             f"{claim_list(by[AGREE])}; {len(held)} of {plural(len(held) + len(out), 'headline number')} inside the "
             f"reproduction's 95% interval; {same} of {plural(flip['pairs'], 'paired run')} ended the same way."]
    wrong = [f"claim {v['claim']} ({v['committed']} committed, {v['reproduced']} reproduced)" for v in by[DIFFER]]
    wrong += [f"{n['name']} ({n['committed']} committed, {n['reproduced']} reproduced)" for n in out]
    wrong += [f"{plural(k, 'run')} {t}" for t, k in flip["status"].items()]
    wrong += [f"{plural(flip['collapsed'], 'run')} collapsed only in the reproduction"] if flip["collapsed"] else []
    wrong += [f"{plural(flip['recovered'], 'run')} collapsed only in the committed study"] if flip["recovered"] else []
    lines.append("Did not agree: " + ("; ".join(wrong) if wrong else "nothing") + ".")
    if by[NOT_COMPARABLE] or open_:
        lines.append(f"Not comparable: {plural(len(by[NOT_COMPARABLE]), 'verdict')}{claim_list(by[NOT_COMPARABLE])} "
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
    means = {a: make_numbers.lookup(frame, key, a) for a in acts}
    means = {a: m for a, m in means.items() if not np.isnan(m)}
    return max(means, key=means.get) if means else None


def headline_specs(res: results.Results) -> list[Spec]:
    """Every mean and interval of numbers.tex (make_numbers.cell_numbers, and the trained ResNet's
    ReLU accuracy), each as the runs it averages. The activation of a best or largest mean is the
    one these results pick; a reproduction is measured on that same activation."""
    df, cells = results.cell_frame(res.runs, res.study), results.cells(res.study)
    acts = activations.ordered(df.act.unique())
    leaky = [a for a in acts if activations.is_leaky(a)]
    means = make_numbers.cell_means(df)
    relu = activations.REFERENCE
    last = {c["knob"]: c for c in cells if c["kind"] == "stress"}
    specs = []
    for c in [c for c in cells if c["kind"] != "stress"] + list(last.values()):
        key, label = c["key"], c["label"]
        s = "Baseline" if c["kind"] == "baseline" else make_numbers.latex.macro_name(c["knob"])
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
        specs.append(Spec(("MainFirstAccuracy",), f"{activations.display(acts[0])} accuracy, {cells[0]['label']}",
                          "acc", cells[0]["key"], acts[0]))
    top = means["acc"]["mean"].dropna()
    if len(top):
        key, act = top.idxmax()
        label = next(c["label"] for c in cells if c["key"] == key)
        specs.append(Spec(("BestAccuracy",), f"best accuracy of the grid ({label}, {activations.display(act)})",
                          "acc", key, act))
    specs.append(Spec(("ReluAccTrained",), "ReLU accuracy, trained ResNet", "acc", TRAINED, relu))
    return specs


def measure(res: results.Results, specs: list[Spec]) -> dict[Spec, dict]:
    """{spec: mean, low, high (the 95% t interval), n} over these results' runs."""
    frames = make_numbers.cell_means(results.cell_frame(res.runs, res.study))
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
            out[spec] = {k: make_numbers.lookup(f, spec.cell, spec.act, k) for k in ("mean", "low", "high", "n")}
            out[spec]["n"] = 0 if np.isnan(out[spec]["n"]) else int(out[spec]["n"])
    return out


def points(m: dict) -> str:
    """'36.4 [33.1, 39.7] (5)': a mean in percent, its interval and its number of runs."""
    if m["n"] == 0 or np.isnan(m["mean"]):
        return "not run"
    ci = make_numbers.latex.interval(m["low"], m["high"])
    return f"{100 * m['mean']:.1f} {ci or '(no interval)'} ({m['n']})"


def compare_numbers(specs: list[Spec], committed: dict, reproduced: dict) -> list[dict]:
    rows = []
    for s in specs:
        c, r = committed[s], reproduced[s]
        if c["n"] == 0:
            continue  # not in the committed paper either
        rows.append({"name": s.names[0], "macros": ", ".join(s.names), "what": s.what, "committed": points(c),
                     "reproduced": points(r), "inside": within(c["mean"], r["mean"], r["low"], r["high"], r["n"])})
    return rows


# --- the report ---------------------------------------------------------------------

@dataclass
class Side:
    """What the report reads of one results folder."""
    dir: Path
    res: results.Results
    seeds: dict           # seeds per cell at each claim scale
    verdicts: list        # claims.Verdict
    runs: pd.DataFrame    # the tidy runs with `key`, the configuration without the data
    summaries: list


def read_side(results_dir: Path) -> Side | None:
    if not (results_dir / "study.json").exists():
        return None
    res = results.load(results_dir, "epochs")
    t = res.tidy()
    seeds = {s: int(t[t.scale == s].seed.nunique()) for s in SCALES}
    summaries = []
    for rid in res.runs.run_id:
        p = results_dir / "runs" / rid / "summary.json"
        if p.exists():
            summaries.append(json.loads(p.read_text()))
    keys = {s["run_id"]: cell_of(s["config"]) for s in summaries}
    runs = t.assign(key=t.run_id.map(keys)).dropna(subset=["key"])
    runs = runs[["key", "run_id", "act", "seed", "scale", "status", "collapsed", "acc"]]
    verdicts = claims.decide(t, missing=res.study.get("missing", []))
    return Side(results_dir, res, seeds, verdicts, runs, summaries)


def verdict_rows(side: Side) -> list[dict]:
    return [{"claim": v.number, "verdict": v.verdict, "result": v.result, "seeds": verdict_seeds(v.scale, side.seeds)}
            for v in side.verdicts]


def machines(summaries: list[dict]) -> dict[str, str]:
    """Per field (CPU, device, git commit, library versions), its values and how many runs had each."""
    fields = {"CPU": lambda s: f"{s.get('cpu') or 'model not recorded'} ({s.get('cpu_capability') or '?'})",
              "device": lambda s: s.get("device"),
              "git commit": lambda s: str(s.get("git_commit"))[:12] + ("+dirty" if "dirty" in str(s.get("git_commit")) else ""),
              **{lib: (lambda s, lib=lib: s.get("versions", {}).get(lib)) for lib in make_numbers.VERSIONS}}
    return {k: "; ".join(f"{v} ({n} runs)" for v, n in Counter(f(s) for s in summaries).most_common())
            for k, f in fields.items()}


def table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
           ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]


def run_section(pairs: pd.DataFrame, c: Side, r: Side) -> tuple[list[str], dict]:
    flip = flips(pairs)
    lines = ["## Runs of the same configuration", "",
             f"{flip['pairs']} runs of the reproduction have a committed run of the same configuration (cell, "
             f"activation, seed; the data aside), of {len(r.runs)} reproduced and {len(c.runs)} committed runs.", ""]
    changed = ", ".join(f"{t} {k}" for t, k in flip["status"].items()) or "none"
    lines += [f"- Status changes: {changed}.",
              f"- Collapse changes: {flip['collapsed']} collapsed only in the reproduction, {flip['recovered']} only "
              "in the committed study.", ""]
    scales = pairs.assign(scale=pairs.scale_c.fillna("other"))
    rows = []
    for scale, g in [("all", scales)] + list(scales.groupby("scale", sort=False)):
        d = differences(g)
        rows.append([scale, d["n"]] + ([f"{d[k]:+.1f}" for k in ("mean", "q05", "q25", "median", "q75", "q95")]
                                       + [f"{d['max_abs']:.1f}", f"{d['within_1']}"] if d["n"] else ["-"] * 8))
    lines += ["Accuracy differences, reproduced minus committed run, in points:", ""]
    lines += table(["runs", "pairs", "mean", "5%", "25%", "median", "75%", "95%", "largest |d|", "|d| <= 1"], rows)
    return lines + ["", "![committed against reproduced accuracy of every pair](compare.png)", ""], flip


def report_text(name: str, manifest: dict, c: Side | None, r: Side) -> tuple[str, pd.DataFrame]:
    study = r.res.study
    sample = "every seed" if manifest.get("sample") is None else f"{manifest['sample']} seed(s) per cell"
    if manifest.get("sample_trained") is not None:
        sample += f", {manifest['sample_trained']} of the trained ResNet"
    lines = [f"# Reproduction {name}", "",
             f"- Reproduced: profile {study['profile']}, {study['data_description']} (fingerprint "
             f"{study['data_fingerprint'][:12]}), {study['runs']} runs, {sample}; built in reproductions/{name}/.",
             "- Seeds per cell at the claims' scales (reproduced): " + ", ".join(f"{s} {n}" for s, n in r.seeds.items())]
    if c is None:
        lines += ["", f"No committed results of profile {study['profile']} to compare with.", ""]
        return "\n".join(lines) + "\n", pd.DataFrame()
    cs = c.res.study
    lines += [f"- Committed: {c.dir}/, {cs['data_description']} (fingerprint {cs['data_fingerprint'][:12]}), "
              f"{cs['runs']} runs; seeds per cell: " + ", ".join(f"{s} {n}" for s, n in c.seeds.items()), ""]
    verdicts = compare_verdicts(verdict_rows(c), verdict_rows(r))
    lines += ["## Claims", ""] + table(
        ["claim", "committed", "reproduced", "seeds (committed / reproduced)", "agreement"],
        [[v["claim"], v["committed"], v["reproduced"], f"{v['seeds_committed']} / {v['seeds_reproduced']}",
          v["status"] + (f" ({v['why']})" if v["why"] else "")] for v in verdicts])
    agree = sum(v["status"] == AGREE for v in verdicts)
    comparable = sum(v["status"] != NOT_COMPARABLE for v in verdicts)
    lines += ["", f"{agree} of {comparable} comparable verdicts agree ({len(verdicts) - comparable} not comparable). "
              "Each claim's result, reproduced: " + "; ".join(f"({v.number}) {v.result}" for v in r.verdicts), ""]
    specs = headline_specs(c.res)
    numbers = compare_numbers(specs, measure(c.res, specs), measure(r.res, specs))
    held = sum(n["inside"] is True for n in numbers)
    decided = sum(n["inside"] is not None for n in numbers)
    lines += ["## Headline numbers", "",
              "The means of paper/generated/numbers.tex (the gaps with intervals are in the claims' results), in "
              "percent, with the 95% t interval and the number of runs; inside: the committed mean lies inside the "
              "reproduction's interval.", ""]
    lines += table(["macros", "what", "committed", "reproduced", "inside"],
                   [[n["macros"], n["what"], n["committed"], n["reproduced"],
                     {True: "yes", False: "**no**", None: "no interval"}[n["inside"]]] for n in numbers])
    lines += ["", f"{held} of {decided} committed means lie inside the reproduction's 95% interval "
              f"({len(numbers) - decided} without a reproduced interval).", ""]
    pairs = paired_runs(c.runs, r.runs)
    more, flip = run_section(pairs, c, r)
    mc, mr = machines(c.summaries), machines(r.summaries)
    lines += more + ["## Machines and libraries", ""] + table(["", "committed", "reproduced"],
                                                               [[k, mc[k], mr[k]] for k in mc])
    lines += ["", "## Summary", ""] + conclusion(verdicts, numbers, flip)
    return "\n".join(lines) + "\n", pairs


def figure(pairs: pd.DataFrame, tree: Path, inputs: list[Path]) -> None:
    """compare.pdf/png: committed against reproduced accuracy of every pair, and their differences."""
    import matplotlib.pyplot as plt

    from rectifiers.render import style
    style.setup()
    fig, (a, b) = plt.subplots(1, 2, figsize=(style.DOUBLE, 2.8), layout="constrained")
    p = pairs.dropna(subset=["acc_c", "acc_r"]) if len(pairs) else pairs
    if not len(p):
        for ax in (a, b):
            ax.text(0.5, 0.5, "no runs of the same configuration", transform=ax.transAxes, ha="center")
    else:
        for act in activations.ordered(p.act_c.unique()):
            q = p[p.act_c == act]
            a.scatter(100 * q.acc_c, 100 * q.acc_r, s=2 * style.SEED_SIZE, color=style.colour(act),
                      marker=style.marker(act), label=activations.display(act))
        lo, hi = 100 * min(p.acc_c.min(), p.acc_r.min()), 100 * max(p.acc_c.max(), p.acc_r.max())
        a.plot([lo, hi], [lo, hi], color="0.5", lw=0.6, ls="--")
        a.legend(loc="upper left")
        d = 100 * (p.acc_r - p.acc_c)
        b.hist(d, bins=int(np.clip(len(d) // 4, 5, 40)), color="0.45")
        b.axvline(0, color="0.2", lw=0.6)
    a.set_xlabel("committed run: test accuracy (%)")
    a.set_ylabel("reproduced run (%)")
    b.set_xlabel("reproduced - committed accuracy (points)")
    b.set_ylabel("runs of the same configuration")
    style.save(fig, tree, "compare", __file__, inputs)
    plt.close(fig)


def report(tree: Path, committed: Path) -> list[str]:
    """Write tree/report.md and tree/compare.pdf/png; mark the reproduction complete; its last lines."""
    manifest = read_json(tree / MANIFEST, "")
    if manifest is None:
        raise Refused(f"{tree}/ holds no {MANIFEST}: make reproduce makes a reproduction, make compare reports it")
    profile = manifest["profile"]
    r = read_side(tree / "results" / profile)
    if r is None:
        raise Refused(f"{tree}/results/{profile}/ has no study.json: the reproduction stopped before aggregation; "
                      "run the same make reproduce again to continue it")
    c = read_side(committed / profile)
    text, pairs = report_text(manifest["name"], manifest, c, r)
    write_atomic(tree / "report.md", text)
    inputs = [d / f for d in ([r.dir] + ([c.dir] if c else [])) for f in ("study.json", "runs.csv")]
    figure(pairs, tree, inputs)
    write_atomic(tree / MANIFEST, json.dumps({**manifest, "state": "complete"}, indent=1) + "\n")
    return text.rstrip("\n").split("\n")[-3:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    lo = sub.add_parser("locate", help="check the data and print where make reproduce builds")
    lo.add_argument("--profile", default="cpu")
    lo.add_argument("--fresh", action="store_true", help="retrain the committed configurations (FRESH=1)")
    lo.add_argument("--sample", type=int, help="seeds per cell (SAMPLE=k)")
    lo.add_argument("--sample-trained", type=int, help="seeds of the trained ResNet (SAMPLE_TRAINED=j; 0: none)")
    lo.add_argument("--name", help="the folder of reproductions/ (REPRO=name); default <profile>-<source>-<fp>")
    lo.add_argument("overrides", nargs="*", help="the DATA overrides")
    rp = sub.add_parser("report", help="write report.md and compare.pdf of a reproduction")
    rp.add_argument("--reproduction", type=Path, required=True, help="reproductions/<name>")
    rp.add_argument("--committed", type=Path, default=Path("results"))
    args = ap.parse_args(argv)
    logging.basicConfig(format="compare: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)  # this project's messages; not every library's (fontTools at INFO)
    if args.command == "report":
        try:
            lines = report(args.reproduction, args.committed)
        except (Refused, results.ResultsError) as e:
            sys.exit(f"compare: {e}")
        print(f"{args.reproduction}/report.md:", *lines, sep="\n")
        return 0
    try:
        check_sample(args.profile, args.sample, args.sample_trained)
        place = locate(args.profile, args.overrides, fresh=args.fresh, sample=args.sample,
                       sample_trained=args.sample_trained, name=args.name)
    except (Refused, ConfigError, data.DataError) as e:
        sys.exit(f"reproduce: refused before any job started: {e}")
    if place.note:
        log.info(place.note)
    log.info("building %s", f"reproductions/{place.name}/ ({place.description}, fingerprint {place.fingerprint[:12]})"
             if place.name else f"the committed tree (results/{args.profile}/, figures/, paper/) from its records")
    print(place.name or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
