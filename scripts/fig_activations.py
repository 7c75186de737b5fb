"""The rectifiers compared: f(x) (left) and its derivative df/dx (right) for ReLU, Leaky
ReLU with a = 0.01 and a = 0.3, and PReLU with the slope it learned in this study (mean
over channels and finished seeds of the first rectifier layer of the baseline plain CNN
at the end of training). The inset magnifies x < 0, where ReLU and Leaky 0.01 differ.

    python scripts/fig_activations.py --results results/cpu --out figures
"""
import matplotlib.pyplot as plt
import numpy as np

from rectifiers import activations
from rectifiers.analysis import results
from rectifiers.render import cli, style

FIXED = ("relu", "leaky_relu_0.01", "leaky_relu_0.3")  # their slopes from the activation table


def learned_prelu_slope(res) -> float:
    knob = results.plain_knobs(res.study)[0]
    layers = results.stress_rows(res.layers, res.study, results.grid_budget(res.runs))
    base = layers[(layers.knob == knob) & (layers.level == res.study["knobs"][knob]["baseline"])
                  & (layers.act == "prelu") & (layers.status == "ok") & (layers.layer == 0)]
    base = results.require(results.final_epoch(base).dropna(subset=["slope_mean"]),
                           "finished PReLU runs of the baseline plain CNN", res)
    return float(base.slope_mean.mean())


def main(argv=None):
    args = cli.figure_args(__doc__, argv)
    res = results.load(args.results, "layers")
    style.setup()
    slopes = {**{a: activations.by_label()[a].slope for a in FIXED}, "prelu": learned_prelu_slope(res)}
    labels = {a: f"{activations.display(a)}" + (f" (learned a = {s:.2f})" if a == "prelu" else "")
              for a, s in slopes.items()}

    x = np.linspace(-3, 3, 601)
    fig, (f_ax, d_ax) = plt.subplots(1, 2, figsize=(style.width("activations"), 2.3), layout="constrained")
    inset = f_ax.inset_axes([0.3, 0.52, 0.3, 0.4], xlim=(-3, 0.3), ylim=(-0.04, 0.01))  # its ticks clear the axis
    for act, a in slopes.items():
        kw = dict(color=style.colour(act), ls=style.linestyle(act), label=labels[act])
        for ax in (f_ax, inset):
            ax.plot(x, np.where(x > 0, x, a * x), **kw)
        d_ax.plot(x, np.where(x > 0, 1.0, a), **kw)
    inset.set_xticks([-2, 0])
    inset.tick_params(labelsize=style.MIN_FONT, length=2, pad=1)
    inset.set_title("x < 0, magnified", fontsize=style.MIN_FONT, pad=2)
    f_ax.indicate_inset_zoom(inset, edgecolor="0.5", lw=0.5)
    f_ax.set(xlabel="$x$", ylabel="$f(x)$", ylim=(-1.2, 3))
    d_ax.set(xlabel="$x$", ylabel="$df/dx$", ylim=(-0.05, 1.1))
    style.legend_on_top(fig, d_ax.get_lines())
    style.save(fig, args.out, "activations", __file__, res.files)
    return fig


if __name__ == "__main__":
    cli.run_figure(main)
