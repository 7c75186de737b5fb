"""The figure scripts (scripts/fig_*.py) on the synthetic results of tests/fake_results.py:
each writes a one-page PDF and a PNG, byte-identical in a fresh process, carrying the
script, the git commit and the sha256 of its inputs, drawn at the width the paper prints it
at; activations keep their one colour, marker and line style, told apart without colour;
no text is below 7 pt (tests/test_legibility.py: at print size, in the PDFs), no text runs
into another and no legend covers a panel; missing or incomplete results stop a script with
a clear message and no figure."""
from __future__ import annotations

import colorsys
import hashlib
import os
import re
import subprocess
import sys

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image
from pypdf import PdfReader

from conftest import ROOT, files_under, load_script
from fake_results import copy_results, write_fake_results
from rectifiers import activations
from rectifiers.analysis import results
from rectifiers.analysis.rules import RULES
from rectifiers.render import style

FIGURES = ("activations", "stress_accuracy", "stress_dead", "dynamics", "layer_heatmap", "revival",
           "prelu_slopes", "resnet", "budget", "power", "practitioner", "tuning", "mechanism")
SCRIPTS = {name: ROOT / "scripts" / f"fig_{name}.py" for name in FIGURES}
NAME_TO_ACT = {a.display: a.label for a in activations.ACTIVATIONS}


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return write_fake_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def drawn(fake, tmp_path_factory):
    """Every figure, drawn in this process: (output folder, {name: Figure})."""
    out = tmp_path_factory.mktemp("figures")
    figs = {name: load_script(f"fig_{name}").main(["--results", str(fake), "--out", str(out)]) for name in FIGURES}
    yield out, figs
    plt.close("all")


def test_one_script_per_figure_of_the_makefile():
    assert sorted(p.stem[4:] for p in (ROOT / "scripts").glob("fig_*.py")) == sorted(FIGURES)
    figs = re.search(r"^FIGS :=(.*)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    assert sorted(figs) == sorted(FIGURES)


@pytest.mark.parametrize("name", FIGURES)
def test_writes_one_page_pdf_and_png(drawn, name):
    out, figs = drawn
    assert PdfReader(out / f"{name}.pdf").get_num_pages() == 1
    width, height = Image.open(out / f"{name}.png").size
    assert abs(width - figs[name].get_figwidth() * style.DPI) < 1  # whole pixels
    assert figs[name].get_figwidth() == pytest.approx(style.width(name))  # as printed
    assert figs[name].get_figwidth() <= style.DOUBLE
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(f"{name}.")) == [f"{name}.pdf", f"{name}.png"]


def test_a_fresh_process_writes_byte_identical_files_from_the_code_it_names(drawn, fake, tmp_path):
    """Every script again, in another process with another hash seed: the same bytes; and
    every module of the package that the scripts load is in the drawing code whose last
    commit the figures name (style.DRAWING_FOLDERS), so that no change to it goes unrecorded."""
    out, _ = drawn
    again = tmp_path / "again"
    code = ("import runpy, sys\n"
            "for s in sys.argv[1:]:\n"
            f"    sys.argv = [s, '--results', {str(fake)!r}, '--out', {str(again)!r}]\n"
            "    runpy.run_path(s, run_name='__main__')\n"
            "print(*sorted(m.__file__ for n, m in sys.modules.items() if n.startswith('rectifiers.')))\n")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    p = subprocess.run([sys.executable, "-c", code, *map(str, SCRIPTS.values())], cwd=ROOT, env=env, check=True,
                       capture_output=True, text=True)
    for name in FIGURES:
        for ext in ("pdf", "png"):
            assert (again / f"{name}.{ext}").read_bytes() == (out / f"{name}.{ext}").read_bytes(), f"{name}.{ext}"
    loaded = {os.path.relpath(f, ROOT) for f in p.stdout.split()}
    outside = {f for f in loaded if os.path.dirname(f) not in style.DRAWING_FOLDERS}
    assert "src/rectifiers/render/style.py" in loaded and not outside, outside


@pytest.mark.parametrize("name", FIGURES)
def test_provenance_in_metadata(drawn, fake, name):
    out, _ = drawn
    meta = PdfReader(out / f"{name}.pdf").metadata
    png = Image.open(out / f"{name}.png").info
    commit = style.drawing_commit(SCRIPTS[name])
    assert commit not in ("", "unknown")
    study_sha = hashlib.sha256((fake / "study.json").read_bytes()).hexdigest()
    for text in (meta["/Keywords"], meta["/Subject"], png["Description"]):
        assert f"scripts/fig_{name}.py" in text and commit in text and study_sha in text
    assert f"scripts/fig_{name}.py" in meta["/Creator"] and commit in meta["/Creator"]
    assert "/CreationDate" not in meta and "Software" not in png
    csvs = [f for f in ("runs.csv", "epochs.csv", "layers.csv", "power.csv", "tuned.csv") if f in meta["/Keywords"]]
    assert csvs, "no results table recorded"
    for f in csvs:
        assert hashlib.sha256((fake / f).read_bytes()).hexdigest() in meta["/Keywords"]


@pytest.mark.parametrize("name", [f for f in FIGURES if f not in ("prelu_slopes", "power")])  # power: by claim
def test_activation_colours_come_from_the_one_table(drawn, name):
    """Every line, scatter, bar or title that stands for an activation has its colour from
    the activation table, and every figure has some."""
    fig = drawn[1][name]
    seen = 0
    for artist in fig.findobj(lambda a: a.get_label() in NAME_TO_ACT):
        act = NAME_TO_ACT[artist.get_label()]
        colour = artist.get_color() if isinstance(artist, Line2D) else artist.get_facecolor()[0]
        assert to_rgba(colour)[:3] == to_rgba(style.colour(act))[:3], (name, act)  # any alpha
        seen += 1
    for ax in fig.axes:
        title = ax.get_title()
        if title.split(" (")[0] in NAME_TO_ACT:
            assert to_rgba(ax.title.get_color()) == to_rgba(style.colour(NAME_TO_ACT[title.split(" (")[0]]))
            seen += 1
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        if ax.patches and ticks and all(t in NAME_TO_ACT for t in ticks):  # bars, one per activation
            for bar, tick in zip(ax.patches, ticks):
                assert to_rgba(bar.get_facecolor()) == to_rgba(style.colour(NAME_TO_ACT[tick]))
                seen += 1
    assert seen


def test_prelu_slopes_draws_each_cell_in_a_shade_of_prelu(drawn, fake):
    """The PReLU-slope figure has one line per cell with PReLU runs (the baseline and each
    knob's deadliest level), each a shade of PReLU's colour: its hue, lighter or darker."""
    res = results.load(fake, "runs")
    deadliest = results.deadliest_levels(res.runs, res.study).level.items()
    cells = {"baseline"} | {style.cell_label(res.study, knob, level) for knob, level in deadliest}
    lines = [line for line in drawn[1]["prelu_slopes"].axes[0].get_lines() if " (n=" in line.get_label()]
    assert sorted(line.get_label().split(" (n=")[0] for line in lines) == sorted(cells)
    hue = colorsys.rgb_to_hsv(*to_rgba(style.colour("prelu"))[:3])[0]
    for line in lines:
        assert colorsys.rgb_to_hsv(*to_rgba(line.get_color())[:3])[0] == pytest.approx(hue, abs=0.03), line.get_label()


def test_stress_accuracy_draws_every_activation_in_every_panel_and_marks_divergence(drawn, fake):
    _, figs = drawn
    acts = set(pd.read_csv(fake / "runs.csv").act)
    panels = [ax for ax in figs["stress_accuracy"].axes if ax.get_xlabel()]
    assert len(panels) == 4
    for ax in panels:
        drawn_acts = {NAME_TO_ACT[line.get_label()] for line in ax.get_lines() if line.get_label() in NAME_TO_ACT}
        assert drawn_acts == acts  # in their colours: test_activation_colours_come_from_the_one_table
        # tests/fake_results.py: one PReLU run diverges at the most stressful level of each knob
        marks = [c for c in ax.collections if (c.get_gid() or "").startswith("diverged:")]
        assert [c.get_gid() for c in marks] == ["diverged:prelu"]
        assert tuple(marks[0].get_facecolor()[0]) == to_rgba(style.colour("prelu"))
        x, y = marks[0].get_offsets()[0]
        assert x == pytest.approx(2, abs=0.3)  # beside the last level
        assert y == pytest.approx(RULES.chance_accuracy)  # at the value it counts as
        assert ax.get_xticklabels()[0].get_text().endswith("(baseline)")


@pytest.mark.parametrize("name", FIGURES)
def test_no_text_below_7pt(drawn, name):
    _, figs = drawn
    texts = [t for t in figs[name].findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert texts
    assert min(t.get_fontsize() for t in texts) >= style.MIN_FONT == 7


def dashes(ls):
    """A line style as its dash pattern (offset, on-off sequence) at line width 1."""
    return Line2D([], [], ls=ls, lw=1)._unscaled_dash_pattern


def test_activations_are_told_apart_without_colour():
    """Every activation has its own colour, and its own marker and dash pattern, so that the
    figures survive grayscale print, where some Okabe-Ito colours look alike (sky blue and
    orange: luminance 0.62 and 0.64)."""
    table = activations.ACTIVATIONS
    for column in (lambda a: to_rgba(a.colour), lambda a: a.marker, lambda a: dashes(a.linestyle)):
        values = [column(a) for a in table]
        assert len(set(values)) == len(values)
    assert dashes(style.linestyle(activations.REFERENCE)) == dashes("-")  # the reference is the solid line


@pytest.mark.parametrize("name", [f for f in FIGURES if f not in ("prelu_slopes", "power")])
def test_activation_lines_carry_the_tables_marker_and_line_style(drawn, name):
    """A line that stands for an activation (a mean line, a legend entry) has the table's
    marker, if it has one, and its dash pattern, if it is drawn as a line."""
    lines = [a for a in drawn[1][name].findobj(Line2D) if a.get_label() in NAME_TO_ACT]
    for line in lines:
        act = NAME_TO_ACT[line.get_label()]
        if line.get_marker() not in ("None", "", None):
            assert line.get_marker() == style.marker(act), (name, act)
        if line.get_linestyle() not in ("None", ""):
            assert line._unscaled_dash_pattern == dashes(style.linestyle(act)), (name, act)
    assert lines or name in ("revival", "layer_heatmap")  # points, bars, cells: no line has a label


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """Every figure drawn from the committed results (results/cpu), where the overlaps that
    synthetic results do not provoke (many diverged runs in one panel) would show."""
    res = ROOT / "results" / "cpu"
    if not (res / "study.json").is_file():
        pytest.skip("no committed results in results/cpu")
    out = tmp_path_factory.mktemp("committed")
    figs = {}
    for name in FIGURES:
        try:
            figs[name] = load_script(f"fig_{name}").main(["--results", str(res), "--out", str(out)])
        except results.ResultsError as e:  # a study not yet run in full
            figs[name] = e
    yield figs
    plt.close("all")


def drawn_texts(fig, monkeypatch) -> list:
    """(text, its extent on the canvas) of every text the figure draws: none that is empty,
    hidden or, as a tick label outside the view, not drawn at all."""
    seen, draw = [], Text.draw

    def recording(self, renderer):
        draw(self, renderer)
        if self.get_visible() and self.get_text().strip():
            seen.append((self, self.get_window_extent(renderer)))

    monkeypatch.setattr(Text, "draw", recording)
    fig.canvas.draw()
    monkeypatch.undo()
    return seen


def overlaps(fig, monkeypatch) -> list[tuple[str, str]]:
    """Pairs of texts whose extents overlap by more than a pixel each way, except two texts
    turned by the same angle (slanted tick labels), whose upright boxes overlap while the
    texts do not."""
    texts, found = drawn_texts(fig, monkeypatch), []
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1:]:
            if a.get_rotation() == b.get_rotation() != 0:
                continue
            dx = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            dy = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if dx > 1 and dy > 1:
                found.append((a.get_text(), b.get_text()))
    return found


def covered_panels(fig) -> list[str]:
    """Legends drawn over a panel (any axes, insets and colour bars included)."""
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    return [" / ".join(t.get_text() for t in legend.get_texts()) for legend in legends
            if any(legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)]


@pytest.mark.parametrize("name", FIGURES)
def test_no_text_runs_into_another_and_no_legend_covers_a_panel(drawn, committed, name, monkeypatch):
    """In the figures from the synthetic and from the committed results, no two texts
    overlap (Figure 6's notes of diverged runs ran into the next panel's) and every legend
    stands outside the panels (Figure 10's covered its lines)."""
    for fig in (drawn[1][name], committed[name]):
        if isinstance(fig, Exception):
            continue
        assert not overlaps(fig, monkeypatch), (name, overlaps(fig, monkeypatch))
        assert not covered_panels(fig), (name, covered_panels(fig))


def test_the_overlap_checks_can_fail(monkeypatch):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.text(0.1, 0.8, "one label")
    ax.text(0.15, 0.8, "another")
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend(loc="lower right")
    assert overlaps(fig, monkeypatch) == [("one label", "another")]
    assert covered_panels(fig) == ["a line"]
    plt.close(fig)


def test_the_deadliest_level_is_where_relu_dies(fake):
    res = results.load(fake, "runs")
    assert results.deadliest_levels(res.runs, res.study).level.to_dict() == {
        "lr": 0.1, "batch_size": 4, "depth": 20, "init_bias": -0.5}


@pytest.mark.parametrize("name", FIGURES)
def test_missing_results_raise_a_clear_error_and_write_nothing(tmp_path, name):
    (tmp_path / "results").mkdir()
    with pytest.raises(results.ResultsError, match=r"missing: run `make (results|power)`"):
        load_script(f"fig_{name}").main(["--results", str(tmp_path / "results"), "--out", str(tmp_path / "figures")])
    assert files_under(tmp_path / "figures") == []


@pytest.mark.parametrize("broken", ["empty", "header only"])
def test_empty_results_raise_a_clear_error(fake, tmp_path, broken):
    copy = copy_results(fake, tmp_path / "results")
    (copy / "runs.csv").write_text("" if broken == "empty" else "run_id,act,status\n")
    with pytest.raises(results.ResultsError, match="runs.csv"):
        load_script("fig_stress_accuracy").main(["--results", str(copy), "--out", str(tmp_path / "figures")])
    assert files_under(tmp_path / "figures") == []


def test_a_missing_part_of_the_study_writes_no_figure(fake, tmp_path):
    """Without PReLU runs there is no slope to show: an error, not an empty figure."""
    copy = copy_results(fake, tmp_path / "results")
    for f in ("runs.csv", "layers.csv"):
        df = pd.read_csv(fake / f)
        df[df.act != "prelu"].to_csv(copy / f, index=False)
    with pytest.raises(results.ResultsError, match="PReLU"):
        load_script("fig_prelu_slopes").main(["--results", str(copy), "--out", str(tmp_path / "figures")])
    assert files_under(tmp_path / "figures") == []


def test_command_line_exits_non_zero_with_the_fix(tmp_path):
    out = tmp_path / "figures"
    p = subprocess.run([sys.executable, str(SCRIPTS["stress_accuracy"]), "--results", str(tmp_path), "--out",
                        str(out)], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode != 0
    assert "study.json is missing" in p.stderr and "make results" in p.stderr
    assert "Traceback" not in p.stderr
    assert not out.exists()


def test_stress_figures_show_every_seed_as_a_point(drawn, fake):
    """Each run of the stress grid is one point (a cross if it diverged) in its knob's panel,
    next to the mean line: nothing is summarised away."""
    res = results.load(fake, "runs")
    rows = results.stress_rows(res.runs, res.study, results.grid_budget(res.runs))
    for name, per_panel in (("stress_accuracy", 1), ("stress_dead", 2)):
        panels = [ax for ax in drawn[1][name].axes if ax.collections]
        knobs = results.plain_knobs(res.study) * per_panel
        assert len(panels) == len(knobs)
        for ax, knob in zip(panels, knobs):
            assert sum(len(c.get_offsets()) for c in ax.collections) == len(rows[rows.knob == knob])


def test_resnet_figure_shows_the_trained_resnet_beside_the_grid(drawn, fake, tmp_path):
    """Figure 4: left, the ResNet at the stress grid's budget; right, the trained ResNet that
    claim 5 is decided on (all training images, the runs rectifiers.analysis.tidy puts at scale
    'trained'), each activation's mean over epochs and every seed; without its epochs the
    right panel says that it is not yet trained."""
    empty = drawn[1]["resnet"].axes[1]
    assert "not yet trained" in [t.get_text() for t in empty.texts]  # the fake has no trained epochs
    runs = pd.read_csv(fake / "runs.csv")
    trained = runs[(runs.model == "resnet") & (runs.train_size == 50000)]
    assert len(trained) and trained.epochs.nunique() == 1
    epochs = pd.read_csv(fake / "epochs.csv")
    extra = pd.DataFrame([{"run_id": r.run_id, "model": r.model, "depth": r.depth, "act": r.act, "lr": r.lr,
                           "batch_size": r.batch_size, "init_bias": r.init_bias, "seed": r.seed, "status": r.status,
                           "epoch": e, "test_acc": 0.1 + 0.7 * e / r.epochs, "dead_ratio": 0.0}
                          for r in trained.itertuples() for e in range(r.epochs + 1)])
    copy = copy_results(fake, tmp_path / "results")
    pd.concat([epochs, extra], ignore_index=True).to_csv(copy / "epochs.csv", index=False)
    fig = load_script("fig_resnet").main(["--results", str(copy), "--out", str(tmp_path / "figures")])
    grid_ax, trained_ax = fig.axes
    grid = runs[(runs.model == "resnet") & (runs.train_size == 5000)]
    for ax, part in ((grid_ax, grid), (trained_ax, trained)):
        means = [line for line in ax.get_lines() if line.get_label() in NAME_TO_ACT]
        assert {NAME_TO_ACT[line.get_label()] for line in means} == set(part.act)
        assert len(ax.get_lines()) - len(means) == len(part)  # one thin line per seed
        assert max(max(line.get_xdata()) for line in means) == part.epochs.max()
    assert "50,000" in trained_ax.get_title() and "5,000" in grid_ax.get_title()
    plt.close(fig)
