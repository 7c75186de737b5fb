"""Dead units over training, in the deadliest level of each plain-CNN knob (the level
with the highest mean ReLU peak dead ratio): the network's dead-unit fraction at
initialisation (epoch 0) and after every epoch, one line per activation: the mean over the
seeds that finished, each seed a thin line of the same colour. Runs that diverged have no
dead ratio after their divergence: they are counted under the panel.

    python scripts/fig_dynamics.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from rectifiers import activations
from rectifiers.analysis import results
from rectifiers.render import cli, style


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs", "epochs")
    style.setup()
    deadliest = results.require(results.deadliest_levels(res.runs, res.study), "ReLU runs of the plain CNN", res)
    epochs = results.stress_rows(res.epochs, res.study, results.grid_budget(res.runs))

    fig, axes = plt.subplots(1, len(deadliest), figsize=(style.width("dynamics"), 2.6), sharey=True,
                             layout="constrained", squeeze=False)
    for ax, (knob, level) in zip(axes[0], deadliest.level.items()):
        cell = epochs[(epochs.knob == knob) & (epochs.level == level)]
        summary = results.over_seeds(cell, "dead_ratio", ["act", "epoch"])
        for act in style.acts(summary):
            s = summary[summary.act == act]
            style.mean_line(ax, s.epoch, s, act, markersize=3)
            style.seed_lines(ax, cell[cell.act == act], "epoch", "dead_ratio", act)
        ax.set_title(f"{style.knob_label(res.study, knob)} = {style.level_label(res.study, knob, level, False)}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        # runs that diverged are named under the panel, so no curve hides the note; one
        # activation a line, so that no note runs into the next panel's
        diverged = summary.groupby("act")[["n_diverged", "n"]].max().query("n_diverged > 0")
        notes = [f"{activations.display(a)} {diverged.n_diverged[a]}/{diverged.n[a]}"
                 for a in activations.ordered(diverged.index)]
        ax.set_xlabel("\n".join(["epoch"] + (["diverged, not shown:"] + notes if notes else [])),
                      linespacing=1.3)
    axes[0, 0].set_ylabel("dead units")
    style.fraction_axis(axes[0, 0])
    style.legend_on_top(fig, style.act_handles(style.acts(epochs)))
    style.save(fig, args.out, "dynamics", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
