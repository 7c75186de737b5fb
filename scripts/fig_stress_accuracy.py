"""Final test accuracy under stress: one panel per plain-CNN knob (learning rate, batch
size, depth, initial bias), its levels on x with the baseline first, one line per
activation: the mean over all its seeds, each seed a point beside it. A diverged run is a
cross at chance accuracy, the value it counts as in the mean (rectifiers.analysis.tidy.outcomes).

    python scripts/fig_stress_accuracy.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

from rectifiers.analysis import results
from rectifiers.analysis.rules import RULES
from rectifiers.render import cli, style


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs")
    style.setup()
    knobs = results.plain_knobs(res.study)
    rows = results.require(results.stress_rows(res.runs, res.study, results.grid_budget(res.runs))
                           .query("knob in @knobs"), "plain-CNN runs", res)

    fig, axes = plt.subplots(1, len(knobs), figsize=(style.width("stress_accuracy"), 2.5), sharey=True,
                             layout="constrained")
    diverged = [style.stress_panel(ax, rows, "acc", res.study, knob) for ax, knob in zip(axes, knobs)]
    axes[0].set_ylabel("final test accuracy")
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    chance = RULES.chance_accuracy
    for ax in axes:
        ax.axhline(chance, color="0.5", lw=0.6, ls=":")
    axes[0].annotate("chance", (0.02, chance), xycoords=("axes fraction", "data"), ha="left", va="bottom",
                     fontsize=style.MIN_FONT, color="0.4")
    style.stress_legend(fig, rows, any(diverged), "chance")
    style.save(fig, args.out, "stress_accuracy", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
