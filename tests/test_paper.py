"""The paper's generated parts: table and number scripts on synthetic results (valid,
deterministic LaTeX; a clear error and no file without results), every macro the paper
uses is defined by numbers.tex, no number is typed into the prose, the claims' verdicts
follow the data, and (with TeX installed) the PDF builds without undefined references."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, load_script
from fake_results import copy_results, write_fake_results
from rectifiers import activations
from rectifiers.analysis import claims, results, stats
from rectifiers.analysis.tidy import tidy
from rectifiers.render import latex, study_numbers

PAPER = ROOT / "paper"
SCRIPTS = sorted(p.stem for p in (ROOT / "scripts").glob("table_*.py")) + ["make_numbers"]
FIGS = sorted(p.stem[len("fig_"):] for p in (ROOT / "scripts").glob("fig_*.py"))
# Capitalised commands of LaTeX and its packages that the paper may use; every other
# capitalised macro must come from generated/numbers.tex (or be defined in main.tex).
STANDARD = {"Cref", "Crefrange", "FloatBarrier", "LaTeX", "TeX", "Large", "LARGE", "Huge", "S", "P", "Delta",
            "Gamma", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
# Names that contain digits but are not numbers of the study.
NAMED = re.compile(r"CIFAR-10{1,2}|SHA-256|[Cc]laim~?\s*\d")



def run(name: str, results_dir: Path, out: Path):
    """Run a script's main() in-process (the scripts import torch and Hydra: a subprocess
    per call would dominate the test time)."""
    return load_script(name).main(["--results", str(results_dir), "--out", str(out)])


def braces_balanced(text: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\[{}]|[{}]", text):
        if m.group() in "{}":
            depth += 1 if m.group() == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def environments_balanced(text: str) -> bool:
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", text):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            return False
    return not stack


@pytest.fixture(scope="module")
def fake(tmp_path_factory) -> Path:
    return write_fake_results(tmp_path_factory.mktemp("results") / "fake")


@pytest.fixture(scope="module")
def generated(fake, tmp_path_factory) -> Path:
    """paper/generated/ as the Makefile would write it, from the synthetic results."""
    out = tmp_path_factory.mktemp("generated")
    for name in SCRIPTS:
        assert run(name, fake, out / f"{name.replace('make_', '')}.tex") == 0
    return out


def paper_sources() -> dict[str, str]:
    files = [PAPER / "main.tex", *sorted((PAPER / "sections").glob("*.tex"))]
    return {str(p.relative_to(PAPER)): p.read_text() for p in files}


def defined(text: str) -> set[str]:
    return set(re.findall(r"\\(?:re)?newcommand\{?\\([A-Za-z]+)\}?", text))


# --- (a) the scripts -----------------------------------------------------------------

@pytest.mark.parametrize("name", SCRIPTS)
def test_script_writes_valid_deterministic_latex(name, fake, generated, tmp_path):
    first = (generated / f"{name.replace('make_', '')}.tex").read_bytes()
    text = first.decode()
    assert text.strip() and braces_balanced(text) and environments_balanced(text)
    if name.startswith("table_"):
        assert r"\toprule" in text and r"\bottomrule" in text
    assert "nan" not in text.lower().replace("nans", "")  # missing numbers are 'n/a', never NaN
    again = tmp_path / "again.tex"
    assert run(name, fake, again) == 0
    assert again.read_bytes() == first, f"{name} is not deterministic"


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_without_results_fails_clearly(name, tmp_path):
    out = tmp_path / "out.tex"
    with pytest.raises(SystemExit) as e:
        run(name, tmp_path / "nowhere", out)
    assert "missing" in str(e.value.code) and "aggregate" in str(e.value.code)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "runs.csv").write_text("run_id,status\n")
    (empty / "study.json").write_text("{}\n")
    with pytest.raises(SystemExit) as e:
        run(name, empty, out)
    assert "no runs" in str(e.value.code)
    assert not out.exists()


def test_main_table_has_every_cell_and_activation(fake, generated):
    text = (generated / "table_main.tex").read_text()
    res = results.load(fake)
    body = [line for line in text.splitlines() if line.endswith(r"\\")][1:]
    assert len(body) == len(results.cells(res.study))
    for act in res.runs.act.unique():
        assert activations.display(act) in text
    assert "(1/3 div.)" in text  # the fake study's diverged PReLU runs are counted


# --- (b) every macro of the paper is generated; no number is typed ---------------------

@pytest.fixture(scope="module")
def off_design(fake, tmp_path_factory) -> Path:
    """The fake study with every run off the claims' design (another training size), as in the
    smoke profile: no run falls in a scale, no group splits into collapsed and trained runs."""
    out = copy_results(fake, tmp_path_factory.mktemp("results") / "off")
    runs = pd.read_csv(out / "runs.csv")
    runs.assign(train_size=120).to_csv(out / "runs.csv", index=False)
    assert results.load(out).tidy().scale.isna().all()
    return out


@pytest.mark.parametrize("study", ["fake", "off_design"])
def test_every_macro_the_paper_uses_is_defined(study, request, tmp_path):
    if study == "fake":
        numbers_tex = request.getfixturevalue("generated") / "numbers.tex"
    else:
        numbers_tex = tmp_path / "numbers.tex"
        assert run("make_numbers", request.getfixturevalue(study), numbers_tex) == 0
    numbers = defined(numbers_tex.read_text())
    sources = paper_sources()
    local = defined(sources["main.tex"])
    missing = {}
    for name, text in sources.items():
        text = re.sub(r"(?<!\\)%.*", "", text)
        for macro in set(re.findall(r"\\([A-Z][A-Za-z]*)", text)) - STANDARD - local - numbers:
            missing.setdefault(macro, name)
    assert not missing, f"macros used by the paper but not defined in numbers.tex: {missing}"
    assert all(name.isalpha() for name in numbers)


def prose(text: str) -> str:
    """The text a reader reads as prose: without comments, verbatim, math, floats' options
    and the arguments of commands that hold names (labels, references, files, keys)."""
    text = re.sub(r"(?<!\\)%.*", "", text)
    text = text.split(r"\begin{document}")[-1]  # the preamble is settings, not prose
    text = re.sub(r"\\(setcounter|setlength)\s*\{\\?[A-Za-z]+\}\s*\{[^}]*\}", " ", text)
    text = re.sub(r"\\begin\{verbatim\}.*?\\end\{verbatim\}", "", text, flags=re.S)
    text = re.sub(r"\\begin\{(align|equation)\*?\}.*?\\end\{\1\*?\}", "", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", "", text)
    text = re.sub(r"\\(label|ref|cref|Cref|citep?|citet|citeauthor|input|includegraphics|begin|end|"
                  r"bibliography|bibliographystyle|setlength|setcounter|renewcommand|usepackage|"
                  r"documentclass|graphicspath|sisetup|item)\s*(\[[^\]]*\])?\s*\{[^}]*\}", " ", text)
    text = re.sub(r"\[[!htbp]+\]|\[width=[^\]]*\]", " ", text)
    return NAMED.sub(" ", text)


def test_no_number_is_typed_into_the_prose():
    typed = {name: re.findall(r"[^\s]*\d[^\s]*", prose(text)) for name, text in paper_sources().items()}
    typed = {name: found for name, found in typed.items() if found}
    assert not typed, f"numbers typed into the paper (write them as macros of numbers.tex): {typed}"


# --- the claims' verdicts follow the data ----------------------------------------------

def test_claims_verdicts_are_computed_from_the_data(fake):
    res = results.load(fake, "epochs")
    verdicts = {v.number: v.verdict for v in claims.decide(res.tidy())}
    assert set(verdicts) == set(range(1, 7))
    assert set(verdicts.values()) <= {"supported", "contradicted", "inconclusive"}
    assert verdicts[1] == "supported"  # the fake ReLU loses 60% of its units at each knob's harshest level
    healthy = res.runs.copy()  # no ReLU unit ever dies: claim 1 contradicted
    healthy.loc[healthy.act == "relu", ["dead_ratio_peak", "dead_ratio_final", "dead_ratio_init"]] = 0.001 * \
        healthy.loc[healthy.act == "relu", "seed"]
    assert claims.claim1(tidy(healthy)).verdict == "contradicted"


def test_paired_table_prints_the_paired_t_interval_of_the_runs(fake, generated):
    """Recompute one printed interval from runs.csv: the paired t interval of the mean
    difference, PReLU minus ReLU, in the baseline cell."""
    res = results.load(fake)
    base = results.cell_frame(res.runs, res.study)
    base = base[base.cell == "baseline"].set_index(["act", "seed"]).acc
    t = stats.t_test((base["prelu"] - base["relu"]).to_numpy())
    expected = f"${100 * t.mean:+.1f}$ [${100 * t.low:+.1f}$, ${100 * t.high:+.1f}$]"
    row = next(line for line in (generated / "table_paired.tex").read_text().splitlines()
               if line.startswith("Baseline") or ("PReLU" in line and line.startswith(" & PReLU")))
    rows = [line for line in (generated / "table_paired.tex").read_text().splitlines() if "& PReLU &" in line]
    assert expected in rows[0], (expected, rows[0], row)


def test_claim_tests_table_names_method_family_and_correction(fake, generated):
    text = (generated / "table_claim_tests.tex").read_text()
    for v in claims.decide(results.load(fake, "epochs").tidy()):
        assert f"({v.family_size}) {latex.tex_escape(v.family)}" in text and latex.tex_escape(v.correction) in text
    assert "Holm" in text and "stress grid" in text and "trained ResNet" in text


def test_claims_table_marks_a_rule_that_misses_a_bar_and_shows_its_calibration(fake, generated, tmp_path):
    """The fake calibration meets every bar: no mark. A false 'supported' of 9% in claim 2's false
    world under per-cell noise marks claim 2's verdict with a double dagger only."""
    text = (generated / "table_claims.tex").read_text()
    assert "dagger" not in text and "false C: 0.0 / 0.0" in text and "cover: 95.0 / 95.0" in text
    missed = copy_results(fake, tmp_path / "missed")
    cal = pd.read_csv(missed / "claims_calibration.csv")
    cal.loc[(cal.claim == 2) & (cal.noise == "cell") & (cal.role == "false"), "supported"] = 0.09
    cal.to_csv(missed / "claims_calibration.csv", index=False)
    out = tmp_path / "claims.tex"
    assert run("table_claims", missed, out) == 0
    rows = {line.split(" & ")[0]: line for line in out.read_text().splitlines() if re.match(r"\d & ", line)}
    assert r"$^\ddagger$" in rows["2"] and "false S: 0.0 / 9.0" in rows["2"]
    assert not any("dagger" in rows[n] for n in rows if n != "2")


def test_no_interval_is_printed_for_a_single_run(fake, tmp_path):
    """A cell with one run gets its mean, never an interval of zero width."""
    one = copy_results(fake, tmp_path / "one")
    runs = pd.read_csv(fake / "runs.csv")
    runs[runs.seed == 0].to_csv(one / "runs.csv", index=False)
    out = tmp_path / "main.tex"
    assert run("table_main", one, out) == 0
    assert "[" not in out.read_text().split(r"\midrule")[1]
    assert run("table_paired", one, out) == 0
    assert "[$" not in out.read_text()


def test_setup_table_names_the_data_the_runs_used(fake, tmp_path):
    """The reported profile's data source is the one in study.json, not the configured one."""
    import json

    from rectifiers.experiment.data import DESCRIPTIONS
    moved = copy_results(fake, tmp_path / "moved")
    study = json.loads((moved / "study.json").read_text())
    study["profile"] = reported = "cpu"  # a profile of conf/, whose configured source is torchvision
    study["data_description"] = DESCRIPTIONS["folder"].format(root="/data/cifar10-jpeg")
    (moved / "study.json").write_text(json.dumps(study))
    out = tmp_path / "setup.tex"
    assert run("table_setup", moved, out) == 0
    header, source = (next(line for line in out.read_text().splitlines() if line.startswith(start))
                      for start in ("& Setting", "Data & Source"))
    column = [c.strip() for c in header.split("&")].index(f"\\textbf{{{reported}}} (reported)")
    assert [c.strip() for c in source.rstrip(" \\").split("&")][column].startswith("folder (as run; configured:")


def test_calibration_table_lists_the_resnet_pilot_under_its_own_label(fake, tmp_path):
    """Table 1 is the plain CNN's calibration; the ResNet pilot (another network, another
    budget) is listed under its own label, and the epochs the text quotes are the plain ones."""
    copy = copy_results(fake, tmp_path / "cal")
    cal = pd.read_csv(fake / "calibration.csv").assign(model="plain", train_size=5000)
    pilot = {**cal.iloc[0].to_dict(), "run_id": "pilot", "model": "resnet", "depth": 20, "lr": 0.1,
             "batch_size": 128, "epochs": 8, "train_size": 50000, "final_test_acc": 0.8}
    pd.concat([cal, pd.DataFrame([pilot])]).to_csv(copy / "calibration.csv", index=False)
    out = tmp_path / "cal.tex"
    assert run("table_calibration", copy, out) == 0
    lines = out.read_text().splitlines()
    plain_at, pilot_at = (next(i for i, line in enumerate(lines) if label in line)
                          for label in ("Plain CNN", "ResNet pilot"))
    assert plain_at < pilot_at and "5{,}000 images, 3 epochs" in lines[plain_at]
    assert "50{,}000 images, 8 epochs" in lines[pilot_at]
    rows = [i for i, line in enumerate(lines) if re.match(r"\d+ & ", line)]
    assert [i for i in rows if lines[i].startswith("20 & 0.1 & 128")] == [rows[-1]] and rows[-1] > pilot_at
    assert len([i for i in rows if plain_at < i < pilot_at]) == len(cal)
    numbers = study_numbers.study_numbers(results.load(copy), copy)
    assert numbers["CalibrationEpochs"] == "3"
    assert run("table_calibration", fake, out) == 0  # a calibration without a model column: all plain
    assert "ResNet pilot" not in out.read_text()


def test_the_abstract_counts_claims_without_runs_only_when_there_are_some(fake):
    abstract = re.search(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", paper_sources()["main.tex"], re.S).group(1)
    assert r"\ClaimsNotRunClause" in abstract and "of them" not in abstract and r"\NumClaimsNotRun" not in abstract
    claim_numbers = study_numbers.claim_numbers
    t = results.load(fake, "epochs").tidy()
    verdicts = claims.decide(t)
    assert not any(v.not_run for v in verdicts)
    assert claim_numbers(verdicts)["ClaimsNotRunClause"] == ""
    without_trained = claims.decide(t[t.scale != "trained"])  # claim 5 has no runs
    assert claim_numbers(without_trained)["ClaimsNotRunClause"] == \
        " (1 of them because not all its runs are trained yet)"


def figures_in_paper() -> list[tuple[str, str]]:
    """(source file, body) of every figure environment of the paper, comments removed."""
    return [(name, body) for name, text in paper_sources().items()
            for body in re.findall(r"\\begin\{figure\*?\}(.*?)\\end\{figure\*?\}",
                                   re.sub(r"(?<!\\)%.*", "", text), re.S)]


def test_every_figure_caption_names_the_script_that_made_it():
    figures = figures_in_paper()
    assert len(figures) >= len(FIGS) - 1  # every figure script's figure, give or take one in progress
    for name, body in figures:
        graphics = re.findall(r"\\includegraphics\s*(?:\[[^\]]*\])?\{([^}]*)\}", body)
        caption = body[body.index(r"\caption"):]
        named = [n.replace(r"\_", "_") for n in re.findall(r"scripts/fig\\_((?:[a-z]|\\_)+)\.py", caption)]
        assert named, f"{name}: the caption of figure {graphics} names no scripts/fig_*.py"
        for n in named:
            assert (ROOT / "scripts" / f"fig_{n}.py").is_file(), f"{name}: scripts/fig_{n}.py does not exist"
        assert {Path(g).stem for g in graphics} <= set(named), (name, graphics, named)


def test_every_appendix_section_says_what_its_tables_show():
    """No appendix is an empty heading followed by floats: each section has prose that refers
    to each of its tables before the first one, and each table stays in its section (a
    \\FloatBarrier before the next section, or [H])."""
    text = re.sub(r"(?<!\\)%.*", "", paper_sources()["sections/appendix.tex"])
    sections = re.split(r"\\section\{", text)[1:]
    assert len(sections) >= 2
    for i, sec in enumerate(sections):
        title = sec.split("}")[0]
        before = re.split(r"\\begin\{(?:table|figure)\}", sec)[0]
        words = re.sub(r"\\label\{[^}]*\}", " ", before[len(title) + 1:]).split()
        assert len(words) >= 12, f"appendix '{title}' has no text before its floats"
        for label in re.findall(r"\\label\{(tab:[^}]*)\}", sec):
            assert re.search(r"\\[cC]ref\{[^}]*" + re.escape(label), before), f"'{title}' does not refer to {label}"
        last_float = max((m.end() for m in re.finditer(r"\\end\{table\}", sec)), default=None)
        if last_float is not None and i < len(sections) - 1 and "[H]" not in sec:
            assert r"\FloatBarrier" in sec[last_float:], f"the tables of '{title}' may float out of it"


# --- (c) the PDF builds --------------------------------------------------------------

def figures_for(fake: Path, tmp: Path) -> Path:
    """figures/*.pdf of the repository if they are all there, else made from the fake
    results by scripts/fig_*.py (real figures, no placeholders)."""
    repo = ROOT / "figures"
    if all((repo / f"{f}.pdf").exists() for f in FIGS):
        return repo
    missing = [f for f in FIGS if not (ROOT / "scripts" / f"fig_{f}.py").exists()]
    if missing:
        pytest.skip(f"figures/*.pdf absent and no scripts to make {missing}")
    out = tmp / "figures"
    for f in FIGS:
        subprocess.run([sys.executable, str(ROOT / "scripts" / f"fig_{f}.py"), "--results", str(fake),
                        "--out", str(out)], check=True, capture_output=True, cwd=ROOT)
    return out


@pytest.mark.slow
def test_paper_builds_without_undefined_references(fake, generated, tmp_path):
    tools = [t for t in ("latexmk", "pdflatex", "bibtex", "pdftotext") if not shutil.which(t)]
    if tools:
        pytest.skip(f"TeX tools not installed: {', '.join(tools)} (make tex installs them)")
    figures = figures_for(fake, tmp_path)
    paper = tmp_path / "paper"
    shutil.copytree(PAPER, paper, ignore=shutil.ignore_patterns("generated", "*.aux", "*.log", "*.pdf",
                                                                 "*.fdb_latexmk", "*.fls", "*.bbl", "*.blg"))
    shutil.copytree(generated, paper / "generated")
    if figures != tmp_path / "figures":
        shutil.copytree(figures, tmp_path / "figures")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "FORCE_SOURCE_DATE": "1"}
    build = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-quiet", "main.tex"],
                           cwd=paper, env=env, capture_output=True, text=True, timeout=300)
    log = (paper / "main.log").read_text(errors="replace")
    assert build.returncode == 0, log[-3000:]
    for problem in ("undefined references", "Citation", "Reference", "multiply defined"):
        bad = [line for line in log.splitlines() if problem in line and "Warning" in line]
        assert not bad, bad
    text = subprocess.run(["pdftotext", "-layout", "main.pdf", "-"], cwd=paper, capture_output=True, text=True,
                          check=True).stdout
    first = re.search(r"\\newcommand\{\\MainFirstAccuracy\}\{([^}]*)\}",
                      (generated / "numbers.tex").read_text()).group(1)
    assert first in text
    assert "??" not in text
