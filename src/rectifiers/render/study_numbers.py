"""The numbers of numbers.tex about the study itself: its runs, seeds, activations, cells, scale,
wall time and provenance (data fingerprint, git commits, library versions, the machines); the
rules' constants, the Leaky slopes and the knobs' levels; the claims' verdicts, results and
rules, and the ten-seed extension beside them. Pure functions of the results tables, the
committed records' summaries and git (rectifiers.provenance)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import yaml

from .. import activations, provenance
from ..analysis import claims, results
from ..analysis.claim_text import outcome_text, pts, verdict_changes
from ..analysis.rules import RULES, Rules
from ..files import CONF
from . import latex
from .latex import count, num, series, spelled

VERSIONS = ("python", "torch", "torchvision", "numpy", "hydra")  # the libraries whose versions a run records


def joined(values) -> str:
    """The distinct values, sorted, comma-separated (a study normally has one)."""
    return series(sorted({str(v) for v in values if v == v and v is not None}), ", ") or "n/a"


def summaries(results_dir: Path) -> list[dict]:
    """The copies of the runs' summary.json that aggregate.py keeps (absent in synthetic tests)."""
    return [json.loads(p.read_text()) for p in sorted((results_dir / "runs").glob("*/summary.json"))]


def extension_numbers(res, results_dir: Path, verdicts: list) -> dict[str, str]:
    """The ten-seed extension (conf/claims.yaml): the commit that declared it and the first
    record of a seed it added, its seeds, the verdicts of the five-seed study beside it, and
    the verdicts at Pocock's two-look level (a sensitivity analysis, not the verdicts)."""
    ext = RULES.extension
    t, missing = res.tidy(), res.study.get("missing", [])
    five = claims.decide_first_seeds(t, missing, claims.FIVE_SEEDS)  # as the claims table prints them
    pocock = claims.decide(t, dataclasses.replace(RULES, alpha=ext["sensitivity_alpha"]), missing=missing)
    m = {**provenance.extension_commits(results_dir, claims.FIVE_SEEDS), "ExtensionSeeds": count(ext["seeds"]),
         "FiveSeeds": count(claims.FIVE_SEEDS), "SensitivityAlpha": num(ext["sensitivity_alpha"]),
         "StabilityResamples": "n/a"}
    if (results_dir / "stability.csv").is_file():
        m["StabilityResamples"] = count(pd.read_csv(results_dir / "stability.csv").resamples.max())
    m["VerdictChanges"] = latex.prose(verdict_changes(
        five, verdicts, RULES.alpha, (claims.FIVE_SEEDS, ext["seeds"])))
    for v5, vp in zip(five, pocock):
        m[f"Claim{spelled(v5.number)}FiveSeedVerdict"] = v5.verdict
        m[f"Claim{spelled(vp.number)}PocockVerdict"] = vp.verdict
    return m


def device_text(runs: pd.DataFrame) -> str:
    """Where the runs ran: 'AMD EPYC (AVX512), 40 runs; CPU model not recorded, 150 runs; one
    thread per run'. Runs on different kinds of CPU differ like seeds (docs/design.md section 3)."""
    cpus = [f"{c} ({k})" if isinstance(c, str) else "CPU model not recorded"
            for c, k in zip(runs.get("cpu", [None] * len(runs)), runs.get("cpu_capability", [None] * len(runs)))]
    parts = [f"{name}, {count(n)} runs" for name, n in pd.Series(cpus).value_counts().items()]
    threads = sorted(runs.device.str.extract(r"(\d+) threads?")[0].dropna().astype(int).unique())
    per_run = "one thread per run" if threads == [1] else f"{joined(str(t) for t in threads)} threads per run"
    return latex.tex_escape("; ".join(parts + [per_run]))


def study_numbers(res: results.Results, results_dir: Path) -> dict[str, str]:
    """The study: runs, seeds, activations, cells, scale, wall time, provenance."""
    runs, study = res.runs, res.study
    df, cells = results.cell_frame(runs, study), results.cells(study)
    acts = activations.ordered(df.act.unique())
    ok = runs[runs.status == "ok"]
    m = {"ProfileName": latex.tex_escape(study["profile"]), "NumRuns": count(len(runs))}
    for status in ("ok", "diverged", "failed"):
        m[latex.macro_name("num runs", status)] = count((runs.status == status).sum())
    m["NumRunsExpected"], m["NumRunsMissing"] = count(study["cells"]), count(len(study["missing"]))
    m["NumSeeds"], m["SeedList"] = count(len(study["seeds"])), series(study["seeds"], ", ")
    m["SeedCells"] = f"planned in every cell ({m['NumRunsMissing']} runs not yet trained)" if study["missing"] \
        else "in every cell"
    m["NumActivations"] = count(len(acts))
    m["ActivationList"] = series((activations.display(a) for a in acts), ", ")
    m["NumRegimes"] = count(len(cells))
    m["NumEpochs"] = joined(df.epochs.astype(int))
    calibration = pd.read_csv(results_dir / "calibration.csv")
    plain_cal = calibration[calibration.model != "resnet"] if "model" in calibration else calibration
    m["CalibrationEpochs"] = joined(plain_cal.epochs.astype(int))  # the ResNet pilot is listed apart
    m["TrainSize"] = "all" if df.train_size.isna().all() else joined(count(x) for x in df.train_size.dropna())
    m["PlainWidth"] = joined(runs[runs.model == "plain"].width.astype(int))
    for c in cells:  # monitored units (channels) of the baseline plain network and the reference
        if c.kind != "stress":
            units = df[df.cell == c.key].units
            m[("Baseline" if c.kind == "baseline" else latex.macro_name(c.knob)) + "Units"] = \
                count(units.iloc[0]) if len(units) else "n/a"
    wall = runs.wall_time_s.sum()
    m["StudyWallHours"] = f"{wall / 3600:.1f}"
    m["StudyWallMinutes"] = count(round(wall / 60))
    m["MedianThroughput"] = count(round(ok.images_per_s.median())) if len(ok) else "n/a"
    m["Device"] = device_text(runs) if len(runs) else "n/a"
    m["DataFingerprint"] = latex.tex_escape(study["data_fingerprint"][:12])
    m["DataDescription"] = latex.tex_escape(study["data_description"]).replace("/", r"/\allowbreak{}")  # long paths
    commits = sorted({str(c)[:12] + ("+dirty" if str(c).endswith("+dirty") else "") for c in runs.git_commit})
    m["GitCommit"] = latex.tex_escape(", ".join(commits))
    m["NumGitCommits"] = count(len(commits))
    recorded = [s.get("versions", {}) for s in summaries(results_dir)]
    for lib in VERSIONS:
        m[latex.macro_name("version", lib)] = latex.tex_escape(joined(v.get(lib) for v in recorded))
    return m


def rule_numbers(rules: Rules) -> dict[str, str]:
    """Statistics and the rules' constants (conf/claims.yaml)."""
    return {
        "Alpha": num(rules.alpha),
        "ConfidencePct": latex.pct(1 - rules.alpha, None),
        "DeadThresholdPct": latex.pct(rules.dead_threshold, None),
        "AccuracyMarginPoints": latex.pct(rules.accuracy_margin, None),
        "DeadMarginPoints": latex.pct(rules.dead_margin, None),
        "AccuracyMarginText": pts(rules.accuracy_margin),   # '1 point'
        "DeadMarginText": pts(rules.dead_margin),
        "ChancePct": latex.pct(rules.chance_accuracy, None),
        "CollapsePct": latex.pct(rules.collapse_accuracy, None),
        "DivergedDeadPct": latex.pct(rules.diverged_dead_ratio, None),
        "Permutations": count(rules.permutations),
        "OutcomeRule": latex.tex_escape(outcome_text(rules)),
    }


def slope_numbers(runs: pd.DataFrame) -> dict[str, str]:
    """The Leaky slopes trained, and the configured defaults (conf/activation/), which hold
    whether or not such runs exist yet."""
    slopes = runs[runs.activation == "leaky_relu"].negative_slope.dropna()
    def default(config: str, key: str):  # plain YAML: render/ loads no Hydra
        return yaml.safe_load((CONF / "activation" / f"{config}.yaml").read_text())[key]
    return {"LeakySlopes": series((f"{s:g}" for s in sorted(slopes.unique())), ", "),
            "LeakyDefaultSlope": num(default("leaky_relu", "negative_slope")),
            "PreluInit": num(default("prelu", "init"))}


def knob_numbers(study: dict) -> dict[str, str]:
    """Each knob's levels, baseline and most stressful level."""
    m = {}
    for knob, k in study["knobs"].items():
        name = latex.macro_name(knob)
        m[name + "Levels"] = series((num(v) for v in k["levels"]), ", ")
        m[name + "Baseline"] = num(k["baseline"])
        m[name + "Stress"] = num(k["levels"][-1])
        if k["model"] == "resnet":
            m["ResnetDepth"] = num(k["levels"][0])
    return m


def claim_numbers(verdicts: list) -> dict[str, str]:
    """The claims' verdicts, results, rules and the figures the text quotes from them."""
    m = {"NumClaims": count(len(verdicts))}
    for v in verdicts:
        n = spelled(v.number)
        m[f"Claim{n}Verdict"] = v.verdict
        m[f"Claim{n}Result"] = latex.prose(v.result)
        m[f"Claim{n}Rule"] = latex.prose(v.rule)
        m[f"Claim{n}FamilySize"] = count(v.family_size)
        if v.number == 2:
            m["RevivalRelu"], m["RevivalLeaky"] = latex.pct(v.numbers.get("revival_relu")), \
                latex.pct(v.numbers.get("revival_leaky"))
        if v.number == 6 and v.comparisons:
            d = v.comparisons[0]
            m["DiagnosisRho"] = num(round(d.estimate, 2), ".2f") if d.estimate == d.estimate else "n/a"
            m["DiagnosisRuns"], m["DiagnosisGroups"] = count(d.n), count(d.groups)
            m["DiagnosisP"] = latex.p_value(d.p.less)
    for name in ("DiagnosisRho", "DiagnosisRuns", "DiagnosisGroups", "DiagnosisP"):
        m.setdefault(name, "n/a")
    for word in claims.VERDICTS:
        m[latex.macro_name("num claims", word)] = count(sum(v.verdict == word for v in verdicts))
    not_run = sum(v.not_run for v in verdicts)
    m["NumClaimsNotRun"] = count(not_run)
    # the abstract's aside on inconclusive claims without runs; nothing when every claim has its runs
    m["ClaimsNotRunClause"] = (f" ({count(not_run)} of them because not all {'its' if not_run == 1 else 'their'} "
                               "runs are trained yet)") if not_run else ""
    return m
