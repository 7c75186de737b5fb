"""Does dying cause the collapse, or the collapse the dying? The plain CNN of the long runs at
their deepest depth (10 seeds each), where some seeds of ReLU and Leaky 0.01 collapse to chance
and others train. (a, b) The network's dead-unit fraction after every epoch, one line per run:
collapsed runs solid, with the epoch of the collapse marked (rectifiers.analysis.mechanism:
the first epoch at chance after which the accuracy never passes 15%), trained runs dotted.
(c, d) The weight-gradient norm feeding each rectifier layer, median over the collapsed and
over the trained runs, averaged over epoch 1 and over the last epoch. (e, f) The signal at
initialisation for every activation (results/<profile>/signal_scale.csv, made by
scripts/signal_scale.py from the seeds' initial networks on the monitor's probe): the
pre-activations' second moment relative to the first layer's (geometric mean over seeds) and
the mean cosine similarity between two images' pre-activations.

    python scripts/fig_mechanism.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rectifiers import activations
from rectifiers.analysis import mechanism as mech
from rectifiers.analysis import results
from rectifiers.render import cli, style

ACTS = ("relu", "leaky_relu_0.01")  # the two that collapse in most seeds of the long deep runs
OUTCOME = {True: {"ls": "-", "fill": True, "label": "collapsed"}, False: {"ls": ":", "fill": False, "label": "trained"}}


def dead_panel(ax, tl: pd.DataFrame, epochs: pd.DataFrame, act: str) -> None:
    """Each run of `act` as a line of its dead ratio over epochs; its collapse marked."""
    runs = tl[tl.act == act]
    for r in runs.itertuples(index=False):
        e = epochs[epochs.run_id == r.run_id].sort_values("epoch")
        ax.plot(e.epoch, e.dead_ratio, color=style.colour(act), ls=OUTCOME[r.collapsed]["ls"], lw=0.8,
                alpha=0.9 if r.collapsed else 0.6)
        if r.collapsed and r.collapse_epoch == r.collapse_epoch:
            y = e.set_index("epoch").dead_ratio.get(r.collapse_epoch)
            ax.plot([r.collapse_epoch], [y], marker=style.marker(act), color=style.colour(act), ls="", ms=4, zorder=3)
    n_c = int(runs.collapsed.sum())
    ax.set_title(f"{activations.display(act)}: {n_c} of {len(runs)} collapsed")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    style.fraction_axis(ax)


def grad_panel(ax, tl: pd.DataFrame, layers: pd.DataFrame, epoch) -> None:
    """Median over runs of the grad norm by layer, collapsed and trained runs of each act."""
    for act in ACTS:
        for collapsed, look in OUTCOME.items():
            ids = tl[(tl.act == act) & (tl.collapsed == collapsed) & (tl.status == "ok")].run_id
            g = mech.grad_by_layer(layers, ids, epoch)
            if g.empty:
                continue
            med = g.groupby("layer").grad_norm.median()
            ax.plot(med.index + 1, med.to_numpy(), color=style.colour(act), ls=look["ls"], marker=style.marker(act),
                    ms=3, mfc=style.colour(act) if look["fill"] else "none", lw=1.0)
    ax.set_yscale("log")
    # no superscripts: too small in print
    ax.yaxis.set_major_formatter(lambda y, _: f"1e{round(np.log10(y))}".replace("-", "\u2212"))
    ax.yaxis.set_minor_formatter(lambda y, _: "")
    ax.set_xlabel("layer (input \u2192 output)")
    ax.set_title("gradient, " + ("epoch 1" if epoch == 1 else "last epoch"))


def signal_panel(ax, profile: pd.DataFrame, value: str, title: str) -> None:
    for act in activations.ordered(profile.act.unique()):
        p = profile[profile.act == act].sort_values("layer")
        ax.plot(p.layer + 1, p[value], color=style.colour(act), marker=style.marker(act), ls=style.linestyle(act),
                ms=2.5, lw=1.0)
    ax.set_xlabel("layer (input \u2192 output)")
    ax.set_title(title)


def legend(fig, acts) -> None:
    handles = style.act_handles(acts)
    handles += [Line2D([], [], color="0.3", ls="-", marker="o", ms=3, label="collapsed run (filled)"),
                Line2D([], [], color="0.3", ls=":", marker="o", mfc="none", ms=3, label="trained run (hollow)"),
                Line2D([], [], color="0.3", ls="", marker="o", ms=4, label="collapse epoch")]
    style.legend_on_top(fig, handles, ncol=4)


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs", "epochs", "layers")
    style.setup()
    t = res.tidy()
    deep = t.loc[t.scale == "long", "depth"].max()
    groups = mech.split_groups(t)
    groups = groups[(groups.scale == "long") & (groups.cell == f"depth={deep:g}") & groups.act.isin(ACTS)]
    tl = mech.timelines(t, res.epochs, groups) if len(groups) else None  # a small study may have no split
    sig_path = args.results / "signal_scale.csv"
    profile = mech.signal_profile(pd.read_csv(sig_path)) if sig_path.is_file() else None
    if profile is not None:
        profile = profile[(profile.depth == deep) & (profile.init_bias == 0)]

    fig, axes = plt.subplots(2, 3, figsize=(style.width("mechanism"), 4.1), layout="constrained")
    if tl is None:
        for ax in (axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0]):
            ax.text(0.5, 0.5, "no deep long runs that\nsplit into collapsed\nand trained", ha="center", va="center",
                    transform=ax.transAxes)
    else:
        for ax, act in zip(axes[0, :2], ACTS):
            dead_panel(ax, tl, res.epochs, act)
        top = max(a.get_ylim()[1] for a in axes[0, :2])
        for a in axes[0, :2]:
            a.set_ylim(-0.02 * top, top)
        grad_panel(axes[0, 2], tl, res.layers, 1)
        grad_panel(axes[1, 0], tl, res.layers, None)
    axes[0, 0].set_ylabel("dead units")
    lo = min(a.get_ylim()[0] for a in (axes[0, 2], axes[1, 0]))
    hi = max(a.get_ylim()[1] for a in (axes[0, 2], axes[1, 0]))
    for a in (axes[0, 2], axes[1, 0]):
        a.set_ylim(lo, hi)
        a.set_ylabel("weight-gradient norm")
    if profile is None:  # scripts/signal_scale.py writes it (make results/<profile>/signal_scale.csv)
        profile = pd.DataFrame(columns=["act", "layer", "rel", "cosine"])
        for ax in axes[1, 1:]:
            ax.text(0.5, 0.5, "no signal_scale.csv", ha="center", va="center", transform=ax.transAxes)
    signal_panel(axes[1, 1], profile, "rel", "signal scale at init")
    axes[1, 1].axhline(1, color="0.6", lw=0.6, ls=":", zorder=0)
    axes[1, 1].set_ylabel("second moment / layer 1's")
    signal_panel(axes[1, 2], profile, "cosine", "cosine of 2 images, init")
    axes[1, 2].set_ylabel("cosine similarity")
    axes[1, 2].set_ylim(0, 1)
    for ax, letter in zip(axes.flat, "abcdef"):
        title = ax.get_title()
        ax.set_title("")
        ax.set_title(f"({letter}) {title}", loc="left")
    legend(fig, activations.ordered(profile.act.unique()))
    style.save(fig, args.out, "mechanism", __file__, [*res.files, *([sig_path] if sig_path.is_file() else [])])
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
