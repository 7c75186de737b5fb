"""LaTeX text for the generated tables and numbers, one function per concept: escaping and
prose, percentages, intervals and p-values, numbers and counts, lists, and macro names
(numbers and activations spelt in letters). Pure string functions; nothing here reads files.
Plain-text phrases that the claims' rules say in words stay with them (analysis/claim_text.py:
analysis/ does not import render/)."""
from __future__ import annotations

import re

import numpy as np

from .. import activations, knobs

TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "<": r"\textless{}", ">": r"\textgreater{}"}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or (isinstance(x, np.floating) and np.isnan(x))


def tex_escape(text) -> str:
    """Plain text -> LaTeX text: every special character escaped."""
    return "".join(TEX_SPECIALS.get(c, c) for c in str(text))


CELL = re.compile(r"\b([a-z_]+)=(-?\d+(?:\.\d+)?)")
ACT = re.compile(r"\b(leaky_relu_\d+(?:\.\d+)?|prelu|relu)\b")


def prose(text) -> str:
    """A generated sentence that names cells and activations by their labels ('batch_size=4',
    'leaky_relu_0.1 @ lr=0.1', 'rho = -0.09') as LaTeX prose: 'batch size 4', 'Leaky 0.1 at
    learning rate 0.1', '$\\rho$ = $-$0.09' (escaped, minus signs typographic)."""
    text = CELL.sub(lambda m: f"{knobs.KNOBS[m[1]].name} {m[2]}" if m[1] in knobs.KNOBS else m[0], str(text))
    text = re.sub(r"\b[a-z]+_[a-z_]+\b", lambda m: knobs.KNOBS[m[0]].name if m[0] in knobs.KNOBS else m[0], text)
    text = ACT.sub(lambda m: activations.display(m[1]) if m[1] in activations.by_label() else m[0], text)
    text = tex_escape(text.replace(" @ ", " at ")).replace("rho", r"$\rho$")
    return re.sub(r"(?<![\w.])-(?=\d)", "$-$", text)


def pct(x, digits: int | None = 1) -> str:
    """A fraction as a percentage without the % sign: 0.3549 -> '35.5'; digits None: as many as
    it needs, for declared constants (0.05 -> '5', 0.025 -> '2.5'); NaN -> 'n/a'."""
    if _missing(x):
        return "n/a"
    return f"{100 * x:g}" if digits is None else f"{100 * x:.{digits}f}"


def pct_signed(x, digits: int = 1) -> str:
    """A difference of fractions in percentage points, signed, for math mode: '+1.2', '-0.5'."""
    return "n/a" if _missing(x) else f"{100 * x:+.{digits}f}"


def interval(low, high, digits: int = 1) -> str:
    """'[33.1, 37.0]' (percent), or '' where there is no interval (a single run, no spread)."""
    return "" if _missing(low) or _missing(high) else f"[{pct(low, digits)}, {pct(high, digits)}]"


def signed_interval_tex(mean, low, high, digits: int = 1) -> str:
    """'$+1.2$ [$-0.5$, $+2.9$]' (percentage points, proper minus signs); the mean alone
    where there is no interval."""
    if _missing(mean):
        return "n/a"
    text = f"${pct_signed(mean, digits)}$"
    if not (_missing(low) or _missing(high)):
        text += f" [${pct_signed(low, digits)}$, ${pct_signed(high, digits)}$]"
    return text


def share_text(k, n, low, high) -> str:
    """'7/10 [35, 93]': k of n, with the interval of the share in percent."""
    return f"{int(k)}/{int(n)} [{pct(low, 0)}, {pct(high, 0)}]"


def probability_text(p, low, high) -> str:
    """'0.85 [0.60, 1.00]'; the point alone where there is no interval; NaN -> 'n/a'."""
    if _missing(p):
        return "n/a"
    return f"{p:.2f}" + ("" if _missing(low) or _missing(high) else f" [{low:.2f}, {high:.2f}]")


def p_value(p) -> str:
    """'0.003', '<0.001', '1' (p-values are capped at 1 by the corrections); NaN -> 'n/a'."""
    if _missing(p):
        return "n/a"
    return "$<$0.001" if p < 0.001 else ("1" if p >= 0.9995 else f"{p:.3f}")


def macro_name(*parts) -> str:
    """'relu', 'peak_dead', 'init_bias' -> 'ReluPeakDeadInitBias' (letters only, LaTeX-safe)."""
    words = []
    for p in parts:
        words += [w for w in "".join(c if c.isalpha() else " " for c in str(p)).split()]
    return "".join(w[:1].upper() + w[1:] for w in words)


ONES = ("Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen Fourteen Fifteen Sixteen "
        "Seventeen Eighteen Nineteen").split()
TENS = dict(zip(range(2, 10), "Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split()))


def spelled(x) -> str:
    """A number in words for a macro name: 8 -> 'Eight', 20 -> 'Twenty', 0.1 -> 'PointOne',
    0.01 -> 'PointZeroOne', -0.5 -> 'MinusPointFive'; from 100 on digit by digit."""
    text = f"{float(x):g}"
    whole, _, frac = text.lstrip("-").partition(".")
    n = int(whole)
    if n == 0 and frac:
        head = ""
    elif n < 20:
        head = ONES[n]
    elif n < 100:
        head = TENS[n // 10] + (ONES[n % 10] if n % 10 else "")
    else:
        head = "".join(ONES[int(c)] for c in whole)
    tail = "Point" + "".join(ONES[int(c)] for c in frac) if frac else ""
    return ("Minus" if text.startswith("-") else "") + head + tail


def act_name(act: str) -> str:
    """An activation label in a macro name: 'leaky_relu_0.3' -> 'LeakyPointThree', 'prelu' ->
    'Prelu', 'prelu_shared' -> 'PreluShared', 'relu' -> 'Relu'."""
    slope = activations.by_label()[act].params.get("negative_slope")
    return "Leaky" + spelled(slope) if slope is not None else macro_name(act)


def series(items, last: str = " and ") -> str:
    """A list in prose: ['a', 'b', 'c'] -> 'a, b and c' (last=', ': 'a, b, c'); [] -> ''."""
    items = [str(i) for i in items]
    return last.join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def claims_list(numbers, last: str = " and~") -> str:
    """[1, 2, 3] -> 'claims~1, 2 and~3'; [4] -> 'claim~4'; [] -> 'no claim'."""
    if not len(numbers):
        return "no claim"
    return ("claim~" if len(numbers) == 1 else "claims~") + series(numbers, last)


def minus(text, sign: str = "$-$") -> str:
    """Every hyphen of a number or a label of numbers as a typographic minus: '-0.5' ->
    '$-$0.5' in LaTeX text; `sign` '\u2212' for the figures' Unicode text."""
    return str(text).replace("-", sign)


def num(x, fmt: str = "g") -> str:
    """A number for text, its minus typographic: -0.5 -> '$-$0.5'; NaN -> 'n/a'."""
    return "n/a" if _missing(x) else minus(format(x, fmt))


def count(n) -> str:
    """12345 -> '12{,}345' (LaTeX thousands separator)."""
    return f"{int(n):,}".replace(",", "{,}")


def tabular(columns: str, header: str, rows) -> str:
    """A booktabs table: `columns` the column spec, `header` its head line(s) ending in \\\\,
    `rows` the body's lines (rows and \\addlinespace)."""
    lines = [rf"\begin{{tabular}}{{{columns}}}", r"\toprule", header, r"\midrule", *rows,
             r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
