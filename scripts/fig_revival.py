"""Do dead units come back? Left: every finished run of the study (all knobs and levels,
plain CNN and ResNet) as a point: the fraction of its units that were ever dead against
the fraction that died and later came back to life; points on the identity line revived
every dead unit. Right: revived / ever-dead units per activation, pooled over those runs,
with the counts.

    python scripts/fig_revival.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import PercentFormatter

from rectifiers import activations
from rectifiers.analysis import results
from rectifiers.render import cli, style


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "runs")
    style.setup()
    grid = res.runs[np.isclose(res.runs.budget, results.grid_budget(res.runs))]  # the stress grid's runs
    runs = results.require(grid[grid.status == "ok"].dropna(subset=["ever_dead", "revived", "units"]),
                           "finished runs with dead-unit counts", res)
    acts = style.acts(runs)
    totals = runs.groupby("act")[["ever_dead", "revived"]].sum().loc[acts]

    fig, (left, right) = plt.subplots(1, 2, figsize=(style.width("revival"), 2.6), layout="constrained",
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    for act in acts:
        r = runs[runs.act == act]
        left.scatter(r.ever_dead / r.units, r.revived / r.units, color=style.colour(act),
                     marker=style.marker(act), s=14, alpha=0.7, lw=0, label=activations.display(act))
    lim = max(0.05, (runs.ever_dead / runs.units).max()) * 1.08
    left.axline((0, 0), slope=1, color="0.5", lw=0.6, ls="--")
    left.text(0.55 * lim, 0.55 * lim, "all revived", rotation=45, rotation_mode="anchor", ha="center",
              va="bottom", fontsize=style.MIN_FONT, color="0.4")
    left.set(xlabel="units ever dead", ylabel="units revived", xlim=(-0.02 * lim, lim), ylim=(-0.02 * lim, lim),
             aspect="equal")
    for axis in (left.xaxis, left.yaxis):
        axis.set_major_formatter(PercentFormatter(1.0, decimals=0))

    ratio = totals.revived / totals.ever_dead.where(totals.ever_dead > 0)
    x = range(len(acts))
    right.bar(x, ratio.fillna(0), color=[style.colour(a) for a in acts], width=0.7)
    for i, (act, t) in enumerate(totals.iterrows()):
        text = f"{t.revived:.0f}\nof {t.ever_dead:.0f}" if t.ever_dead else "none\ndied"  # narrower than a bar
        right.annotate(text, (i, ratio.fillna(0)[act]), xytext=(0, 2), textcoords="offset points",
                       ha="center", va="bottom", fontsize=style.MIN_FONT)
    right.set_xticks(x, [activations.display(a) for a in acts], rotation=30, ha="right", rotation_mode="anchor")
    right.set_ylabel("revived / ever dead")
    right.set_ylim(0, max(1.0, ratio.max(skipna=True) if ratio.notna().any() else 1.0) * 1.25)
    right.set_yticks(np.linspace(0, 1, 6))  # a share: no tick above 100%, the room there is for the counts
    right.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    style.legend_on_top(fig, style.act_handles(acts))
    style.save(fig, args.out, "revival", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
