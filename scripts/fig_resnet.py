"""Does the activation matter with BatchNorm and skip connections? Test accuracy of the
CIFAR ResNet (at the study's baseline depth, 20) after every epoch, one line per
activation, in two panels: left, the stress grid's budget (the `resnet` study: 5,000
images); right, the trained ResNet (the `resnet_trained` study: all training images, the
network claim 5's "typical network" is decided on). In each, the mean over the seeds that
finished, each seed a thin line of the same colour. Runs that diverged are counted in the
panel; a budget whose runs are not yet trained is left empty and says so.

    python scripts/fig_resnet.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator, PercentFormatter

from rectifiers import activations
from rectifiers.analysis import results
from rectifiers.render import cli, style

KNOB = "resnet"


def panel(ax, cell, title: str) -> list[str]:
    """Mean and seed curves of test accuracy over epochs for every activation of `cell`
    (rows of epochs.csv); the activations drawn."""
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    if cell.empty:
        ax.text(0.5, 0.5, "not yet trained", transform=ax.transAxes, ha="center", va="center", color="0.3")
        return []
    summary = results.over_seeds(cell, "test_acc", ["act", "epoch"])
    names = style.acts(summary)
    for act in names:
        style.mean_line(ax, summary[summary.act == act].epoch, summary[summary.act == act], act, markersize=3)
        style.seed_lines(ax, cell[cell.act == act], "epoch", "test_acc", act)
    diverged = summary.groupby("act", sort=False)[["n_diverged", "n"]].max().query("n_diverged > 0")
    if len(diverged):
        ax.text(0.03, 0.97, "diverged, not shown:\n" + "\n".join(
            f"{activations.display(a)} {d.n_diverged}/{d.n}" for a, d in diverged.iterrows()),
            transform=ax.transAxes, va="top", fontsize=style.MIN_FONT, color="0.3")
    return names


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs", "epochs")
    style.setup()
    if KNOB not in res.study["knobs"]:
        raise results.ResultsError(f"{res.dir}/study.json has no '{KNOB}' study")
    depth = res.study["knobs"][KNOB]["baseline"]
    epochs = results.stress_rows(res.epochs, res.study, results.grid_budget(res.runs))
    grid = results.require(epochs[(epochs.knob == KNOB) & (epochs.level == depth)], f"ResNet-{depth} runs", res)
    t = res.tidy()  # the trained ResNet: the runs rectifiers.analysis.tidy puts at scale 'trained' (claim 5's network)
    trained_runs = t[(t.scale == "trained") & (t.cell == f"resnet{depth:g}")]
    trained = res.epochs[res.epochs.run_id.isin(trained_runs.run_id)]
    grid_images = int(res.runs[res.runs.run_id.isin(grid.run_id)].train_size.iloc[0])
    n = trained_runs.train_size.max() if len(trained_runs) else None  # NaN (an empty train_size): every image
    trained_images = f"{int(n):,} " if n == n and n else ""

    fig, axes = plt.subplots(1, 2, figsize=(style.width("resnet"), 2.6), sharey=True, layout="constrained")
    names = panel(axes[0], grid, f"stress grid's budget: {grid_images:,} images")
    names += panel(axes[1], trained, f"trained: all {trained_images}images")
    axes[0].set_ylabel(f"test accuracy, ResNet-{depth:g}")
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    shown = activations.ordered(set(names))
    style.legend_on_top(fig, style.act_handles(shown), ncol=len(shown))
    style.save(fig, args.out, "resnet", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
