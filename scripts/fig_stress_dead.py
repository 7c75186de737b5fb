"""Dead units under stress: the fraction of dead units at the end of training (top row)
and at its worst epoch (bottom row), one column per plain-CNN knob, its levels on x with
the baseline first, one line per activation: the mean over all its seeds, each seed a
point beside it. A diverged run is a cross at 100%, the value it counts as in the mean
(rectifiers.analysis.tidy.outcomes: with non-finite activations no unit is ever positive).

    python scripts/fig_stress_dead.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt

from rectifiers.analysis import results
from rectifiers.render import cli, style

VALUES = {"dead_final": "dead units, end", "dead_peak": "dead units, peak"}


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs")
    style.setup()
    knobs = results.plain_knobs(res.study)
    rows = results.require(results.stress_rows(res.runs, res.study, results.grid_budget(res.runs))
                           .query("knob in @knobs"), "plain-CNN runs", res)

    fig, axes = plt.subplots(len(VALUES), len(knobs), figsize=(style.width("stress_dead"), 4.4), sharex="col",
                             sharey=True, layout="constrained")
    diverged = False
    for row, (value, label) in zip(axes, VALUES.items()):
        for ax, knob in zip(row, knobs):
            diverged |= style.stress_panel(ax, rows, value, res.study, knob)
        row[0].set_ylabel(label)
    for ax in axes[0]:
        ax.set_xlabel("")
    style.fraction_axis(axes[0, 0])
    style.stress_legend(fig, rows, diverged, "all dead")
    style.save(fig, args.out, "stress_dead", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
