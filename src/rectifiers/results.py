"""Statistics of the study (DESIGN.md section 6): bootstrap intervals over seeds, paired
differences against ReLU, diverged-run counts and the verdict helper. Pure functions on
pandas frames of results/<profile>/runs.csv."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

BASELINE_ACT = "relu"
ACT_ORDER = ("relu", "leaky_relu_0.01", "leaky_relu_0.1", "leaky_relu_0.2", "leaky_relu_0.3", "prelu",
             "prelu_shared")


def act_label(activation: dict) -> str:
    """Config -> short label: relu, leaky_relu_0.1, prelu, prelu_shared."""
    name = activation["name"]
    if name == "leaky_relu":
        return f"leaky_relu_{activation['negative_slope']:g}"
    if name == "prelu" and activation.get("mode") == "shared":
        return "prelu_shared"
    return name


def bootstrap_ci(values, n_boot: int = 10_000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap interval of the mean. NaNs are dropped."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n_boot, len(x)), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return (float(x.mean()), float(lo), float(hi))


def verdict(low: float, high: float, higher_is_better: bool = True) -> str:
    """'better' or 'worse' only when the paired interval excludes zero."""
    if np.isnan(low) or np.isnan(high):
        return "undecided"
    if low > 0:
        return "better" if higher_is_better else "worse"
    if high < 0:
        return "worse" if higher_is_better else "better"
    return "no detectable difference"


def summarise(df: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """Per group: mean and 95% CI of `value` over finished (ok) runs, n runs, n diverged."""
    rows = []
    for key, g in df.groupby(by, sort=False):
        ok = g[g.status == "ok"][value]
        mean, lo, hi = bootstrap_ci(ok)
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)), mean=mean, low=lo, high=hi,
                         n=len(g), n_ok=len(ok), n_diverged=int((g.status == "diverged").sum())))
    return pd.DataFrame(rows)


def paired_differences(df: pd.DataFrame, value: str, cell: list[str], baseline: str = BASELINE_ACT) -> pd.DataFrame:
    """value(act) - value(baseline) for the same seed in the same cell; runs that did not
    finish ok on either side are dropped from the pair."""
    ok = df[df.status == "ok"]
    base = ok[ok.act == baseline][cell + ["seed", value]].rename(columns={value: "base"})
    other = ok[ok.act != baseline][cell + ["act", "seed", value]]
    pairs = other.merge(base, on=cell + ["seed"])
    pairs["diff"] = pairs[value] - pairs["base"]
    return pairs


def paired_summary(df: pd.DataFrame, value: str, cell: list[str], baseline: str = BASELINE_ACT,
                   higher_is_better: bool = True) -> pd.DataFrame:
    """Per cell and activation: mean paired difference against `baseline` with its 95% CI,
    the number of pairs and the verdict; always has its columns, even when empty."""
    pairs = paired_differences(df, value, cell, baseline)
    rows = []
    for key, g in pairs.groupby(cell + ["act"], sort=False):
        mean, lo, hi = bootstrap_ci(g["diff"])
        rows.append(dict(zip(cell + ["act"], key), mean=mean, low=lo, high=hi, n_pairs=len(g),
                         verdict=verdict(lo, hi, higher_is_better)))
    return pd.DataFrame(rows, columns=cell + ["act", "mean", "low", "high", "n_pairs", "verdict"])


# --- the study's layout: which runs form each knob's curve -----------------------------

def load(results_dir: Path) -> tuple[pd.DataFrame, dict]:
    """runs.csv and study.json of one profile; a clear error if they are missing or empty."""
    runs_csv, study_json = results_dir / "runs.csv", results_dir / "study.json"
    for p in (runs_csv, study_json):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: run `make results` (scripts/aggregate.py) first")
    runs = pd.read_csv(runs_csv)
    if runs.empty:
        raise ValueError(f"{runs_csv} has no runs: train the study first (`make train`)")
    return runs, json.loads(study_json.read_text())


def stress_rows(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """Long frame with `knob` and `level` columns: each knob's runs, the other knobs at
    baseline. Baseline runs appear once per knob, as the knob's baseline level."""
    parts = []
    for knob, k in study["knobs"].items():
        sel = runs.model == k["model"]
        for other, o in study["knobs"].items():
            if other != knob and o["model"] == k["model"]:
                sel &= runs[o["column"]] == o["baseline"]
        part = runs[sel & runs[k["column"]].isin(k["levels"])].copy()
        part["knob"], part["level"] = knob, part[k["column"]]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def act_order(acts) -> list[str]:
    present = set(acts)
    return [a for a in ACT_ORDER if a in present] + sorted(present - set(ACT_ORDER))


# --- regimes: the study's cells in table order (baseline, stress levels, reference) ----

KNOB_NAMES = {"lr": "Learning rate", "batch_size": "Batch size", "depth": "Depth", "init_bias": "Initial bias"}
KNOB_SHORT = {"lr": "lr", "batch_size": "batch", "depth": "depth", "init_bias": "bias"}
ACT_NAMES = {"relu": "ReLU", "leaky_relu_0.01": "Leaky 0.01", "leaky_relu_0.1": "Leaky 0.1",
             "leaky_relu_0.2": "Leaky 0.2", "leaky_relu_0.3": "Leaky 0.3", "prelu": "PReLU",
             "prelu_shared": "PReLU (shared)"}


def act_name(act: str) -> str:
    """Label for tables and prose: leaky_relu_0.1 -> 'Leaky 0.1'."""
    return ACT_NAMES.get(act, act)


def is_leaky(act: str) -> bool:
    return act.startswith("leaky_relu")


def leaky_slope(act: str) -> float:
    return float(act.rsplit("_", 1)[1])


def regimes(study: dict) -> list[dict]:
    """Every cell of the study once, in table order. A knob with several levels is a stress
    knob: its first level is the shared baseline, its later levels are stress cells, the
    last one the most stressful. A knob with one level (the ResNet) is a reference cell.
    Each dict: key, kind ('baseline' | 'stress' | 'reference'), knob, level, label."""
    knobs = study["knobs"]
    stress = [k for k, v in knobs.items() if len(v["levels"]) > 1]
    out = [{"key": "baseline", "kind": "baseline", "knob": stress[0], "level": knobs[stress[0]]["levels"][0],
            "label": "baseline"}] if stress else []
    for k in stress:
        for level in knobs[k]["levels"][1:]:
            out.append({"key": f"{k}={level:g}", "kind": "stress", "knob": k, "level": level,
                        "label": f"{KNOB_SHORT.get(k, k)} {level:g}"})
    for k, v in knobs.items():
        if len(v["levels"]) == 1:
            level = v["levels"][0]
            label = f"ResNet-{level:g}" if v["model"] == "resnet" else f"{v['model']} {KNOB_SHORT.get(k, k)} {level:g}"
            out.append({"key": k, "kind": "reference", "knob": k, "level": level, "label": label})
    return out


def regime_frame(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """stress_rows with a `regime` column (a key of `regimes`); the shared baseline runs
    appear once, as regime 'baseline'."""
    rows = stress_rows(runs, study)
    parts = [rows[(rows.knob == r["knob"]) & (rows.level == r["level"])].assign(regime=r["key"])
             for r in regimes(study)]
    return pd.concat(parts, ignore_index=True)


# --- formatting shared by the table and number scripts ---------------------------------

TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_escape(text) -> str:
    """Plain text -> LaTeX text: every special character escaped."""
    return "".join(TEX_SPECIALS.get(c, c) for c in str(text))


def pct(x, digits: int = 1) -> str:
    """A fraction as a percentage without the % sign: 0.3549 -> '35.5'; NaN -> 'n/a'."""
    return "n/a" if x is None or np.isnan(x) else f"{100 * x:.{digits}f}"


def pct_signed(x, digits: int = 1) -> str:
    """A difference of fractions in percentage points, signed, for math mode: '+1.2', '-0.5'."""
    return "n/a" if x is None or np.isnan(x) else f"{100 * x:+.{digits}f}"


def pct_ci(mean, low, high, digits: int = 1, unit: str = "") -> str:
    """'35.5 [33.1, 37.0]' (percent); with unit='%': '35.5% [33.1, 37.0]'."""
    return f"{pct(mean, digits)}{unit} [{pct(low, digits)}, {pct(high, digits)}]"


def signed_ci_tex(mean, low, high, digits: int = 1) -> str:
    """'$+1.2$ [$-0.5$, $+2.9$]' (percentage points, proper minus signs)."""
    if np.isnan(mean):
        return "n/a"
    return f"${pct_signed(mean, digits)}$ [${pct_signed(low, digits)}$, ${pct_signed(high, digits)}$]"


def macro_name(*parts) -> str:
    """'relu', 'peak_dead', 'init_bias' -> 'ReluPeakDeadInitBias' (letters only, LaTeX-safe)."""
    words = []
    for p in parts:
        words += [w for w in "".join(c if c.isalpha() else " " for c in str(p)).split()]
    return "".join(w[:1].upper() + w[1:] for w in words)


# --- the six claims of DESIGN.md section 1, decided by pre-declared rules --------------

DEAD_THRESHOLD = 0.30   # claim 1's "large fraction, for example 30%"; also what makes a cell lethal
EQUIV_MARGIN = 0.01     # claim 5's "little difference": |mean paired accuracy difference| below 1 point
RULES = {
    1: "Supported if, in some plain-network cell, the 95% interval of ReLU's mean peak dead ratio lies "
       "entirely at or above {thr}; contradicted if in every plain cell it lies entirely below {thr}; "
       "otherwise inconclusive.",
    2: "Lethal cells are plain cells where ReLU's mean peak dead ratio is at least {thr}. Supported if, in "
       "every lethal cell, every Leaky ReLU variant has a detectably lower end dead ratio than ReLU "
       "(paired by seed) and Leaky ReLU revives a larger share of its ever-dead units than ReLU (pooled "
       "over all finished runs; skipped when Leaky units never died); contradicted if some variant has a "
       "detectably higher end dead ratio in a lethal cell or none is detectably lower; inconclusive "
       "otherwise or without lethal cells.",
    3: "Supported if, in every cell, Leaky ReLU 0.01 is compared (paired by seed) with ReLU and with every "
       "larger Leaky ReLU slope and is never detectably less accurate than any of them; contradicted if it "
       "is detectably less accurate than ReLU in some cell, or than a larger slope in a lethal cell; "
       "otherwise inconclusive.",
    4: "At the deepest plain network: supported if PReLU is detectably more accurate than ReLU, its mean "
       "gain over ReLU is the largest of all depths, and it is not detectably less accurate than the best "
       "other activation; contradicted if it is detectably less accurate than ReLU or than the best other "
       "activation there, or if it helps detectably only at a shallower depth; otherwise inconclusive.",
    5: "Supported if, in the reference network (ResNet), no activation differs detectably from ReLU in "
       "accuracy and every mean paired difference is smaller than {margin}, while every stress knob has "
       "at least one stress cell with a detectable difference; contradicted if at least half of the "
       "activations differ detectably in the ResNet, or no stress cell shows any detectable difference; "
       "otherwise inconclusive.",
    6: "Diagnosis: the Spearman correlation between end dead ratio and final accuracy over ReLU runs of "
       "the plain network, with a 95% bootstrap interval over runs. Cure: in a lethal cell, a Leaky "
       "variant that is detectably more accurate than ReLU and ends with a mean dead ratio below {thr}. "
       "Supported if the correlation's interval lies below zero and the cure holds for more than half of "
       "the (lethal cell, Leaky variant) pairs; contradicted if the interval lies at or above zero, or "
       "lethal cells exist and the cure holds for none; otherwise inconclusive.",
}
CLAIMS = {
    1: ("ReLU units can die; bad initialisation, high learning rates or some data can kill a large "
        "fraction (e.g. 30%) of a network.", "ReLU peak dead ratio per plain cell"),
    2: ("Leaky ReLU passes gradient a for negative inputs, so gradient always flows and dead units can "
        "come back to life.", "Paired end dead ratio vs ReLU in lethal cells; revived / ever-dead units"),
    3: ("a = 0.01 is the common default and works well; 0.1 to 0.3 is more aggressive.",
        "Paired accuracy of Leaky 0.01 vs ReLU and vs larger slopes, every cell"),
    4: ("PReLU learns a (one per channel, initialised to 0.25) and helps most in very deep networks.",
        "Paired accuracy of PReLU vs ReLU per depth and vs the best other activation at the deepest"),
    5: ("For typical networks the choice makes little difference; it matters for deep networks, high "
        "learning rates, small batches and many dead units.",
        "Paired accuracy vs ReLU: ResNet vs each stress knob's cells"),
    6: ("Monitoring activation statistics such as the dead ratio diagnoses the problem; switching to "
        "Leaky ReLU usually solves it.",
        "Spearman correlation of dead ratio and accuracy (ReLU runs); Leaky vs ReLU in lethal cells"),
}


def rule_text(n: int) -> str:
    margin = f"{100 * EQUIV_MARGIN:g} percentage point" + ("" if EQUIV_MARGIN == 0.01 else "s")
    return RULES[n].format(thr=f"{100 * DEAD_THRESHOLD:g}%", margin=margin)


def pct_text(x) -> str:
    """'46.6%' or 'n/a'."""
    return "n/a" if x is None or np.isnan(x) else f"{pct(x)}%"


def _counts(verdicts) -> str:
    v = list(verdicts)
    return f"better in {v.count('better')}, worse in {v.count('worse')} of {len(v)}"


def spearman_ci(x, y, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(rho, low, high): Spearman rank correlation with a percentile bootstrap interval over
    the (x, y) pairs; NaN where it is undefined (fewer than 3 pairs or a constant variable)."""
    d = pd.DataFrame({"x": x, "y": y}).dropna()
    if len(d) < 3 or d.x.nunique() < 2 or d.y.nunique() < 2:
        return (np.nan, np.nan, np.nan)

    def rho(a, b):
        ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
        return np.nan if ra.std() == 0 or rb.std() == 0 else float(np.corrcoef(ra, rb)[0, 1])

    x_, y_ = d.x.to_numpy(), d.y.to_numpy()
    idx = np.random.default_rng(seed).integers(0, len(d), size=(n_boot, len(d)))
    boots = np.array([rho(x_[i], y_[i]) for i in idx])
    boots = boots[~np.isnan(boots)]
    if len(boots) == 0:
        return (rho(x_, y_), np.nan, np.nan)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return (rho(x_, y_), float(lo), float(hi))


def claims(runs: pd.DataFrame, study: dict, layers: pd.DataFrame | None = None) -> list[dict]:
    """The six claims of DESIGN.md section 1, each decided from the data by its rule in
    RULES (printed in the paper), fixed before the study had finished. "Detectably" means
    the paired 95% percentile-bootstrap interval excludes zero (`verdict`). Returns one
    dict per claim: number, claim, test, rule, result, verdict and the numbers behind it."""
    df = regime_frame(runs, study)
    regs = regimes(study)
    plain = [r for r in regs if r["kind"] in ("baseline", "stress")]
    plain_keys = [r["key"] for r in plain]
    label = {r["key"]: r["label"] for r in regs}
    acts = act_order(df.act.unique())
    leaky = [a for a in acts if is_leaky(a)]
    ok = df[df.status == "ok"]
    relu = ok[ok.act == BASELINE_ACT]
    acc = paired_summary(df, "final_test_acc", ["regime"])
    dead = paired_summary(df, "dead_ratio_final", ["regime"], higher_is_better=False)
    out = []

    def add(n, verdict_, result, **numbers):
        out.append({"number": n, "claim": CLAIMS[n][0], "test": CLAIMS[n][1], "rule": rule_text(n),
                    "result": result, "verdict": verdict_, **numbers})

    # 1. ReLU dies
    peak = {k: bootstrap_ci(relu[relu.regime == k].dead_ratio_peak) for k in plain_keys}
    peak = {k: v for k, v in peak.items() if not np.isnan(v[0])}
    if not peak:
        add(1, "inconclusive", "no finished ReLU run in a plain cell")
    else:
        worst = max(peak, key=lambda k: peak[k][0])
        above = [k for k, v in peak.items() if v[0] >= DEAD_THRESHOLD]
        v = ("supported" if any(lo >= DEAD_THRESHOLD for _, lo, _ in peak.values()) else
             "contradicted" if len(peak) == len(plain_keys) and all(hi < DEAD_THRESHOLD for _, _, hi in peak.values())
             else "inconclusive")
        add(1, v, f"ReLU's mean peak dead ratio reaches {pct_ci(*peak[worst], unit='%')} ({label[worst]}); mean at "
                  f"least {100 * DEAD_THRESHOLD:g}% in {len(above)} of {len(peak)} plain cells"
                  + (f" ({', '.join(label[k] for k in above)})" if above else ""),
            max_peak=peak[worst][0], max_peak_cell=label[worst], n_lethal=len(above), n_plain=len(peak))
    lethal = [k for k in plain_keys if k in peak and peak[k][0] >= DEAD_THRESHOLD]

    # 2. Leaky keeps gradient flowing; dead units revive
    d2 = dead[dead.regime.isin(lethal) & dead.act.isin(leaky)]

    def revival(frame):
        ever = frame.ever_dead.sum()
        return frame.revived.sum() / ever if ever > 0 else np.nan

    rev_relu, rev_leaky = revival(ok[ok.act == BASELINE_ACT]), revival(ok[ok.act.isin(leaky)])  # all runs
    rev_text = f"revived / ever-dead: Leaky {pct_text(rev_leaky)}, ReLU {pct_text(rev_relu)}"
    if not lethal or d2.empty:
        add(2, "inconclusive", "no lethal cell with paired Leaky and ReLU runs; " + rev_text,
            revival_relu=rev_relu, revival_leaky=rev_leaky)
    else:
        v2 = list(d2.verdict)
        revives = np.isnan(rev_leaky) or (not np.isnan(rev_relu) and rev_leaky > rev_relu) or \
            (np.isnan(rev_relu) and rev_leaky > 0)
        v = ("supported" if all(x == "better" for x in v2) and len(d2) == len(lethal) * len(leaky) and revives
             else "contradicted" if "worse" in v2 or "better" not in v2 else "inconclusive")
        add(2, v, f"end dead ratio of Leaky vs ReLU in lethal cells: lower in {v2.count('better')}, higher in "
                  f"{v2.count('worse')} of {len(v2)} comparisons (mean {pct_signed(d2['mean'].mean())} points); "
                  + rev_text, n_lower=v2.count("better"), n_comparisons=len(v2),
            revival_relu=rev_relu, revival_leaky=rev_leaky)

    # 3. a = 0.01 works well; larger slopes are more aggressive
    default = "leaky_relu_0.01"
    larger = [a for a in leaky if leaky_slope(a) > 0.01]
    if default not in acts:
        add(3, "inconclusive", "no Leaky ReLU 0.01 runs")
    else:
        vs_relu = acc[acc.act == default]
        vs_larger = paired_summary(df[df.act.isin([default] + larger)], "final_test_acc", ["regime"], default)
        worse_relu = vs_relu[vs_relu.verdict == "worse"]
        beaten = vs_larger[vs_larger.verdict == "better"]  # a larger slope more accurate than 0.01
        complete = larger and len(vs_relu) == len(regs) and len(vs_larger) == len(regs) * len(larger)
        v = ("contradicted" if len(worse_relu) or beaten.regime.isin(lethal).any() else
             "supported" if complete and len(beaten) == 0 else "inconclusive")
        add(3, v, f"Leaky 0.01 vs ReLU: {_counts(vs_relu.verdict)} cells; larger slopes vs 0.01: more "
                  f"accurate in {len(beaten)} of {len(vs_larger)} comparisons"
                  + (f" ({', '.join(act_name(a) + ' at ' + label[k] for k, a in zip(beaten.regime, beaten.act))})"
                     if len(beaten) else ""),
            n_worse_than_relu=len(worse_relu), n_beaten=len(beaten))

    # 4. PReLU helps most in very deep networks
    depth_knob = next((k for k, v in study["knobs"].items() if v["column"] == "depth" and len(v["levels"]) > 1),
                      None)
    slopes = ""
    if layers is not None and "slope_mean" in layers and layers.slope_mean.notna().any():
        s = layers[(layers.act == "prelu") & (layers.status == "ok") & layers.slope_mean.notna()]
        s = s[s.epoch == s.groupby("run_id").epoch.transform("max")]
        if len(s):
            slopes = f"; learned slopes at the end: layer means {s.slope_mean.min():.2f} to {s.slope_mean.max():.2f}"
    if depth_knob is None or "prelu" not in acts:
        add(4, "inconclusive", "no depth sweep with PReLU runs" + slopes)
    else:
        keys = ["baseline"] + [r["key"] for r in regs if r["knob"] == depth_knob and r["kind"] == "stress"]
        deepest = keys[-1]
        pr = acc[(acc.act == "prelu") & acc.regime.isin(keys)].set_index("regime")
        others = ok[(ok.regime == deepest) & ~ok.act.str.startswith("prelu")]
        best = others.groupby("act").final_test_acc.mean().idxmax() if len(others) else None
        if deepest not in pr.index or best is None:
            add(4, "inconclusive", f"no paired PReLU runs at {label[deepest]}" + slopes)
        else:
            vs_best = paired_summary(df[(df.regime == deepest) & df.act.isin(["prelu", best])], "final_test_acc",
                                     ["regime"], best)
            vb = vs_best.verdict.iloc[0] if len(vs_best) else "undecided"
            at = pr.loc[deepest]
            largest = at["mean"] >= pr["mean"].max()
            shallower_only = at.verdict != "better" and (pr.drop(deepest).verdict == "better").any()
            v = ("contradicted" if at.verdict == "worse" or vb == "worse" or shallower_only else
                 "supported" if at.verdict == "better" and largest and vb != "undecided" else "inconclusive")
            add(4, v, f"PReLU - ReLU at {label[deepest]}: {pct_signed(at['mean'])} [{pct_signed(at.low)}, "
                      f"{pct_signed(at.high)}] points "
                      f"({at.verdict}); largest gain of {len(pr)} depths: {'yes' if largest else 'no'}; "
                      f"vs best other ({act_name(best)}): {vb}" + slopes,
                gain_deepest=at["mean"], vs_best=vb)

    # 5. little difference in a typical network, differences under stress
    ref = [r["key"] for r in regs if r["kind"] == "reference"]
    stress_knobs = list(dict.fromkeys(r["knob"] for r in regs if r["kind"] == "stress"))
    ra = acc[acc.regime.isin(ref)]
    stress_keys = [r["key"] for r in regs if r["kind"] == "stress"]
    sa = acc[acc.regime.isin(stress_keys)]
    knob_of = {r["key"]: r["knob"] for r in regs}
    matters = {k: int(((sa.regime.map(knob_of) == k) & (sa.verdict.isin(["better", "worse"]))).sum())
               for k in stress_knobs}
    if ra.empty or sa.empty:
        add(5, "inconclusive", "no paired runs in the reference or the stress cells")
    else:
        differ = ra.verdict.isin(["better", "worse"])
        small = (~differ).all() and (ra["mean"].abs() < EQUIV_MARGIN).all()
        none = sum(matters.values()) == 0 and set(sa.regime) == set(stress_keys)  # every stress cell compared
        v = ("contradicted" if differ.sum() >= len(ra) / 2 or none else
             "supported" if small and all(matters.values()) else "inconclusive")
        add(5, v, f"{', '.join(label[k] for k in ref)}: {int(differ.sum())} of {len(ra)} activations differ "
                  f"detectably, largest |mean difference| {pct(ra['mean'].abs().max())} points; detectable "
                  f"differences per stress knob: "
                  + ", ".join(f"{KNOB_SHORT.get(k, k)} {n}" for k, n in matters.items()),
            ref_max_abs=float(ra["mean"].abs().max()), ref_n_differ=int(differ.sum()))

    # 6. dead ratio diagnoses; Leaky cures
    rr = relu[relu.regime.isin(plain_keys)].drop_duplicates("run_id")
    rho, lo, hi = spearman_ci(rr.dead_ratio_final, rr.final_test_acc)
    end_dead = ok.groupby(["regime", "act"]).dead_ratio_final.mean()
    cured = [(k, a) for k, a, w in zip(acc.regime, acc.act, acc.verdict)
             if k in lethal and a in leaky and w == "better" and end_dead.get((k, a), np.nan) < DEAD_THRESHOLD]
    n_pairs = int((acc.regime.isin(lethal) & acc.act.isin(leaky)).sum())
    diag = f"Spearman rho(dead ratio, accuracy) = {rho:.2f} [{lo:.2f}, {hi:.2f}] over {len(rr)} ReLU runs" \
        if not np.isnan(rho) else f"Spearman rho undefined over {len(rr)} ReLU runs"
    if np.isnan(hi):
        v = "inconclusive"
    else:
        v = ("contradicted" if lo >= 0 or (lethal and n_pairs and not cured) else
             "supported" if hi < 0 and n_pairs and len(cured) > n_pairs / 2 else "inconclusive")
    add(6, v, f"{diag}; Leaky cures {len(cured)} of {n_pairs} (lethal cell, variant) pairs",
        rho=rho, rho_low=lo, rho_high=hi, n_cured=len(cured), n_cure_pairs=n_pairs)
    return out


def generated_main(script: str, make_text, argv=None) -> int:
    """The command line of every table and numbers script: `--results DIR --out FILE`.
    `make_text(results_dir)` returns the LaTeX; a missing or empty results set exits with
    its message and writes nothing."""
    ap = argparse.ArgumentParser(description=f"scripts/{script}.py: write a generated LaTeX file")
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        text = make_text(args.results)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"{script}: {e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"% generated by scripts/{script}.py from {args.results}; do not edit\n" + text)
    return 0
