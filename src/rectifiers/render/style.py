"""The look of every figure, and only that.

- a seaborn theme for a one-column paper: each figure drawn at the width it is printed at
  (PRINTED), so that its font sizes are those on paper, none below MIN_FONT;
- each activation's colour, marker, line style and display name, from the one activation table
  (rectifiers.activations), and each knob's name, from the knob table (rectifiers.knobs),
  with tick labels of its levels;
- how a summary over seeds is drawn: the mean, and every seed as a point beside it;
- `save`: figures/<name>.pdf and .png, byte-identical on rerun, carrying the script,
  the sha256 of every results file read and the git commit in their metadata.
Reading the results is rectifiers.analysis.results; the command line is rectifiers.render.cli.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rectifiers import activations, knobs, provenance  # noqa: E402
from rectifiers.analysis import results  # noqa: E402
from rectifiers.files import write_atomic  # noqa: E402
from rectifiers.render import latex  # noqa: E402

# --- print size: one place for how wide each figure is printed and its smallest font -----
# The paper's text width, \linewidth (paper/main.tex: A4, 210 mm, margin=2.6cm), in inches, and
# the width each figure is printed at there (its \includegraphics[width=...\linewidth]).
# A figure is drawn at that width, so a font size here is its size on paper; the smallest is
# MIN_FONT. tests/test_legibility.py reads the geometry, the widths and every font of every
# figure from the paper and its PDFs.
TEXTWIDTH = (210 - 2 * 26) / 25.4
MIN_FONT = 7  # points, printed
PRINTED = {"activations": 0.75, "stress_accuracy": 1.0, "stress_dead": 1.0, "resnet": 0.85, "budget": 1.0,
           "dynamics": 1.0, "layer_heatmap": 0.72, "revival": 0.75, "prelu_slopes": 0.5, "power": 1.0,
           "practitioner": 1.0, "tuning": 1.0, "mechanism": 1.0}
SINGLE, DOUBLE = TEXTWIDTH / 2, TEXTWIDTH  # in inches: half the page, the whole page
DPI = 200


def width(name: str) -> float:
    """The width in inches that figure `name` is printed (and so drawn) at."""
    return PRINTED[name] * TEXTWIDTH


DIVERGED_MARKER = "x"
SEED_SIZE = 7        # points (area) of one seed's marker

RC = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": MIN_FONT,
    "ytick.labelsize": MIN_FONT, "legend.fontsize": MIN_FONT, "legend.title_fontsize": MIN_FONT,
    "figure.titlesize": 8,
    "lines.linewidth": 1.2, "lines.markersize": 4, "axes.linewidth": 0.6, "grid.linewidth": 0.4,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "legend.frameon": False,
    "axes.spines.top": False, "axes.spines.right": False,
    # determinism: TrueType fonts (editable, deterministic subsets), fixed hash salt, fixed dpi
    "pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "rectifiers", "svg.fonttype": "none",
    "savefig.dpi": DPI, "figure.dpi": 100,
}


def setup() -> None:
    """Reset matplotlib (ignoring any user matplotlibrc) and apply the paper theme."""
    matplotlib.rcdefaults()
    sns.set_theme(context="paper", style="ticks", palette=[a.colour for a in activations.ACTIVATIONS], rc=RC)


# --- names ------------------------------------------------------------------------------

def colour(act: str) -> str:
    return activations.by_label()[act].colour


def marker(act: str) -> str:
    return activations.by_label()[act].marker


def linestyle(act: str):
    return activations.by_label()[act].linestyle


def knob_label(study: dict, knob: str) -> str:
    """A study knob's axis label: 'learning rate', 'depth (plain CNN)'."""
    k = study["knobs"][knob]
    return knobs.axis_label(k["column"], k["model"])


def level_label(study: dict, knob: str, level, baseline_note: bool = True) -> str:
    text = latex.minus(f"{level:g}", "\u2212")
    return f"{text}\n(baseline)" if baseline_note and level == study["knobs"][knob]["baseline"] else text


def cell_label(study: dict, knob: str, level) -> str:
    """'baseline', or the knob and its level: 'learning rate 0.1', 'depth 20'."""
    if level == study["knobs"][knob]["baseline"]:
        return "baseline"
    return f"{knobs.KNOBS[study['knobs'][knob]['column']].name} {level_label(study, knob, level, False)}"


def acts(df: pd.DataFrame) -> list[str]:
    return activations.ordered(df.act.unique())


# --- drawing ---------------------------------------------------------------------------

def mean_line(ax, x, summary: pd.DataFrame, act: str, **kw):
    """The mean over seeds (column `mean` of results.over_seeds) as a line with markers."""
    (line,) = ax.plot(x, summary["mean"], color=colour(act), marker=marker(act), ls=linestyle(act),
                      label=activations.display(act), **kw)
    return line


def seed_points(ax, x, values, act: str, diverged=None) -> None:
    """Every seed as a small point at x: finished runs as hollow markers of the activation,
    diverged runs as crosses (gid 'diverged:<act>') at the value they count as."""
    x, values = np.asarray(x, dtype=float), np.asarray(values, dtype=float)
    div = np.zeros(len(x), bool) if diverged is None else np.asarray(diverged, bool)
    ax.scatter(x[~div], values[~div], s=SEED_SIZE, marker=marker(act), facecolors="none",
               edgecolors=colour(act), linewidths=0.6, alpha=0.8, zorder=3)
    if div.any():
        ax.scatter(x[div], values[div], s=SEED_SIZE * 2, marker=DIVERGED_MARKER, color=colour(act), lw=1.0,
                   zorder=4, clip_on=False, gid=f"diverged:{act}")


def seed_lines(ax, rows: pd.DataFrame, x: str, value: str, act: str) -> None:
    """Each run of `rows` as a thin line of `value` over `x` (curves over epochs)."""
    for _, g in rows.sort_values(x).groupby("run_id", sort=True):
        ax.plot(g[x], g[value], color=colour(act), lw=0.5, alpha=0.35, zorder=1)


def stress_panel(ax, rows: pd.DataFrame, value: str, study: dict, knob: str) -> bool:
    """One knob of the stress grid (`results.stress_rows`): per activation, the mean of
    `value` over seeds as a line over the knob's levels (baseline first, evenly spaced) and
    each seed as a point beside it, the activations side by side. True if a run diverged."""
    lv = results.levels(study, knob)
    r = rows[rows.knob == knob].copy()
    r["x"] = r.level.map(lambda v: next(i for i, l in enumerate(lv) if np.isclose(v, l)))
    names = acts(r)
    for i, act in enumerate(names):
        a = r[r.act == act]
        s = results.over_seeds(a, value, ["x"]).sort_values("x")
        mean_line(ax, s.x, s, act)
        dodge = (i - (len(names) - 1) / 2) * 0.07  # seeds of each activation in their own column
        seed_points(ax, a.x + dodge, a[value], act, a.status == "diverged")
    ax.set_xticks(range(len(lv)), [level_label(study, knob, v) for v in lv])
    ax.set_xlim(-0.4, len(lv) - 0.6)
    ax.set_xlabel(knob_label(study, knob))
    return bool((r.status == "diverged").any())


def fraction_axis(ax, min_top: float = 0.05) -> None:
    """A y axis of a fraction that cannot be negative (dead units): from 0, in percent."""
    from matplotlib.ticker import PercentFormatter
    top = max(min_top, ax.get_ylim()[1])
    ax.set_ylim(-0.02 * top, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def act_handles(names) -> list:
    from matplotlib.lines import Line2D
    return [Line2D([], [], color=colour(a), marker=marker(a), ls=linestyle(a), label=activations.display(a))
            for a in names]


def stress_legend(fig, rows: pd.DataFrame, diverged: bool, counted_as: str) -> None:
    """The legend of the stress panels: one entry per activation, one for a seed, and one
    for a diverged run with the value it counts as (rectifiers.analysis.tidy.outcomes)."""
    from matplotlib.lines import Line2D
    handles = act_handles(acts(rows))
    handles.append(Line2D([], [], color="0.3", marker="o", markerfacecolor="none", ls="", markersize=3,
                          label="one seed"))
    if diverged:
        handles.append(Line2D([], [], color="0.3", marker=DIVERGED_MARKER, ls="",
                              label=f"diverged (counted as {counted_as})"))
    legend_on_top(fig, handles, ncol=len(acts(rows)))  # activations on the first row, the markers below


def legend_on_top(fig, handles, ncol: int | None = None) -> None:
    """One legend above all panels, read row by row (matplotlib fills columns first)."""
    if not handles:  # nothing drawn yet (a small study): no legend
        return
    ncol = min(ncol or len(handles), len(handles))
    by_row = [h for c in range(ncol) for h in handles[c::ncol]]
    fig.legend(handles=by_row, loc="outside upper center", ncol=ncol, handlelength=2.4, columnspacing=1.0)


# --- writing ---------------------------------------------------------------------------

# What shapes a figure besides its script: the folders whose modules a figure script may load
# (the root vocabulary, analysis/ and render/: a test checks that it loads no other) and the
# claim constants (chance accuracy, what a diverged run is) with the stress levels of their
# design. Git pathspecs, from ROOT.
DRAWING_FOLDERS = ("src/rectifiers", "src/rectifiers/analysis", "src/rectifiers/render")
DRAWING_CODE = (*(f":(glob){folder}/*.py" for folder in DRAWING_FOLDERS), "conf/claims.yaml", "conf/levels.yaml")


def drawing_commit(script) -> str:
    """The last commit that changed the drawing code (the script and DRAWING_CODE)."""
    return provenance.last_commit([Path(script).resolve(), *DRAWING_CODE])


def save(fig, out_dir, name: str, script, inputs) -> list[Path]:
    """Write <out_dir>/<name>.pdf (vector) and .png (DPI) deterministically, each replaced
    atomically, with the provenance (script, git commit, sha256 of `inputs`) as metadata."""
    prov = provenance.made_by(script, drawing_commit(script), inputs)
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
        write_atomic(path, write=lambda tmp: fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta[fmt]))
        written.append(path)
    return written
