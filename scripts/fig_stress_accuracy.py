"""Final test accuracy under stress: one panel per plain-CNN knob (learning rate, batch
size, depth, initial bias), its levels on x with the baseline first, one line per
activation: mean over the seeds that finished, with a 95% bootstrap band. Each diverged
run is an x at the bottom of its panel, in its activation's colour (not in the mean).

    python scripts/fig_stress_accuracy.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

from rectifiers import results as R
from rectifiers import style

CHANCE = 0.1  # CIFAR-10 has ten classes


def main(argv=None):
    args = style.parse_args(__doc__, argv)
    res = style.load(args.results, "runs")
    style.setup()
    knobs, rows = style.plain_stress_runs(res)
    summary = R.summarise(rows, "final_test_acc", ["knob", "level", "act"])

    fig, axes = plt.subplots(1, len(knobs), figsize=(style.DOUBLE, 2.3), sharey=True, layout="constrained")
    diverged = [style.stress_panel(ax, summary, res.study, knob) for ax, knob in zip(axes, knobs)]
    axes[0].set_ylabel("final test accuracy")
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    for ax in axes:
        ax.axhline(CHANCE, color="0.5", lw=0.6, ls=":")
    axes[0].annotate("chance", (0.02, CHANCE), xycoords=("axes fraction", "data"), ha="left", va="bottom",
                      fontsize=7, color="0.4")
    style.stress_legend(fig, axes, rows, any(diverged))
    style.save(fig, args.out, "stress_accuracy", __file__, res.files)
    return fig


if __name__ == "__main__":
    style.run(main)
