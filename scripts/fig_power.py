"""Power by sample size (scripts/power.py): for N seeds per cell, each claim rule's share of
"supported" in its declared-effect world (solid) and of its verdict of the committed means,
the observed world (dashed: the share of whichever verdict the rule gives there most often),
under per-cell noise; under each N, the study's cost at N in core-hours.

    python scripts/fig_power.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from rectifiers.analysis import claims, results
from rectifiers.render import cli, style

COLOURS = plt.cm.tab10.colors  # one per claim: claims are not activations, so not style's colours
MARKERS = ("o", "s", "^", "D", "v", "P")  # and a marker each, for grayscale


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results)  # the study it simulates (study.json), for the provenance
    path = args.results / "power.csv"
    if not path.is_file():
        raise results.ResultsError(f"{path} is missing: run `make power` (scripts/power.py) first")
    p = pd.read_csv(path)
    style.setup()
    fig, axes = plt.subplots(1, 2, figsize=(style.width("power"), 2.6), sharey=True, layout="constrained")
    handles = []
    for claim, g in p.groupby("claim"):
        eff, obs = g[g.world == "effect"], g[g.world == "observed"]
        kw = dict(marker=MARKERS[(claim - 1) % len(MARKERS)], ms=3, color=COLOURS[claim - 1])
        axes[0].plot(eff.seeds, 100 * eff.supported, **kw)
        top = obs[list(claims.VERDICTS)].mean().idxmax()  # the observed world's usual verdict
        axes[1].plot(obs.seeds, 100 * obs[top], ls="--", **kw)
        handles.append(Line2D([], [], **kw, label=f"claim {claim} (usual verdict: {top})"))
    axes[0].set_title("declared effect: P(supported)")
    axes[1].set_title("committed means: P(usual verdict)")
    axes[0].set_ylabel("share of simulated studies (%)")
    cost = p.groupby("seeds").core_hours.first()
    for ax in axes:
        ax.axhline(80, color="0.5", lw=0.6, ls=":")
        ax.set_xticks(cost.index, [f"{n}\n{h:.0f} h" for n, h in cost.items()])
        ax.set_xlabel("seeds per cell (study's core-hours)")
        ax.set_ylim(-3, 103)
    style.legend_on_top(fig, handles, ncol=3)  # above the panels: no line runs under it
    style.save(fig, args.out, "power", __file__, [*res.files, path])
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
