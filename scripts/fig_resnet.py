"""Does the activation matter with BatchNorm and skip connections? Test accuracy of the
CIFAR ResNet (at the study's baseline depth, 20) after every epoch, one line per
activation: the mean over the seeds that finished, each seed a thin line of the same
colour. Runs that diverged are counted in the panel.

    python scripts/fig_resnet.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator, PercentFormatter

from rectifiers import activations, cli, results, style

KNOB = "resnet"


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs", "epochs")
    style.setup()
    if KNOB not in res.study["knobs"]:
        raise results.ResultsError(f"{res.dir}/study.json has no '{KNOB}' study")
    depth = res.study["knobs"][KNOB]["baseline"]
    epochs = results.stress_rows(res.epochs, res.study, results.grid_budget(res.runs))
    cell = results.require(epochs[(epochs.knob == KNOB) & (epochs.level == depth)], f"ResNet-{depth} runs", res)
    summary = results.over_seeds(cell, "test_acc", ["act", "epoch"])

    fig, ax = plt.subplots(figsize=(style.SINGLE, 2.8), layout="constrained")
    for act in style.acts(summary):
        style.mean_line(ax, summary[summary.act == act].epoch, summary[summary.act == act], act, markersize=3)
        style.seed_lines(ax, cell[cell.act == act], "epoch", "test_acc", act)
    diverged = summary.groupby("act", sort=False)[["n_diverged", "n"]].max().query("n_diverged > 0")
    if len(diverged):
        ax.text(0.03, 0.97, "diverged, not shown:\n" + "\n".join(
            f"{activations.display(a)} {d.n_diverged}/{d.n}" for a, d in diverged.iterrows()),
            transform=ax.transAxes, va="top", fontsize=7, color="0.3")
    ax.set(xlabel="epoch", ylabel=f"test accuracy, ResNet-{depth}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    style.legend_on_top(fig, style.act_handles(style.acts(summary)), ncol=3)
    style.save(fig, args.out, "resnet", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
