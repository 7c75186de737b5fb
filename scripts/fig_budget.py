"""Learns faster, or ends better? Each activation's final test accuracy minus ReLU's (same
seed, same cell) at the stress grid's budget and at the larger one: the plain CNN at depth 8
and 20 trained 4x longer, ResNet-20 trained on all 50,000 images. Every seed is a point; the
bar is the mean with its paired t interval, cut at the panel's edge (the seeds set the scale;
with two seeds the interval is very wide). A diverged run counts as chance accuracy.
A budget whose runs are not yet trained is left empty.

    python scripts/fig_budget.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
import numpy as np

from rectifiers.analysis import results, stats
from rectifiers.analysis.scaling import NETWORKS, gaps
from rectifiers.render import cli, style


def budget_label(budget: int, base: int) -> str:
    return f"{budget / base:g}x\n({budget / 1000:g}k images)"


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs")
    style.setup()
    g = gaps(res.tidy())  # empty until a budget has ReLU and another activation: the panels say so
    base = int(g.budget.min()) if len(g) else 1
    acts = style.acts(g) if len(g) else []
    fig, axes = plt.subplots(1, len(NETWORKS), figsize=(style.width("budget"), 2.6), sharey=True, layout="constrained")
    for ax, (network, points) in zip(axes, NETWORKS):
        labels = []
        for i, (scale, _) in enumerate(points):
            here = g[(g.network == network) & (g.scale == scale)]
            labels.append(budget_label(int(here.budget.iloc[0]), base) if len(here) else
                          ("larger" if i else "grid's") + " budget:\nnot yet run")
            for j, act in enumerate(acts):
                x = i + (j - (len(acts) - 1) / 2) * 0.16
                v = here[here.act == act].gap.to_numpy()
                if not len(v):
                    continue
                style.seed_points(ax, np.full(len(v), x + 0.05), v, act)
                t = stats.t_test(v)
                ax.errorbar(x, t.mean, yerr=None if np.isnan(t.low) else [[t.mean - t.low], [t.high - t.mean]],
                            color=style.colour(act), marker=style.marker(act), markersize=3, lw=0.9,
                            capsize=1.5)
        ax.axhline(0, color="0.5", lw=0.6, ls=":")
        ax.set_xticks(range(len(points)), labels)
        ax.set_xlim(-0.6, len(points) - 0.4)
        ax.set_title(network)
    if len(g):  # the seeds set the scale; an interval from two seeds may run past the panel's edge
        pad = 0.1 * max(g.gap.max() - g.gap.min(), 0.02)
        axes[0].set_ylim(min(g.gap.min(), 0) - pad, max(g.gap.max(), 0) + pad)
    axes[0].set_ylabel("accuracy minus ReLU's\n(percentage points)")
    axes[0].yaxis.set_major_formatter(lambda y, _: f"{100 * y:+.0f}" if round(100 * y) else "0")
    if acts:
        style.legend_on_top(fig, style.act_handles(acts), ncol=len(acts))
    style.save(fig, args.out, "budget", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
