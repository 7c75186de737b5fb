"""The one look of every figure, and the plumbing every figure script shares.

- a seaborn theme for a one-column paper: 3.4 in single panels, 7 in page-wide
  figures, no font below 7 pt;
- ONE fixed colour (and marker) per activation label, `ACT_COLORS` / `ACT_MARKERS`,
  from the colourblind-safe Okabe-Ito palette, with display names `ACT_NAMES`;
- display names of the stress knobs, `KNOB_NAMES`, and tick labels of their levels;
- the command line every script takes (`--results DIR --out DIR`);
- `load`: the results files a figure reads, with a clear error (and no figure) when
  one is missing or empty;
- `save`: figures/<name>.pdf and .png, byte-identical on rerun, carrying the script,
  the sha256 of every results file read and the git commit in their metadata.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rectifiers import results as R  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SINGLE, DOUBLE = 3.4, 7.0  # figure widths in inches: one column, the whole page
DPI = 200

# Okabe & Ito (2008), safe for all common colour-vision deficiencies. ReLU, the
# reference, is black; yellow is left out (too faint on white).
ACT_COLORS = {
    "relu": "#000000",
    "leaky_relu_0.01": "#0072B2",
    "leaky_relu_0.1": "#56B4E9",
    "leaky_relu_0.2": "#009E73",
    "leaky_relu_0.3": "#E69F00",
    "prelu": "#D55E00",
    "prelu_shared": "#CC79A7",
}
ACT_MARKERS = {"relu": "o", "leaky_relu_0.01": "s", "leaky_relu_0.1": "^", "leaky_relu_0.2": "v",
               "leaky_relu_0.3": "D", "prelu": "P", "prelu_shared": "h"}
ACT_NAMES = R.ACT_NAMES  # one source of display names, shared with the tables
KNOB_NAMES = {"lr": "learning rate", "batch_size": "batch size", "depth": "depth (plain CNN)",
              "init_bias": "initial bias", "resnet": "depth (ResNet)"}
DIVERGED_MARKER = "x"
FILES = {"runs": "runs.csv", "epochs": "epochs.csv", "layers": "layers.csv"}

RC = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 7, "legend.title_fontsize": 7, "figure.titlesize": 8,
    "lines.linewidth": 1.2, "lines.markersize": 4, "axes.linewidth": 0.6, "grid.linewidth": 0.4,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "legend.frameon": False,
    "axes.spines.top": False, "axes.spines.right": False,
    # determinism: TrueType fonts (editable, deterministic subsets), fixed hash salt, fixed dpi
    "pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "rectifiers", "svg.fonttype": "none",
    "savefig.dpi": DPI, "figure.dpi": 100,
}


class ResultsError(RuntimeError):
    """The results a figure needs are missing, empty or incomplete."""


def setup() -> None:
    """Reset matplotlib (ignoring any user matplotlibrc) and apply the paper theme."""
    matplotlib.rcdefaults()
    sns.set_theme(context="paper", style="ticks", palette=list(ACT_COLORS.values()), rc=RC)


def parse_args(doc: str, argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(doc or "").strip().split("\n")[0])
    ap.add_argument("--results", type=Path, required=True, help="results/<profile> (made by `make results`)")
    ap.add_argument("--out", type=Path, default=Path("figures"), help="folder for <name>.pdf and <name>.png")
    return ap.parse_args(argv)


def run(main) -> None:
    """Entry point of a figure script: a results problem ends with a clear message and
    exit status 1, not a traceback (and never with an empty figure)."""
    script = Path(sys.argv[0]).name
    try:
        main(sys.argv[1:])
    except ResultsError as e:
        sys.exit(f"{script}: error: {e}")


# --- reading the results ---------------------------------------------------------------

@dataclass
class Results:
    dir: Path
    study: dict
    runs: pd.DataFrame | None = None
    epochs: pd.DataFrame | None = None
    layers: pd.DataFrame | None = None
    files: list[Path] = field(default_factory=list)  # every file read, for the provenance


def load(results_dir: Path, *tables: str) -> Results:
    """study.json and the named tables ("runs", "epochs", "layers") of results_dir."""
    results_dir = Path(results_dir)
    paths = [results_dir / "study.json"] + [results_dir / FILES[t] for t in tables]
    fix = f"run `make results` (scripts/aggregate.py --profile <profile>) to write {results_dir}/"
    for p in paths:
        if not p.is_file():
            raise ResultsError(f"{p} is missing: {fix}")
        if p.stat().st_size == 0:
            raise ResultsError(f"{p} is empty: {fix}")
    res = Results(dir=results_dir, study=json.loads(paths[0].read_text()), files=paths)
    missing = len(res.study.get("missing", []))
    if missing:
        print(f"warning: {missing} of {res.study.get('cells', '?')} cells of the study have no finished run "
              f"(listed in {paths[0]}); the figure shows the runs there are", file=sys.stderr)
    for t in tables:
        df = pd.read_csv(results_dir / FILES[t])
        if df.empty:
            raise ResultsError(f"{results_dir / FILES[t]} has a header but no rows: train the study "
                               f"(`make train`), then {fix}")
        unknown = set(df.act) - set(ACT_COLORS)
        if unknown:
            raise ResultsError(f"activation(s) {sorted(unknown)} have no colour: add them to "
                               "rectifiers.style.ACT_COLORS and ACT_NAMES")
        setattr(res, t, df)
    return res


def require(df: pd.DataFrame, what: str, res: Results) -> pd.DataFrame:
    """`df` if it has rows; otherwise the figure cannot be drawn: say what is missing."""
    if df.empty:
        raise ResultsError(f"no {what} in {res.dir}/: that part of the study has not finished; "
                           "train it (`make train`) and run `make results`")
    return df


# --- the study's layout ----------------------------------------------------------------

def plain_knobs(study: dict) -> list[str]:
    """The plain-CNN stress knobs, in study.json order (lr, batch_size, depth, init_bias)."""
    return [k for k, v in study["knobs"].items() if v["model"] == "plain"]


def levels(study: dict, knob: str) -> list:
    """A knob's levels in study.json order, the baseline first."""
    k = study["knobs"][knob]
    return [k["baseline"]] + [lv for lv in k["levels"] if lv != k["baseline"]]


def level_label(study: dict, knob: str, level, baseline_note: bool = True) -> str:
    text = f"{level:g}".replace("-", "\u2212")
    return f"{text}\n(baseline)" if baseline_note and level == study["knobs"][knob]["baseline"] else text


def regime_label(study: dict, knob: str, level) -> str:
    if level == study["knobs"][knob]["baseline"]:
        return "baseline"
    return f"{KNOB_NAMES[knob].replace(' (plain CNN)', '')} {level_label(study, knob, level, False)}"


def acts(df: pd.DataFrame) -> list[str]:
    return R.act_order(df.act.unique())


def most_lethal(runs: pd.DataFrame, study: dict) -> pd.DataFrame:
    """Per plain knob: the level with the highest mean ReLU peak dead ratio (`level`) and
    that mean (`relu_peak`). Knobs without ReLU runs are left out."""
    rows = R.stress_rows(runs, study)
    relu = rows[(rows.act == R.BASELINE_ACT) & rows.knob.isin(plain_knobs(study))]
    peak = relu.groupby(["knob", "level"], sort=False).dead_ratio_peak.mean().dropna()
    if peak.empty:
        return pd.DataFrame(columns=["level", "relu_peak"])
    best = peak.groupby(level="knob", sort=False).idxmax()
    return pd.DataFrame({"level": [lv for _, lv in best], "relu_peak": peak[best.tolist()].to_numpy()},
                        index=pd.Index(best.index, name="knob"))


def final_epoch(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of each run's last measurement."""
    return df[df.epoch == df.groupby("run_id").epoch.transform("max")]


# --- drawing ---------------------------------------------------------------------------

def band(ax, x, summary: pd.DataFrame, act: str, **kw):
    """Mean line with its 95% bootstrap band (columns mean, low, high of results.summarise)."""
    (line,) = ax.plot(x, summary["mean"], color=ACT_COLORS[act], marker=ACT_MARKERS[act],
                      label=ACT_NAMES[act], **kw)
    ax.fill_between(x, summary["low"], summary["high"], color=ACT_COLORS[act], alpha=0.15, lw=0)
    return line


def plain_stress_runs(res: Results) -> tuple[list[str], pd.DataFrame]:
    """The plain-CNN stress knobs and the stress rows of their runs."""
    knobs = plain_knobs(res.study)
    return knobs, require(R.stress_rows(res.runs, res.study).query("knob in @knobs"), "plain-CNN runs", res)


def stress_panel(ax, summary: pd.DataFrame, study: dict, knob: str) -> bool:
    """One knob of a `results.summarise(stress_rows, value, ["knob", "level", "act"])`
    table: one line per activation over the knob's levels (baseline first, evenly spaced),
    and one x per diverged run at the bottom of the panel. True if any run diverged."""
    lv = levels(study, knob)
    s = summary[summary.knob == knob].copy()
    s["x"] = s.level.map(lambda v: next(i for i, l in enumerate(lv) if np.isclose(v, l)))
    s = s.sort_values("x")
    for act in acts(s):
        band(ax, s[s.act == act].x, s[s.act == act], act)
    trans = ax.get_xaxis_transform()  # x in data, y in axes fraction
    div = s[s.n_diverged > 0]
    for x, g in div.groupby("x"):
        offsets = (np.arange(len(g)) - (len(g) - 1) / 2) * 0.11
        for dx, (_, row) in zip(offsets, g.sort_values("act", key=lambda a: a.map(R.ACT_ORDER.index)).iterrows()):
            k = int(row.n_diverged)
            ax.scatter([x + dx] * k, 0.04 + np.arange(k) * min(0.045, 0.14 / k), transform=trans,
                       marker=DIVERGED_MARKER, color=ACT_COLORS[row.act], s=14, lw=1.0, clip_on=False,
                       gid=f"diverged:{row.act}")
    ax.set_xticks(range(len(lv)), [level_label(study, knob, v) for v in lv])
    ax.set_xlim(-0.4, len(lv) - 0.6)
    ax.set_xlabel(KNOB_NAMES[knob])
    return not div.empty


def fraction_axis(ax, min_top: float = 0.05) -> None:
    """A y axis of a fraction that cannot be negative (dead units): from 0, in percent."""
    from matplotlib.ticker import PercentFormatter
    top = max(min_top, ax.get_ylim()[1])
    ax.set_ylim(-0.02 * top, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def room_below(axes, fraction: float = 0.2) -> None:
    """Extend the (shared) y axis downwards so the bottom `fraction` of each panel holds
    no data: a grey strip, without y ticks, for the diverged-run markers."""
    from matplotlib.patches import Rectangle
    axes = np.atleast_1d(axes)
    lo, hi = axes[0].get_ylim()
    ticks = [t for t in axes[0].get_yticks() if lo <= t <= hi]
    axes[0].set_ylim(lo - fraction / (1 - fraction) * (hi - lo), hi)
    axes[0].set_yticks(ticks)
    for ax in axes:
        ax.add_patch(Rectangle((0, 0), 1, fraction, transform=ax.transAxes, color="0.93", lw=0, zorder=0))


def act_handles(names) -> list:
    from matplotlib.lines import Line2D
    return [Line2D([], [], color=ACT_COLORS[a], marker=ACT_MARKERS[a], label=ACT_NAMES[a]) for a in names]


def stress_legend(fig, axes, rows: pd.DataFrame, diverged: bool) -> None:
    """The legend of the stress panels: one entry per activation, and, if any run diverged, a
    strip at the bottom of every panel for its x markers and an entry for them."""
    from matplotlib.lines import Line2D
    handles = act_handles(acts(rows))
    if diverged:
        room_below(axes)
        handles.append(Line2D([], [], color="0.3", marker=DIVERGED_MARKER, ls="", label="a diverged run"))
    legend_on_top(fig, handles)


def legend_on_top(fig, handles, ncol: int | None = None) -> None:
    """One legend above all panels, read row by row (matplotlib fills columns first)."""
    ncol = min(ncol or len(handles), len(handles))
    by_row = [h for c in range(ncol) for h in handles[c::ncol]]
    fig.legend(handles=by_row, loc="outside upper center", ncol=ncol, handlelength=1.6, columnspacing=1.0)


# --- writing ---------------------------------------------------------------------------

def git_commit(script) -> str:
    """The last commit that changed the drawing code (the script, this module, results.py):
    unlike HEAD it stays the same across unrelated commits, so a rebuilt figure is the same file."""
    code = [str(Path(script).resolve()), __file__, R.__file__]
    try:
        return subprocess.run(["git", "log", "-1", "--format=%H", "--", *code], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip() or "uncommitted"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _shown(path: Path) -> str:
    path = Path(os.path.abspath(path))
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def provenance(script, inputs) -> dict:
    return {"script": _shown(Path(script)), "git": git_commit(script),
            "inputs": {_shown(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in inputs}}


def save(fig, out_dir, name: str, script, inputs) -> list[Path]:
    """Write <out_dir>/<name>.pdf (vector) and .png (DPI) deterministically, each replaced
    atomically, with the provenance (script, git commit, sha256 of `inputs`) as metadata."""
    prov = provenance(script, inputs)
    files = "; ".join(f"{p} sha256={h}" for p, h in prov["inputs"].items())
    text = f"script={prov['script']}; git={prov['git']}; inputs: {files}"
    meta = {
        "pdf": {"Title": name, "Creator": f"{prov['script']} (git {prov['git']})",
                "Subject": f"made by {prov['script']} at git {prov['git']} from {files}", "Keywords": text,
                "Producer": f"matplotlib {matplotlib.__version__}", "CreationDate": None, "ModDate": None},
        "png": {"Software": None, "Title": name, "Source": prov["script"], "Description": text},
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("pdf", "png"):
        path = out_dir / f"{name}.{fmt}"
        tmp = out_dir / f".{name}.{fmt}.tmp"
        try:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta[fmt])
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(path)
    return written
