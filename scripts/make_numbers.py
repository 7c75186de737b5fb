"""Every number the paper's prose quotes, as LaTeX macros (paper/generated/numbers.tex):
counts of runs, levels, the dead ratios and accuracies of the cells the text discusses,
the claims' verdicts and rules, provenance (data fingerprint, git commit, versions) and the
study's wall time. Macro names are letters only and say what they hold.

    python scripts/make_numbers.py --results results/cpu --out paper/generated/numbers.tex
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from rectifiers import claims as C
from rectifiers import cli
from rectifiers import latex as L
from rectifiers import results as R

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
ORDINAL = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}
VERSIONS = ("python", "torch", "torchvision", "numpy", "hydra")


def count(n) -> str:
    """12345 -> '12{,}345' (LaTeX thousands separator)."""
    return f"{int(n):,}".replace(",", "{,}")


def num(x, fmt: str = "g") -> str:
    """A number for text: the minus as a math minus; NaN -> 'n/a'."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    return format(x, fmt).replace("-", "$-$")


def listing(values) -> str:
    return ", ".join(values)


def joined(values) -> str:
    """The distinct values, sorted, comma-separated (a study normally has one)."""
    vals = sorted({str(v) for v in values if v == v and v is not None})
    return ", ".join(vals) if vals else "n/a"


def summaries(results: Path) -> list[dict]:
    """The copies of the runs' summary.json that aggregate.py keeps (absent in synthetic tests)."""
    return [json.loads(p.read_text()) for p in sorted((results / "runs").glob("*/summary.json"))]


def git(*args) -> str:
    """Output of a git command in the repository, '' where there is no git history."""
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def rule_commits(results: Path) -> dict[str, str]:
    """The commit that fixed the claim rules (the one that added conf/claims.yaml) and the
    first later commit that added the record of a run trained by code that already had those
    rules (its summary.json names a descendant of the rules commit): the paper cites both, so
    a reader can check that the rules came before the study's data."""
    rules = git("log", "--diff-filter=A", "--format=%H", "--", "conf/claims.yaml").splitlines()
    rules = rules[-1] if rules else ""
    first = ""
    if rules:
        rel = Path(results).resolve().relative_to(ROOT) if Path(results).resolve().is_relative_to(ROOT) else None
        log = git("log", "--reverse", "--ancestry-path", "--diff-filter=A", "--name-only", "--format=@%H",
                  f"{rules}..HEAD", "--", f"{rel}/runs") if rel else ""
        commit = ""
        for line in log.splitlines():
            if line.startswith("@"):
                commit = line[1:]
            elif line.endswith("summary.json"):
                code = json.loads(git("show", f"{commit}:{line}") or "{}").get("git_commit", "")
                code = code.removesuffix("+dirty")
                if code and subprocess.run(["git", "merge-base", "--is-ancestor", rules, code], cwd=ROOT,
                                           capture_output=True).returncode == 0:
                    first = commit
                    break
    return {"RulesCommit": rules[:12] or "n/a", "FirstRecordCommit": first[:12] or "n/a"}


def calibration_numbers(results: Path) -> dict[str, str]:
    """The claim rules' calibration (scripts/calibrate_claims.py), if it has been run."""
    path = results / "claims_calibration.csv"
    m = {"CalibrationSimulations": "n/a", "CalibrationMaxFalseContradicted": "n/a",
         "CalibrationMaxFalseSupported": "n/a", "CalibrationMinCoverage": "n/a"}
    m.update({f"Claim{ORDINAL[n]}Power": "n/a" for n in ORDINAL})
    if not path.is_file():
        return m
    cal = pd.read_csv(path)
    m["CalibrationSimulations"] = count(cal.simulations.max())
    m["CalibrationMaxFalseContradicted"] = L.pct(cal[cal.role == "true"].contradicted.max())
    m["CalibrationMaxFalseSupported"] = L.pct(cal[cal.role == "false"].supported.max())
    m["CalibrationMinCoverage"] = L.pct(cal.coverage.min())
    for r in cal[cal.role == "effect"].itertuples():
        m[f"Claim{ORDINAL[r.claim]}Power"] = L.pct(r.supported, 0)
    return m


def device_text(runs: pd.DataFrame) -> str:
    """Where the runs ran: 'AMD EPYC (AVX512), 40 runs; CPU model not recorded, 150 runs; one
    thread per run'. Runs on different kinds of CPU differ like seeds (docs/design.md section 3)."""
    cpus = [f"{c} ({k})" if isinstance(c, str) else "CPU model not recorded"
            for c, k in zip(runs.get("cpu", [None] * len(runs)), runs.get("cpu_capability", [None] * len(runs)))]
    parts = [f"{name}, {count(n)} runs" for name, n in pd.Series(cpus).value_counts().items()]
    threads = sorted(runs.device.str.extract(r"(\d+) threads?")[0].dropna().astype(int).unique())
    per_run = "one thread per run" if threads == [1] else f"{joined(str(t) for t in threads)} threads per run"
    return L.tex_escape("; ".join(parts + [per_run]))


def scale_numbers(res) -> dict[str, str]:
    """The larger budgets (conf/study/plain_long.yaml, resnet_trained.yaml), the trained
    ResNet's ReLU accuracy and how the gaps over ReLU changed with the budget."""
    from rectifiers.scaling import gap_changes, gaps
    scales, grid = res.study["scales"], res.runs
    grid_budget = C.RULES.design["stress"]["train_size"] * C.RULES.design["stress"]["epochs"]
    long_, trained = scales["plain_long"], scales["resnet_trained"]
    m = {"LongTrainSize": count(long_["train_size"]), "LongEpochs": count(long_["epochs"]),
         "LongBudgetFactor": f"{long_['train_size'] * long_['epochs'] / grid_budget:g}",
         "TrainedEpochs": count(trained["epochs"]),
         "TrainedBudgetFactor": f"{50_000 * trained['epochs'] / grid_budget:g}"}
    t = res.tidy()
    relu = t[(t.scale == "trained") & (t.act == C.RULES.relu)].acc.dropna()
    m["ReluAccTrained"] = L.pct(relu.mean()) if len(relu) else "n/a"
    m["NumReluTrained"] = count(len(relu))
    ch = gap_changes(gaps(t))
    m["NumGapChanges"] = count(len(ch))
    for trend, name in (("shrinks", "Shrink"), ("grows", "Grow"), ("no detectable change", "Unchanged")):
        m["NumGaps" + name] = count((ch.trend == trend).sum())
    return m


def numbers(results: Path) -> dict[str, str]:
    res = R.load(results, "epochs", "layers")
    runs, study, layers = res.runs, res.study, res.layers
    rules = C.RULES
    df = R.regime_frame(runs, study)
    regs = R.regimes(study)
    acts = R.act_order(df.act.unique())
    leaky = [a for a in acts if R.is_leaky(a)]
    ok = runs[runs.status == "ok"]
    m: dict[str, str] = {}

    # the study
    m["ProfileName"] = L.tex_escape(study["profile"])
    m["NumRuns"] = count(len(runs))
    for status in ("ok", "diverged", "failed"):
        m[L.macro_name("num runs", status)] = count((runs.status == status).sum())
    m["NumRunsExpected"] = count(study["cells"])
    m["NumRunsMissing"] = count(len(study["missing"]))
    m["NumSeeds"] = count(len(study["seeds"]))
    m["SeedList"] = listing(str(s) for s in study["seeds"])
    m["NumActivations"] = count(len(acts))
    m["ActivationList"] = listing(R.act_name(a) for a in acts)
    m["NumRegimes"] = count(len(regs))
    m["NumEpochs"] = joined(df.epochs.astype(int))
    calibration = pd.read_csv(results / "calibration.csv")
    m["CalibrationEpochs"] = joined(calibration.epochs.astype(int))
    m["TrainSize"] = "all" if df.train_size.isna().all() else joined(count(x) for x in df.train_size.dropna())
    m["PlainWidth"] = joined(runs[runs.model == "plain"].width.astype(int))
    for r in regs:  # monitored units (channels) of the baseline plain network and the reference
        if r["kind"] != "stress":
            units = df[df.regime == r["key"]].units
            m[("Baseline" if r["kind"] == "baseline" else L.macro_name(r["knob"])) + "Units"] = \
                count(units.iloc[0]) if len(units) else "n/a"
    wall = runs.wall_time_s.sum()
    m["StudyWallHours"] = f"{wall / 3600:.1f}"
    m["StudyWallMinutes"] = count(round(wall / 60))
    m["MedianThroughput"] = count(round(ok.images_per_s.median())) if len(ok) else "n/a"
    m["Device"] = device_text(runs) if len(runs) else "n/a"
    m["DataFingerprint"] = L.tex_escape(study["data_fingerprint"][:12])
    m["DataDescription"] = L.tex_escape(study["data_description"]).replace("/", r"/\allowbreak{}")  # long paths
    commits = sorted({str(c)[:12] + ("+dirty" if str(c).endswith("+dirty") else "") for c in runs.git_commit})
    m["GitCommit"] = L.tex_escape(", ".join(commits))
    m["NumGitCommits"] = count(len(commits))
    recorded = [s.get("versions", {}) for s in summaries(results)]
    for lib in VERSIONS:
        m[L.macro_name("version", lib)] = L.tex_escape(joined(v.get(lib) for v in recorded))

    # statistics and the rules' constants (conf/claims.yaml)
    m["Alpha"] = num(rules.alpha)
    m["ConfidencePct"] = f"{100 * (1 - rules.alpha):g}"
    m["DeadThresholdPct"] = f"{100 * rules.dead_threshold:g}"
    m["AccuracyMarginPoints"] = f"{100 * rules.accuracy_margin:g}"
    m["DeadMarginPoints"] = f"{100 * rules.dead_margin:g}"
    m["AccuracyMarginText"] = C.pts(rules.accuracy_margin)   # '1 point'
    m["DeadMarginText"] = C.pts(rules.dead_margin)
    m["ChancePct"] = f"{100 * rules.chance_accuracy:g}"
    m["CollapsePct"] = f"{100 * rules.collapse_accuracy:g}"
    m["DivergedDeadPct"] = f"{100 * rules.diverged_dead_ratio:g}"
    m["Permutations"] = count(rules.permutations)
    m["OutcomeRule"] = L.tex_escape(C.outcome_text(rules))
    m.update(rule_commits(results))
    m.update(calibration_numbers(results))
    m.update(scale_numbers(res))
    slopes = runs[runs.activation == "leaky_relu"].negative_slope.dropna()
    m["LeakySlopes"] = listing(f"{s:g}" for s in sorted(slopes.unique()))
    # the configured defaults (conf/activation/), which hold whether or not such runs exist yet
    m["LeakyDefaultSlope"] = num(OmegaConf.load(CONF / "activation" / "leaky_relu.yaml").negative_slope)
    m["PreluInit"] = num(OmegaConf.load(CONF / "activation" / "prelu.yaml").init)

    # knobs and levels
    for knob, k in study["knobs"].items():
        name = L.macro_name(knob)
        m[name + "Levels"] = listing(num(v) for v in k["levels"])
        m[name + "Baseline"] = num(k["baseline"])
        m[name + "Stress"] = num(k["levels"][-1])
        if k["model"] == "resnet":
            m["ResnetDepth"] = num(k["levels"][0])

    # the cells the text discusses: the baseline, each knob's most stressful level, the
    # reference; means over all seeds, a diverged run at its declared value (claims.outcomes)
    acc = R.summarise(df, "acc", ["regime", "act"]).set_index(["regime", "act"])
    peak = R.summarise(df, "dead_peak", ["regime", "act"]).set_index(["regime", "act"])
    end = R.summarise(df, "dead_final", ["regime", "act"]).set_index(["regime", "act"])
    init = R.summarise(df, "dead_ratio_init", ["regime", "act"]).set_index(["regime", "act"])
    last = {r["knob"]: r for r in regs if r["kind"] == "stress"}  # levels run baseline -> most stressful
    shown = [r for r in regs if r["kind"] != "stress"] + list(last.values())
    for r in shown:
        cell = "Baseline" if r["kind"] == "baseline" else L.macro_name(r["knob"])

        def get(frame, act, col="mean"):
            return frame.loc[(r["key"], act), col] if (r["key"], act) in frame.index else np.nan

        m["ReluAcc" + cell] = L.pct(get(acc, "relu"))
        m["ReluPeakDead" + cell] = L.pct(get(peak, "relu"))
        m["ReluPeakDeadCi" + cell] = L.interval(get(peak, "relu", "low"), get(peak, "relu", "high")) or "(no interval)"
        m["ReluEndDead" + cell] = L.pct(get(end, "relu"))
        m["ReluInitDead" + cell] = L.pct(get(init, "relu"))
        n = get(acc, "relu", "n_runs")
        m["ReluDiverged" + cell] = "n/a" if np.isnan(n) else f"{int(get(acc, 'relu', 'n_diverged'))}/{int(n)}"
        m["LeakyMaxEndDead" + cell] = L.pct(max((get(end, a) for a in leaky), default=np.nan))
        means = {a: get(acc, a) for a in acts if not np.isnan(get(acc, a))}
        best = max(means, key=means.get) if means else None
        m["BestAcc" + cell] = L.pct(means[best]) if best else "n/a"
        m["BestAct" + cell] = R.act_name(best) if best else "n/a"
        m["NumDiverged" + cell] = count(sum(get(acc, a, "n_diverged") for a in acts if (r["key"], a) in acc.index))
    first = (regs[0]["key"], acts[0])
    m["MainFirstAccuracy"] = L.pct(acc.loc[first, "mean"]) if first in acc.index else "n/a"
    top = acc["mean"].dropna()
    if len(top):
        (reg, act) = top.idxmax()
        m["BestAccuracy"], m["BestAccuracyAct"] = L.pct(top.max()), R.act_name(act)
        m["BestAccuracyRegime"] = L.tex_escape(next(r["label"] for r in regs if r["key"] == reg))

    # dead units: cells where ReLU's mean peak dead ratio reaches the threshold (descriptive)
    lethal = [r for r in regs if r["kind"] != "reference" and (r["key"], "relu") in peak.index
              and peak.loc[(r["key"], "relu"), "mean"] >= rules.dead_threshold]
    m["NumLethalCells"] = count(len(lethal))
    m["NumPlainCells"] = count(sum(r["kind"] != "reference" for r in regs))
    m["LethalCells"] = L.tex_escape(listing(r["label"] for r in lethal)) or "none"
    grid_layers = layers[np.isclose(layers.budget, R.grid_budget(runs))]
    if grid_layers.slope_mean.notna().any():
        s = grid_layers[(grid_layers.act == "prelu") & grid_layers.slope_mean.notna() & (grid_layers.status == "ok")]
        at_end = R.final_epoch(s)
        m["PreluSlopeMin"] = num(round(at_end.slope_mean.min(), 2))
        m["PreluSlopeMax"] = num(round(at_end.slope_mean.max(), 2))
    else:
        m["PreluSlopeMin"] = m["PreluSlopeMax"] = "n/a"

    # the claims
    verdicts = C.decide(res.tidy())
    m["NumClaims"] = count(len(verdicts))
    for v in verdicts:
        n = ORDINAL[v.number]
        m[f"Claim{n}Verdict"] = v.verdict
        m[f"Claim{n}Result"] = L.tex_escape(v.result)
        m[f"Claim{n}Rule"] = L.tex_escape(v.rule)
        m[f"Claim{n}FamilySize"] = count(v.family_size)
        if v.number == 2:
            m["RevivalRelu"], m["RevivalLeaky"] = L.pct(v.numbers.get("revival_relu")), \
                L.pct(v.numbers.get("revival_leaky"))
        if v.number == 6 and v.comparisons:
            d = v.comparisons[0]
            m["DiagnosisRho"] = num(round(d["estimate"], 2), ".2f") if d["estimate"] == d["estimate"] else "n/a"
            m["DiagnosisRuns"], m["DiagnosisGroups"] = count(d["n"]), count(d.get("groups", 0))
            m["DiagnosisP"] = L.p_value(d["p_less"])
    m.setdefault("DiagnosisRho", "n/a")
    m.setdefault("DiagnosisRuns", "n/a")
    m.setdefault("DiagnosisGroups", "n/a")
    m.setdefault("DiagnosisP", "n/a")
    for word in ("supported", "contradicted", "inconclusive"):
        m[L.macro_name("num claims", word)] = count(sum(v.verdict == word for v in verdicts))
    m["NumClaimsNotRun"] = count(sum(v.result.startswith(C.NOT_RUN) for v in verdicts))
    return m


def render(m: dict[str, str]) -> str:
    lines = []
    for name, value in m.items():
        assert name.isalpha(), name
        lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    return cli.generated_main("make_numbers", lambda d: render(numbers(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
