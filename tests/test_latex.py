"""rectifiers.render.latex: the booktabs skeleton every table script shares and the one rule
for minus signs, on values written out by hand."""
from __future__ import annotations

from rectifiers.render import latex


def test_tabular_is_the_booktabs_skeleton_around_the_rows():
    text = latex.tabular("@{}lr@{}", r"A & B \\", [r"x & 1 \\", r"\addlinespace", r"y & 2 \\"])
    assert text == ("\\begin{tabular}{@{}lr@{}}\n\\toprule\nA & B \\\\\n\\midrule\nx & 1 \\\\\n\\addlinespace\n"
                    "y & 2 \\\\\n\\bottomrule\n\\end{tabular}\n")
    assert latex.tabular("l", r"A \\", []) == "\\begin{tabular}{l}\n\\toprule\nA \\\\\n\\midrule\n\\bottomrule\n\\end{tabular}\n"


def test_minus_signs_are_typographic():
    assert latex.minus("-0.5") == "$-$0.5"
    assert latex.minus("bias -0.5, -1") == "bias $-$0.5, $-$1"
    assert latex.minus("-2", "\u2212") == "\u22122"
    assert latex.minus("0.1") == "0.1"
    assert latex.num(-0.25) == "$-$0.25" and latex.num(0.01) == "0.01" and latex.num(-0.5, ".2f") == "$-$0.50"
    assert latex.num(float("nan")) == "n/a" and latex.num(None) == "n/a"
    assert latex.count(12345) == "12{,}345" and latex.count(7) == "7"


def test_generated_sentences_name_cells_and_activations_in_words():
    from rectifiers.render.latex import prose
    assert prose("leaky_relu_0.1 @ lr=0.1; batch_size=4") == "Leaky 0.1 at learning rate 0.1; batch size 4"
    assert prose("rho = -0.09 at init_bias=-0.5, per knob: init_bias 5") == (
        r"$\rho$ = $-$0.09 at initial bias $-$0.5, per knob: initial bias 5")
    assert prose("50% of relu_like runs, seed-0") == r"50\% of relu\_like runs, seed-0"  # only known names
