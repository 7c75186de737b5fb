"""After tuning: the selection and what the tuning budget buys. Top, per depth, each
activation's validation accuracy at each learning rate of the grid (each selection seed a point,
a diverged run as a cross at chance; the line is the mean, which chooses the rate; the chosen
rate ringed). Bottom, Dodge et al. (2019)'s expected best validation accuracy after k trials,
each trial one run of the grid drawn at random. conf/claims.yaml, tuning; analysis/tuning.py.

    python scripts/fig_tuning.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt

from rectifiers.analysis import results, tuning
from rectifiers.analysis.rules import RULES
from rectifiers.render import cli, style


def selection_panel(ax, grid, scores, chosen, depth) -> None:
    for act in style.acts(grid) if len(grid) else []:
        g, s = grid[(grid.depth == depth) & (grid.act == act)], scores[(scores.depth == depth) & (scores.act == act)]
        style.seed_points(ax, g.lr, g.score, act, g.status == "diverged")
        style.mean_line(ax, s.lr, s.sort_values("lr"), act)
        pick = chosen[(chosen.depth == depth) & (chosen.act == act)]
        ax.scatter(pick.lr, pick["mean"], s=60, facecolors="none", edgecolors=style.colour(act), lw=1.0, zorder=5)
    ax.set_xscale("log")
    ax.set_xticks(RULES.tuning["rates"], [f"{r:g}" for r in RULES.tuning["rates"]])
    ax.minorticks_off()
    ax.set_xlabel("learning rate")
    ax.set_title(f"plain CNN, depth {depth}: selection")


def budget_panel(ax, curves, depth) -> None:
    for act in style.acts(curves) if len(curves) else []:
        c = curves[(curves.depth == depth) & (curves.act == act)].sort_values("k")
        ax.plot(c.k, c.expected_best, color=style.colour(act), marker=style.marker(act), ls=style.linestyle(act))
    ax.set_xticks(RULES.tuning["budget"])
    ax.set_xlabel("learning-rate trials (runs)")
    ax.set_title(f"depth {depth}: expected best after k trials")


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    tuned = results.load_tuned(args.results)
    found = tuning.summarise(tuned)
    style.setup()
    fig, axes = plt.subplots(2, len(RULES.tuning["depths"]), figsize=(style.width("tuning"), 3.6), layout="constrained",
                             sharey="row")
    grid = tuning.selection_runs(tuned) if len(tuned) else tuned
    for j, depth in enumerate(RULES.tuning["depths"]):
        selection_panel(axes[0, j], grid, found.scores, found.chosen, depth)
        budget_panel(axes[1, j], found.curves, depth)
    for ax in axes[:, 0]:
        ax.set_ylabel("validation accuracy")
        ax.yaxis.set_major_formatter(lambda y, _: f"{100 * y:.0f}%")
    handles = style.act_handles(style.acts(tuned)) if len(tuned) else []
    if not found.selected:  # said in the legend, where nothing else is drawn
        from matplotlib.lines import Line2D
        handles.append(Line2D([], [], ls="", label=f"selection grid: {found.grid_runs} of {found.grid_planned} runs"))
    if handles:
        style.legend_on_top(fig, handles)
    style.save(fig, args.out, "tuning", __file__, [args.results / "study.json", args.results / "tuned.csv"])
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
