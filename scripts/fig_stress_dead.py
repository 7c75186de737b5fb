"""Dead units under stress: the fraction of dead units at the end of training (top row)
and at its worst epoch (bottom row), one column per plain-CNN knob, its levels on x with
the baseline first, one line per activation: mean over the seeds that finished, with a
95% bootstrap band. Each diverged run is an x at the bottom of its panel.

    python scripts/fig_stress_dead.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt

from rectifiers import results as R
from rectifiers import style

VALUES = {"dead_ratio_final": "dead units, end", "dead_ratio_peak": "dead units, peak"}


def main(argv=None):
    args = style.parse_args(__doc__, argv)
    res = style.load(args.results, "runs")
    style.setup()
    knobs, rows = style.plain_stress_runs(res)

    fig, axes = plt.subplots(len(VALUES), len(knobs), figsize=(style.DOUBLE, 4.2), sharex="col", sharey=True,
                             layout="constrained")
    diverged = False
    for row, (value, label) in zip(axes, VALUES.items()):
        summary = R.summarise(rows, value, ["knob", "level", "act"])
        for ax, knob in zip(row, knobs):
            diverged |= style.stress_panel(ax, summary, res.study, knob)
        row[0].set_ylabel(label)
    for ax in axes[0]:
        ax.set_xlabel("")
    style.fraction_axis(axes[0, 0])
    style.stress_legend(fig, axes.ravel(), rows, diverged)
    style.save(fig, args.out, "stress_dead", __file__, res.files)
    return fig


if __name__ == "__main__":
    style.run(main)
