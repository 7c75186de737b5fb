"""The whole chain, `make reproduce PROFILE=smoke`, on synthetic data in a copy of the repository."""
import os
import shutil
import subprocess
import time

import pytest
from conftest import ROOT

TEX = shutil.which("latexmk") and shutil.which("pdflatex") and shutil.which("pdftotext")


@pytest.mark.slow
@pytest.mark.skipif(not TEX, reason="TeX Live (latexmk, pdflatex, pdftotext) is not installed: "
                                    "apt-get install latexmk texlive-latex-extra texlive-science lmodern poppler-utils")
def test_make_reproduce_smoke_builds_the_paper(tmp_path):
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    repo = tmp_path / "repo"
    for f in files:
        if (ROOT / f).is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, repo / f)
    for generated in ("results/smoke", "paper/generated", "paper/main.pdf"):  # made from scratch
        shutil.rmtree(repo / generated, ignore_errors=True) if (repo / generated).is_dir() else \
            (repo / generated).unlink(missing_ok=True)
    venv = ROOT / ".venv"
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    t = time.time()
    out = subprocess.run(["make", "reproduce", "PROFILE=smoke", f"VENV={venv}", "-o", f"{venv}/.installed"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert time.time() - t < 300, "the smoke chain must finish in under 5 minutes"
    pdf = repo / "paper" / "main.pdf"
    assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Rectifiers" in text and "smoke" in text
    for fig in ("stress_accuracy", "dynamics", "revival"):
        assert (repo / "figures" / f"{fig}.pdf").exists()
