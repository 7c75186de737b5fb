"""Every number the paper's prose quotes, as LaTeX macros (paper/generated/numbers.tex):
counts of runs, levels, the dead ratios and accuracies of the cells the text discusses,
the claims' verdicts and rules, provenance (data fingerprint, git commit, versions) and the
study's wall time. Macro names are letters only and say what they hold.

    python scripts/make_numbers.py --results results/cpu --out paper/generated/numbers.tex
"""
from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from rectifiers import results as R

CONF = Path(__file__).resolve().parents[1] / "conf"
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


def numbers(results: Path) -> dict[str, str]:
    runs, study = R.load(results)
    layers = pd.read_csv(results / "layers.csv") if (results / "layers.csv").exists() else None
    df = R.regime_frame(runs, study)
    regs = R.regimes(study)
    acts = R.act_order(df.act.unique())
    leaky = [a for a in acts if R.is_leaky(a)]
    ok = runs[runs.status == "ok"]
    m: dict[str, str] = {}

    # the study
    m["ProfileName"] = R.tex_escape(study["profile"])
    m["NumRuns"] = count(len(runs))
    for status in ("ok", "diverged", "failed"):
        m[R.macro_name("num runs", status)] = count((runs.status == status).sum())
    m["NumRunsExpected"] = count(study["cells"])
    m["NumRunsMissing"] = count(len(study["missing"]))
    m["NumSeeds"] = count(len(study["seeds"]))
    m["SeedList"] = listing(str(s) for s in study["seeds"])
    m["NumActivations"] = count(len(acts))
    m["ActivationList"] = listing(R.act_name(a) for a in acts)
    m["NumRegimes"] = count(len(regs))
    m["NumEpochs"] = joined(runs.epochs.astype(int))
    calibration = pd.read_csv(results / "calibration.csv")
    m["CalibrationEpochs"] = joined(calibration.epochs.astype(int))
    m["TrainSize"] = "all" if runs.train_size.isna().all() else joined(count(x) for x in runs.train_size.dropna())
    m["PlainWidth"] = joined(runs[runs.model == "plain"].width.astype(int))
    for r in regs:  # monitored units (channels) of the baseline plain network and the reference
        if r["kind"] != "stress":
            units = df[df.regime == r["key"]].units
            m[("Baseline" if r["kind"] == "baseline" else R.macro_name(r["knob"])) + "Units"] = \
                count(units.iloc[0]) if len(units) else "n/a"
    wall = runs.wall_time_s.sum()
    m["StudyWallHours"] = f"{wall / 3600:.1f}"
    m["StudyWallMinutes"] = count(round(wall / 60))
    m["MedianThroughput"] = count(round(ok.images_per_s.median())) if len(ok) else "n/a"
    m["Device"] = R.tex_escape(runs.device.mode().iloc[0]) if len(runs) else "n/a"
    m["DataFingerprint"] = R.tex_escape(study["data_fingerprint"][:12])
    m["DataDescription"] = R.tex_escape(study["data_description"]).replace("/", r"/\allowbreak{}")  # long paths
    commits = sorted({str(c)[:12] + ("+dirty" if str(c).endswith("+dirty") else "") for c in runs.git_commit})
    m["GitCommit"] = R.tex_escape(", ".join(commits))
    m["NumGitCommits"] = count(len(commits))
    recorded = [s.get("versions", {}) for s in summaries(results)]
    for lib in VERSIONS:
        m[R.macro_name("version", lib)] = R.tex_escape(joined(v.get(lib) for v in recorded))

    # statistics
    m["BootstrapResamples"] = count(inspect.signature(R.bootstrap_ci).parameters["n_boot"].default)
    m["ConfidencePct"] = f"{100 * inspect.signature(R.bootstrap_ci).parameters['level'].default:g}"
    m["DeadThresholdPct"] = f"{100 * R.DEAD_THRESHOLD:g}"
    m["EquivMarginPoints"] = f"{100 * R.EQUIV_MARGIN:g}"
    slopes = runs[runs.activation == "leaky_relu"].negative_slope.dropna()
    m["LeakySlopes"] = listing(f"{s:g}" for s in sorted(slopes.unique()))
    # the configured defaults (conf/activation/), which hold whether or not such runs exist yet
    m["LeakyDefaultSlope"] = num(OmegaConf.load(CONF / "activation" / "leaky_relu.yaml").negative_slope)
    m["PreluInit"] = num(OmegaConf.load(CONF / "activation" / "prelu.yaml").init)

    # knobs and levels
    for knob, k in study["knobs"].items():
        name = R.macro_name(knob)
        m[name + "Levels"] = listing(num(v) for v in k["levels"])
        m[name + "Baseline"] = num(k["baseline"])
        m[name + "Stress"] = num(k["levels"][-1])
        if k["model"] == "resnet":
            m["ResnetDepth"] = num(k["levels"][0])

    # the cells the text discusses: the baseline, each knob's most stressful level, the reference
    acc = R.summarise(df, "final_test_acc", ["regime", "act"]).set_index(["regime", "act"])
    peak = R.summarise(df, "dead_ratio_peak", ["regime", "act"]).set_index(["regime", "act"])
    end = R.summarise(df, "dead_ratio_final", ["regime", "act"]).set_index(["regime", "act"])
    init = R.summarise(df, "dead_ratio_init", ["regime", "act"]).set_index(["regime", "act"])
    last = {r["knob"]: r for r in regs if r["kind"] == "stress"}  # levels run baseline -> most stressful
    shown = [r for r in regs if r["kind"] != "stress"] + list(last.values())
    for r in shown:
        cell = "Baseline" if r["kind"] == "baseline" else R.macro_name(r["knob"])

        def get(frame, act, col="mean"):
            return frame.loc[(r["key"], act), col] if (r["key"], act) in frame.index else np.nan

        m["ReluAcc" + cell] = R.pct(get(acc, "relu"))
        m["ReluPeakDead" + cell] = R.pct(get(peak, "relu"))
        m["ReluPeakDeadCi" + cell] = f"[{R.pct(get(peak, 'relu', 'low'))}, {R.pct(get(peak, 'relu', 'high'))}]"
        m["ReluEndDead" + cell] = R.pct(get(end, "relu"))
        m["ReluInitDead" + cell] = R.pct(get(init, "relu"))
        n = get(acc, "relu", "n")
        m["ReluDiverged" + cell] = "n/a" if np.isnan(n) else f"{int(get(acc, 'relu', 'n_diverged'))}/{int(n)}"
        m["LeakyMaxEndDead" + cell] = R.pct(max((get(end, a) for a in leaky), default=np.nan))
        means = {a: get(acc, a) for a in acts if not np.isnan(get(acc, a))}
        best = max(means, key=means.get) if means else None
        m["BestAcc" + cell] = R.pct(means[best]) if best else "n/a"
        m["BestAct" + cell] = R.act_name(best) if best else "n/a"
        m["NumDiverged" + cell] = count(sum(get(acc, a, "n_diverged") for a in acts if (r["key"], a) in acc.index))
    first = (regs[0]["key"], acts[0])
    m["MainFirstAccuracy"] = R.pct(acc.loc[first, "mean"]) if first in acc.index else "n/a"
    top = acc["mean"].dropna()
    if len(top):
        (reg, act) = top.idxmax()
        m["BestAccuracy"], m["BestAccuracyAct"] = R.pct(top.max()), R.act_name(act)
        m["BestAccuracyRegime"] = R.tex_escape(next(r["label"] for r in regs if r["key"] == reg))

    # dead units: lethal cells, revival, PReLU slopes
    lethal = [r for r in regs if r["kind"] != "reference" and (r["key"], "relu") in peak.index
              and peak.loc[(r["key"], "relu"), "mean"] >= R.DEAD_THRESHOLD]
    m["NumLethalCells"] = count(len(lethal))
    m["NumPlainCells"] = count(sum(r["kind"] != "reference" for r in regs))
    m["LethalCells"] = R.tex_escape(listing(r["label"] for r in lethal)) or "none"
    if layers is not None and layers.slope_mean.notna().any():
        s = layers[(layers.act == "prelu") & layers.slope_mean.notna() & (layers.status == "ok")]
        at_end = s[s.epoch == s.groupby("run_id").epoch.transform("max")]
        m["PreluSlopeMin"] = num(round(at_end.slope_mean.min(), 2))
        m["PreluSlopeMax"] = num(round(at_end.slope_mean.max(), 2))
    else:
        m["PreluSlopeMin"] = m["PreluSlopeMax"] = "n/a"

    # the claims
    verdicts = []
    checked = R.claims(runs, study, layers)
    m["NumClaims"] = count(len(checked))
    for c in checked:
        n = ORDINAL[c["number"]]
        m[f"Claim{n}Verdict"] = c["verdict"]
        m[f"Claim{n}Result"] = R.tex_escape(c["result"])
        m[f"Claim{n}Rule"] = R.tex_escape(c["rule"])
        verdicts.append(c["verdict"])
        if c["number"] == 2:
            m["RevivalRelu"], m["RevivalLeaky"] = R.pct(c["revival_relu"]), R.pct(c["revival_leaky"])
        if c["number"] == 6:
            m["DeadAccRho"] = num(c.get("rho", np.nan), ".2f")
            m["DeadAccRhoCi"] = f"[{num(c.get('rho_low', np.nan), '.2f')}, {num(c.get('rho_high', np.nan), '.2f')}]"
    for v in ("supported", "contradicted", "inconclusive"):
        m[R.macro_name("num claims", v)] = count(verdicts.count(v))
    return m


def render(m: dict[str, str]) -> str:
    lines = []
    for name, value in m.items():
        assert name.isalpha(), name
        lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    return R.generated_main("make_numbers", lambda d: render(numbers(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
