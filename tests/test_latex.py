"""rectifiers.render.latex: the booktabs skeleton every table script shares, the one rule for
minus signs, percentages, lists and the letters of macro names, on values written out by hand."""
from __future__ import annotations

from rectifiers.render import latex


def test_tabular_is_the_booktabs_skeleton_around_the_rows():
    text = latex.tabular("@{}lr@{}", r"A & B \\", [r"x & 1 \\", r"\addlinespace", r"y & 2 \\"])
    assert text == ("\\begin{tabular}{@{}lr@{}}\n\\toprule\nA & B \\\\\n\\midrule\nx & 1 \\\\\n\\addlinespace\n"
                    "y & 2 \\\\\n\\bottomrule\n\\end{tabular}\n")
    assert latex.tabular("l", r"A \\", []) == ("\\begin{tabular}{l}\n\\toprule\nA \\\\\n\\midrule\n"
                                               "\\bottomrule\n\\end{tabular}\n")


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


def test_percentages_as_printed_and_as_declared():
    assert latex.pct(0.3549) == "35.5" and latex.pct(0.3549, 0) == "35" and latex.pct(float("nan")) == "n/a"
    assert latex.pct(0.05, None) == "5" and latex.pct(0.025, None) == "2.5" and latex.pct(1 - 0.05, None) == "95"


def test_lists_in_prose():
    assert latex.series(["a", "b", "c"]) == "a, b and c" and latex.series([8, 20]) == "8 and 20"
    assert latex.series(["a", "b", "c"], ", ") == "a, b, c" and latex.series(["a"]) == "a" and latex.series([]) == ""
    assert latex.claims_list([1, 2, 3]) == "claims~1, 2 and~3" and latex.claims_list([4]) == "claim~4"
    assert latex.claims_list([]) == "no claim" and latex.claims_list([2, 3, 5], ", ") == "claims~2, 3, 5"


def test_macro_names_are_spelled_out():
    assert [latex.spelled(x) for x in (8, 20, 14, 0.1, 0.01, -0.5, 32, 110)] == [
        "Eight", "Twenty", "Fourteen", "PointOne", "PointZeroOne", "MinusPointFive", "ThirtyTwo", "OneOneZero"]
    assert [latex.act_name(a) for a in ("relu", "leaky_relu_0.01", "leaky_relu_0.3", "prelu", "prelu_shared")] == \
        ["Relu", "LeakyPointZeroOne", "LeakyPointThree", "Prelu", "PreluShared"]
