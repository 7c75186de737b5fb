"""What to use, at a glance: one row per regime (the stress grid's cells, the long plain runs
at each depth, the trained ResNet-20), one column per activation. ReLU's column gives its
mean test accuracy; every other tile is coloured by the gain over ReLU, the mean paired
difference in accuracy points (same seed, same cell), on a diverging colour-blind-safe scale
centred at 0 (red: worse than ReLU, blue: better; beyond +-LIMIT points the colour saturates
and the number says how far). Bold: the 95% percentile bootstrap interval of the gain
excludes 0 (unadjusted for the many tiles). A cross with k/n: k of the n runs collapsed (at
most the collapse accuracy) or diverged (rectifiers.analysis.estimates). Drawn at the
paper's text width (15.8 cm), so that no text is scaled below 7 pt.

    python scripts/fig_practitioner.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
from matplotlib import colormaps, transforms
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from rectifiers import activations
from rectifiers.analysis import estimates, results
from rectifiers.analysis.rules import RULES
from rectifiers.render import cli, latex, style

WIDTH = 15.8 / 2.54     # inches: the paper's \linewidth (A4, 10pt, 2.6 cm margins)
LIMIT = 20              # points at which the colour saturates
CMAP = "RdBu"           # diverging, red-blue: safe for the common colour-vision deficiencies
GROUP_GAP = 0.75        # rows of space for a group's title
FAILED = "\u2717"       # a ballot cross: runs that collapsed or diverged


def budget(t, scale: str) -> str:
    """'5,000 images \u00d7 5 epochs': a scale's training budget, from its runs."""
    r = t[t.scale == scale]
    images = f"{int(r.train_size.max()):,} images" if r.train_size.notna().any() else "all images"
    return f"{images} \u00d7 {int(r.epochs.max())} epochs"


def layout(regimes: list[dict], t) -> tuple[list[float], list[tuple[float, str]]]:
    """The y of each regime's row (top to bottom) and of each group's title."""
    ys, titles, y, scale = [], [], 0.0, None
    for g in regimes:
        if g["scale"] != scale:
            scale = g["scale"]
            y += GROUP_GAP
            heading = estimates.HEADING_BY_SCALE[scale]  # mid-sentence: 'stress grid', 'trained ResNet'
            titles.append((y - 0.4, f"{heading[:1].lower()}{heading[1:]}: {budget(t, scale)}"))
        ys.append(y + 0.5)
        y += 1
    return ys, titles


def failed_text(r) -> str:
    """'✗ 3/10' where runs collapsed or diverged, else ''."""
    k = int(r.n - r.n_trained)
    return f"{FAILED} {k}/{int(r.n)}" if k else ""


def tile(ax, x: float, y: float, colour, main: str, sub: str, bold: bool, dark: bool) -> None:
    ax.add_patch(Rectangle((x, y - 0.5), 1, 1, facecolor=colour, edgecolor="white", lw=1.2))
    ink = "white" if dark else "black"
    ax.text(x + 0.5, y - (0.15 if sub else 0), main, ha="center", va="center", fontsize=8, color=ink,
            fontweight="bold" if bold else "normal")
    if sub:
        ax.text(x + 0.5, y + 0.27, sub, ha="center", va="center", fontsize=7, color=ink)


def draw_rows(ax, regimes, ys, acts, per, vs) -> None:
    cmap, norm = colormaps[CMAP], Normalize(-LIMIT, LIMIT)
    for g, y in zip(regimes, ys):
        for x, act in enumerate(acts):
            key = (g["scale"], g["cell"], act)
            if key not in per.index:
                tile(ax, x, y, "0.92", "no runs", "", False, False)
                continue
            r = per.loc[key]
            if act == activations.REFERENCE:
                tile(ax, x, y, "0.93", f"{latex.pct(r['mean'])}%", failed_text(r), False, False)
                continue
            v = vs.loc[key]
            gain = 100 * v.gain
            excludes = v.gain_low > 0 or v.gain_high < 0
            tile(ax, x, y, cmap(norm(gain)), latex.minus(f"{gain:+.1f}", "\u2212"), failed_text(r), excludes,
                 abs(gain) > 0.6 * LIMIT)


def decorate(ax, regimes, ys, titles, acts) -> None:
    ax.set_xlim(0, len(acts))
    ax.set_ylim(ys[-1] + 0.5, 0)
    ax.set_yticks(ys, [latex.minus(g["label"], "\u2212") if "=" in g["cell"] else g["label"] for g in regimes])
    ax.tick_params(axis="y", length=0)
    ax.xaxis.tick_top()
    ax.set_xticks([x + 0.5 for x in range(len(acts))],
                  ["ReLU\n(mean accuracy)" if a == activations.REFERENCE else activations.display(a) for a in acts])
    ax.tick_params(axis="x", length=0, pad=10)
    above = transforms.offset_copy(ax.get_xaxis_transform(), fig=ax.figure, y=5, units="points")
    for x, act in enumerate(acts):  # each activation's marker in its colour, between its name and its column
        ax.plot([x + 0.5], [1.0], marker=style.marker(act), color=style.colour(act), ls="",
                label=activations.display(act), clip_on=False, transform=above, markersize=4)
    for y, text in titles:
        ax.text(0, y, text, ha="left", va="center", fontsize=8, fontweight="bold")
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results)
    style.setup()
    t = res.tidy()
    regimes = estimates.regimes(t, res.study)
    if not regimes:  # a profile whose runs fall in none of the claims' scales (smoke): say so, draw nothing
        fig, ax = plt.subplots(figsize=(WIDTH, 1.0), layout="constrained")
        ax.axis("off")
        ax.text(0.5, 0.5, "no run of any scale of conf/claims.yaml's design", ha="center", va="center")
        style.save(fig, args.out, "practitioner", __file__, res.files)
        return fig
    per = estimates.per_activation(t).set_index(["scale", "cell", "act"]).sort_index()
    vs = estimates.versus_relu(t).set_index(["scale", "cell", "act"]).sort_index()
    acts = activations.ordered(per.index.get_level_values("act").unique())
    ys, titles = layout(regimes, t)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.22 * (ys[-1] + 0.5) + 1.25), layout="constrained")
    draw_rows(ax, regimes, ys, acts, per, vs)
    decorate(ax, regimes, ys, titles, acts)
    bar = fig.colorbar(ScalarMappable(Normalize(-LIMIT, LIMIT), CMAP), ax=ax, orientation="horizontal",
                       location="bottom", fraction=0.035, pad=0.02, aspect=50, extend="both")
    bar.set_label("gain over ReLU: mean paired difference in test accuracy (points, same seed)\n"
                  "bold: its 95% bootstrap interval excludes 0 (unadjusted);   "
                  f"{FAILED} k/n: k of n runs collapsed (\u2264 {latex.pct(RULES.collapse_accuracy)}%) or diverged",
                  fontsize=7)
    bar.ax.tick_params(labelsize=7)
    bar.ax.xaxis.set_major_formatter(lambda v, _: latex.minus(f"{v:+g}" if v else "0", "\u2212"))
    style.save(fig, args.out, "practitioner", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
