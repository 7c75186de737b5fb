"""The paper as printed: every figure it includes, read from its PDF at the width the paper
prints it at, has no text below style.MIN_FONT; and every table it includes names, in its
caption, the script that wrote it, as every figure caption does (tests/test_paper.py).

A figure's printed width comes from its \\includegraphics (width=0.75\\linewidth, \\textwidth,
a length, scale=, or none) and the page geometry of paper/main.tex (\\linewidth is the text
width of this one-column article); a text's printed size is its font size in the PDF, times
the scale of its text matrix, times the printed width over the PDF's width."""
from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from pypdf import PdfReader

from conftest import ROOT
from rectifiers.render import style

PAPER = ROOT / "paper"
BP = {"bp": 1.0, "pt": 72 / 72.27, "in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4}  # big points (PDF units) per unit
PAPER_WIDTHS = {"a4paper": "210mm", "a5paper": "148mm", "b5paper": "176mm", "letterpaper": "8.5in",
                "legalpaper": "8.5in", "executivepaper": "7.25in"}
RELATIVE = r"\\(?:linewidth|textwidth|columnwidth|hsize)"


def uncommented(path: Path) -> str:
    return re.sub(r"(?<!\\)%.*", "", path.read_text())


def sources() -> dict[str, str]:
    """paper/main.tex and paper/sections/*.tex, comments removed ({} without a paper)."""
    files = [PAPER / "main.tex", *sorted((PAPER / "sections").glob("*.tex"))]
    return {str(f.relative_to(PAPER)): uncommented(f) for f in files if f.is_file()}


def length(text: str) -> float | None:
    """A TeX length ('2.6cm', '8.5in', '10 pt') in big points; None if it is not one."""
    m = re.fullmatch(r"\s*(-?[\d.]+)\s*(bp|pt|in|cm|mm)\s*", text)
    return float(m.group(1)) * BP[m.group(2)] if m else None


def options(text: str) -> dict[str, str]:
    """key=value options of a TeX optional argument; a bare key maps to ''."""
    pairs = (o.split("=", 1) if "=" in o else (o, "") for o in re.split(r",(?![^{]*\})", text) if o.strip())
    return {k.strip(): v.strip().strip("{}") for k, v in pairs}


def text_width(main: str) -> float | None:
    """\\linewidth of a one-column article with the geometry package, in big points: the
    paper's width less its left and right margins (or geometry's textwidth). None where
    the layout is one this does not read (two columns, no geometry, a margin it cannot)."""
    doc = re.search(r"\\documentclass\s*(?:\[([^\]]*)\])?", main)
    geo = re.search(r"\\usepackage\s*\[([^\]]*)\]\s*\{geometry\}", main)
    if not geo or (doc and "twocolumn" in options(doc.group(1) or "")):
        return None
    o = options(geo.group(1))
    for key in ("textwidth", "width"):
        if key in o:
            return length(o[key])
    paper = length(o["paperwidth"]) if "paperwidth" in o else next(
        (length(w) for p, w in PAPER_WIDTHS.items() if p in o), None)
    side = o.get("hmargin", o.get("margin"))
    sides = side.split(",") * (2 if side and "," not in side else 1) if side else [o.get("left"), o.get("right")]
    margins = [length(s) if s else None for s in sides]
    return None if paper is None or None in margins else paper - sum(margins)


def figure_file(name: str, main: str) -> Path:
    """The file \\includegraphics{name} reads: in a \\graphicspath folder, .pdf if unnamed."""
    paths = re.search(r"\\graphicspath\s*\{((?:\s*\{[^{}]*\})*)\s*\}", main)
    folders = re.findall(r"\{([^{}]*)\}", paths.group(1)) if paths else [""]
    files = [PAPER / folder / (name if Path(name).suffix else f"{name}.pdf") for folder in folders]
    return next((f for f in files if f.is_file()), files[0])


def included() -> list[tuple[str, str, str]]:
    """(source, figure name, \\includegraphics options) of every figure of the paper, in order."""
    return [(src, name, opts or "") for src, text in sources().items()
            for opts, name in re.findall(r"\\includegraphics\s*(?:\[([^\]]*)\])?\s*\{([^}]*)\}", text)]


def printed_width(opts: str, natural: float, line: float) -> float | None:
    """The width in big points that \\includegraphics[opts] prints a figure `natural` wide at."""
    o = options(opts)
    if "width" in o:
        m = re.fullmatch(rf"\s*([\d.]*)\s*{RELATIVE}\s*", o["width"])
        return (float(m.group(1) or 1) * line) if m else length(o["width"])
    if "scale" in o:
        return float(o["scale"]) * natural
    return natural if not o.keys() & {"height", "totalheight"} else None


def drawn_text(pdf: Path) -> list[tuple[str, float]]:
    """Every text drawn on the PDF's first page with its size in big points: the font size
    times the vertical scale of the text matrix times the transformation matrix."""
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            c, d = tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]  # the vertical axis
            found.append((text.strip(), size * math.hypot(c, d)))

    PdfReader(pdf).pages[0].extract_text(visitor_text=visit)
    return found


def too_small(pdf: Path, printed: float) -> list[tuple[str, float]]:
    """The texts of `pdf` that print below style.MIN_FONT when it is `printed` big points
    wide: (text, printed size in points)."""
    scale = printed / float(PdfReader(pdf).pages[0].mediabox.width)
    return [(text, round(size * scale, 2)) for text, size in drawn_text(pdf) if size * scale < style.MIN_FONT - 0.01]


# --- the check can fail ---------------------------------------------------------------------

def test_the_check_finds_text_below_the_minimum(tmp_path):
    """A figure drawn with a 4 pt text (also one turned on its side) and an 8 pt one (a word
    without a ligature, where pypdf would split it): at its own width only the small ones are
    too small; printed at half its width, all are."""
    fig = plt.figure(figsize=(style.TEXTWIDTH, 1.0))
    fig.text(0.1, 0.5, "tiny", fontsize=4)
    fig.text(0.3, 0.5, "sideways", fontsize=4, rotation=90)
    fig.text(0.6, 0.5, "big", fontsize=8)
    fig.savefig(tmp_path / "tiny.pdf")
    plt.close(fig)
    full = style.TEXTWIDTH * 72
    small = dict(too_small(tmp_path / "tiny.pdf", full))
    assert small.keys() == {"tiny", "sideways"}
    assert small["tiny"] == pytest.approx(4, abs=0.05) and small["sideways"] == pytest.approx(4, abs=0.05)
    halved = dict(too_small(tmp_path / "tiny.pdf", full / 2))
    assert halved.keys() == {"tiny", "sideways", "big"} and halved["big"] == pytest.approx(4, abs=0.05)


def test_the_page_geometry_is_read_from_the_preamble():
    assert text_width(r"\documentclass[10pt]{article}\usepackage[a4paper,margin=2.6cm]{geometry}") == \
        pytest.approx(158 * BP["mm"])
    assert text_width(r"\usepackage[letterpaper,left=1in,right=1.5in]{geometry}") == pytest.approx(6 * 72)
    assert text_width(r"\usepackage[a4paper,textwidth=15cm]{geometry}") == pytest.approx(15 * BP["cm"])
    assert text_width(r"\documentclass[twocolumn]{article}\usepackage[a4paper,margin=2cm]{geometry}") is None
    assert printed_width(r"width=0.5\linewidth", 500, 400) == 200
    assert printed_width(r"width=\textwidth", 500, 400) == 400
    assert printed_width("scale=0.5", 500, 400) == 250 and printed_width("", 500, 400) == 500


# --- the paper's figures --------------------------------------------------------------------

def test_figures_are_drawn_at_the_width_they_are_printed_at():
    """style.TEXTWIDTH is the paper's \\linewidth and style.PRINTED each figure's printed
    width, so that the figure scripts' font sizes are the printed ones."""
    main = sources().get("main.tex")
    if main is None or text_width(main) is None:
        pytest.skip("no paper/main.tex, or a page geometry this test does not read")
    assert style.TEXTWIDTH * 72 == pytest.approx(text_width(main), abs=0.5)
    widths = {name: opts for _, name, opts in included()}
    shown = [name for name in style.PRINTED if name in widths]  # a figure the paper leaves out draws as it was
    assert shown, "the paper includes none of style.PRINTED's figures"
    for name in shown:
        assert printed_width(widths[name], 1.0, 1.0) == pytest.approx(style.PRINTED[name]), (name, widths[name])


@pytest.mark.parametrize("source,name,opts", included() or [pytest.param("", "", "", marks=pytest.mark.skip(
    reason="no paper sources with \\includegraphics"))])
def test_no_text_prints_below_the_minimum(source, name, opts):
    main = sources()["main.tex"]
    line = text_width(main)
    if line is None:
        pytest.skip("a page geometry this test does not read (paper/main.tex)")
    pdf = figure_file(name, main)
    if not pdf.is_file():
        pytest.skip(f"{pdf.relative_to(ROOT)} is not made (make figures)")
    printed = printed_width(opts, float(PdfReader(pdf).pages[0].mediabox.width), line)
    if printed is None:
        pytest.skip(f"{source}: \\includegraphics[{opts}]{{{name}}}: a size this test does not read")
    assert drawn_text(pdf), f"{name}: no text found in {pdf}"
    small = too_small(pdf, printed)
    assert not small, (f"{source}: {name} printed {printed / 72:.2f} in wide has text below {style.MIN_FONT} pt "
                       f"(text, printed pt): {small[:8]}")


# --- the paper's tables ---------------------------------------------------------------------

def tables() -> list[tuple[str, str, str]]:
    """(source, generated table, caption) of every table environment that inputs one."""
    found = []
    for src, text in sources().items():
        for body in re.findall(r"\\begin\{table\*?\}(.*?)\\end\{table\*?\}", text, re.S):
            caption = body[body.index(r"\caption"):] if r"\caption" in body else ""
            found += [(src, t, caption) for t in re.findall(r"\\input\s*\{generated/(table_\w+)\}", body)]
    return found


def test_every_table_caption_names_the_script_that_wrote_it():
    """As every figure caption ends 'Made by \\texttt{scripts/fig\\_x.py}.', every table's
    caption names scripts/table_x.py, the script that writes generated/table_x.tex."""
    found = tables()
    if not found:
        pytest.skip("no paper sources with generated tables")
    unnamed = []
    for src, table, caption in found:
        assert (ROOT / "scripts" / f"{table}.py").is_file(), f"{src}: no scripts/{table}.py writes {table}"
        if "scripts/" + table.replace("_", r"\_") + ".py" not in caption:
            unnamed.append(f"{src}: {table}")
    assert not unnamed, f"table captions that do not name their script: {unnamed}"
