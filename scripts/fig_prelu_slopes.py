"""What slope does PReLU learn? The learned negative slope a of every rectifier layer of
the plain CNN at the end of training (channel-wise PReLU, initialised to 0.25), against
the layer's depth, at the baseline and in the deadliest level of each knob: mean over
channels and finished seeds (line), min to max over channels and seeds (band); a cell
without a finished PReLU run (at the deadliest learning rate every one diverged) is named
in the legend, with why, as a cross. For
reference, He et al. (2015, Table 1 and section 2.2) report for their channel-wise ImageNet
model a mean a of 0.596 in conv1 (the star), and that deeper conv layers in general learn
smaller coefficients. Their channel-shared column (0.681 in conv1) is not comparable: this
study's PReLU is channel-wise.

    python scripts/fig_prelu_slopes.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rectifiers.analysis import results
from rectifiers.render import cli, style

INIT = 0.25
HE_CONV1 = 0.596  # He et al. 2015, Table 1, channel-wise column (mean over channels), conv1
MARKERS = ("o", "s", "^", "D", "v", "P")
LINES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 2)))


def draw_cells(ax, prelu, cells, study) -> list[tuple]:
    """Per cell with finished PReLU runs, the mean slope per layer (line) and its range
    (band), in a shade of PReLU's colour, told apart by marker and line style. Returns the
    cells without any: (knob, level)."""
    colors = sns.blend_palette(["#2B0E00", style.colour("prelu"), "#F2A66E"], len(cells))
    shown, missing = set(), []
    for (knob, level), color, marker, ls in zip(cells, colors, MARKERS, LINES):
        label = style.cell_label(study, knob, level)
        cell = prelu[(prelu.knob == knob) & (prelu.level == level)]
        if cell.empty:
            missing.append((knob, level))
        if label in shown or cell.empty:
            continue
        shown.add(label)
        s = cell.groupby("layer").agg(mean=("slope_mean", "mean"), low=("slope_min", "min"),
                                      high=("slope_max", "max"))
        x = s.index + 1
        ax.plot(x, s["mean"], color=color, marker=marker, ls=ls, markersize=3,
                label=f"{label} (n={cell.run_id.nunique()})")
        ax.fill_between(x, s["low"], s["high"], color=color, alpha=0.12, lw=0)
    return missing


def not_shown(runs, missing, study) -> list[Line2D]:
    """A legend entry for each cell without a finished PReLU run, saying why: its PReLU runs
    diverged (a cross, as in the stress figures), or none finished."""
    handles = []
    for knob, level in missing:
        r = runs[(runs.knob == knob) & (runs.level == level) & (runs.act == "prelu")]
        n, diverged = len(r), int((r.status == "diverged").sum())
        why = f"all {n} diverged" if n and diverged == n else f"{diverged} of {n} diverged, none finished"
        handles.append(Line2D([], [], ls="", marker=style.DIVERGED_MARKER, color=style.colour("prelu"),
                              label=f"{style.cell_label(study, knob, level)}:\n{why}, not shown"))
    return handles


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs", "layers")
    style.setup()
    deadliest = results.deadliest_levels(res.runs, res.study)
    first = results.plain_knobs(res.study)[0]
    cells = [(first, res.study["knobs"][first]["baseline"])] + list(deadliest.level.items())
    budget = results.grid_budget(res.runs)
    layers = results.stress_rows(res.layers, res.study, budget)
    prelu = results.final_epoch(layers[(layers.act == "prelu") & (layers.status == "ok")])

    fig, ax = plt.subplots(figsize=(style.width("prelu_slopes"), 3.6), layout="constrained")
    missing = draw_cells(ax, prelu, cells, res.study)
    if len(missing) == len(cells):
        results.require(pd.DataFrame(), "finished PReLU runs of the plain CNN", res)
    ax.axhline(INIT, color="0.5", lw=0.6, ls=":")
    ax.annotate("init 0.25", (1, INIT), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                fontsize=style.MIN_FONT, color="0.4")
    ax.plot([1], [HE_CONV1], ls="", marker="*", markersize=8, color="0.3")
    ax.annotate(f"He et al. 2015, ImageNet,\nchannel-wise: conv1 {HE_CONV1}", (1, HE_CONV1), xytext=(7, 0),
                textcoords="offset points", va="center", fontsize=style.MIN_FONT, color="0.3")
    ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
    ax.set(xlabel="layer (input \u2192 output)", ylabel="learned slope $a$ (end of training)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [line for line in ax.get_lines() if " (n=" in line.get_label()] + not_shown(
        results.stress_rows(res.runs, res.study, budget), missing, res.study)
    fig.legend(handles=handles, loc="outside lower center", ncol=2, handlelength=2.6, columnspacing=1.0)
    style.save(fig, args.out, "prelu_slopes", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
