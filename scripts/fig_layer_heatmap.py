"""Where and when units die: the dead-unit fraction of every layer (rows, input at the
top) after every epoch (columns; 0 = initialisation), ReLU beside Leaky ReLU 0.01, in
the deadliest cell of the study (the knob level with the highest mean ReLU peak dead
ratio), mean over the seeds that finished. Both panels share one colour scale.

    python scripts/fig_layer_heatmap.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import PercentFormatter

from rectifiers import activations
from rectifiers.analysis import results
from rectifiers.render import cli, style

ACTS = ("relu", "leaky_relu_0.01")
ANNOTATE_UP_TO = 12  # layers or epochs; beyond that the cells are too small to print values in


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs", "layers")
    style.setup()
    deadliest = results.require(results.deadliest_levels(res.runs, res.study), "ReLU runs of the plain CNN", res)
    knob = deadliest.relu_peak.idxmax()
    level = deadliest.level[knob]
    layers = results.stress_rows(res.layers, res.study, results.grid_budget(res.runs))
    cell = layers[(layers.knob == knob) & (layers.level == level) & (layers.status == "ok")]

    fig, axes = plt.subplots(1, len(ACTS) + 1, figsize=(style.width("layer_heatmap"), 2.6), layout="constrained",
                             gridspec_kw={"width_ratios": [1] * len(ACTS) + [0.05]})
    for ax, act in zip(axes, ACTS):
        runs = results.require(cell[cell.act == act], f"finished {activations.display(act)} runs at {knob}={level:g}",
                               res)
        grid = runs.pivot_table(index="layer", columns="epoch", values="dead_ratio", aggfunc="mean")
        grid.index = grid.index + 1
        sns.heatmap(grid, ax=ax, vmin=0, vmax=1, cmap="viridis", cbar_ax=axes[-1],
                    annot=max(grid.shape) <= ANNOTATE_UP_TO, fmt=".0%", annot_kws={"fontsize": style.MIN_FONT},
                    cbar_kws={"format": PercentFormatter(1.0, decimals=0), "label": "dead units"})
        ax.set_title(f"{activations.display(act)} (mean of {runs.run_id.nunique()} seeds)", color=style.colour(act))
        ax.set_xlabel("epoch")
        ax.set_ylabel("")
        ax.tick_params(axis="y", rotation=0)
    axes[0].set_ylabel("layer (input \u2192 output)")
    fig.suptitle(f"{style.knob_label(res.study, knob)} = {style.level_label(res.study, knob, level, False)}, "
                 f"plain CNN of depth {int(cell.depth.iloc[0])}")
    style.save(fig, args.out, "layer_heatmap", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
