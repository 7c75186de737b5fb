"""The whole chain, `make reproduce PROFILE=smoke`, on synthetic data in a copy of the repository.
What the chain makes is checked here; how long it takes is not (a loaded machine must not fail
a test): scripts/smoke_time.py holds that bound."""
import os
import shutil
import subprocess

import pytest
from conftest import ROOT, copy_checkout

TEX = shutil.which("latexmk") and shutil.which("pdflatex") and shutil.which("pdftotext")
FROM_SCRATCH = ("results/smoke", "paper/generated", "paper/main.pdf")  # what the chain must make itself


def remove(path):
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.skipif(not TEX, reason="TeX Live (latexmk, pdflatex, pdftotext) is not installed: "
                                    "apt-get install latexmk texlive-latex-extra texlive-science lmodern poppler-utils")
def test_make_reproduce_smoke_builds_the_paper(tmp_path):
    repo = copy_checkout(tmp_path / "repo")
    for generated in FROM_SCRATCH:
        remove(repo / generated)
    venv = ROOT / ".venv"
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    out = subprocess.run(["make", "reproduce", "PROFILE=smoke", f"VENV={venv}", "-o", f"{venv}/.installed"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "0 failed" in out.stdout  # every sweep's last line
    pdf = repo / "paper" / "main.pdf"
    assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Rectifiers" in text and "smoke" in text
    for fig in ("stress_accuracy", "dynamics", "revival"):
        assert (repo / "figures" / f"{fig}.pdf").exists()
