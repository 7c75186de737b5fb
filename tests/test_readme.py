"""The README's front door: its findings are the committed paper's numbers (scripts/readme_findings.py
from paper/generated/numbers.tex, so they cannot go stale), and its first screen holds the findings,
the two commands and the cheap entry points."""
import subprocess
import sys

import pytest

from conftest import ROOT
from rectifiers.render import readme

README = ROOT / "README.md"


def test_the_findings_are_the_committed_papers_numbers():
    out = subprocess.run([sys.executable, "scripts/readme_findings.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    numbers = readme.read_numbers(ROOT / "paper" / "generated" / "numbers.tex")
    text = README.read_text()
    assert readme.tex_to_text(numbers["LongTwentyReluTrained"]) in text.split(readme.END)[0]


def test_a_stale_readme_is_caught_and_rewritten(tmp_path):
    numbers = tmp_path / "numbers.tex"
    values = readme.read_numbers(ROOT / "paper" / "generated" / "numbers.tex")
    values["LongTwentyReluTrained"] = "3/10"
    numbers.write_text("".join(f"\\newcommand{{\\{k}}}{{{v}}}\n" for k, v in values.items()))
    copy = tmp_path / "README.md"
    copy.write_text(README.read_text())
    cmd = [sys.executable, "scripts/readme_findings.py", "--numbers", str(numbers), "--readme", str(copy)]
    stale = subprocess.run(cmd + ["--check"], cwd=ROOT, capture_output=True, text=True)
    assert stale.returncode == 1 and "make readme" in stale.stderr
    assert subprocess.run(cmd, cwd=ROOT).returncode == 0
    assert "ReLU\n  trains in 3/10 seeds" in copy.read_text()
    assert copy.read_text().split(readme.END)[1] == README.read_text().split(readme.END)[1]  # the rest untouched


def test_tex_to_text_by_hand():
    assert readme.tex_to_text("$+7.1$ [$+6.4$, $+7.8$] points") == "+7.1 [+6.4, +7.8] points"
    assert readme.tex_to_text("$-$1.7") == "−1.7"
    assert readme.tex_to_text("10{,}000") == "10,000"
    assert readme.tex_to_text("4/10") == "4/10"


def test_a_missing_number_or_marker_is_a_clear_error():
    with pytest.raises(KeyError, match="LongTwentyReluTrained"):
        readme.findings({})
    with pytest.raises(ValueError, match="markers"):
        readme.with_findings("# no markers\n", "block")


def test_the_first_screen_has_the_findings_the_two_commands_and_the_cheap_entry_points():
    first = "\n".join(README.read_text().splitlines()[:40])
    for needed in (readme.BEGIN, "make reproduce", "make test", "make paper", "profile=smoke", "rectifiers.diagnose"):
        assert needed in first, needed
