"""The whole chain on synthetic data in a copy of the repository, with git: one study of the smoke
profile trained and aggregated (the committed tree, a one-seed sample), then `make reproduce` of the
same sample on a second synthetic dataset (another fingerprint), which trains every study, runs every
step (train, results, calibrate, figures, tables, paper, compare), builds its own PDF and report under
reproductions/, pairs its runs of that study with the committed ones, and leaves the committed tree
byte for byte as it was (git status). The committed tree's own
figures, tables and paper are the same Makefile rules at another path; tests/test_paper.py builds
that paper. What the chain makes is checked here; how long it takes is not (a loaded machine must
not fail a test): scripts/smoke_time.py holds that bound. One job per sweep: under pytest -n 2 the
other core is taken, and a second worker per sweep would only add its start-up."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, copy_checkout

TEX = shutil.which("latexmk") and shutil.which("pdflatex") and shutil.which("pdftotext")
FROM_SCRATCH = ("results/smoke", "paper/generated", "paper/main.pdf")  # what the chain must make itself
OTHER_DATA = "data.synthetic_train=128"  # a second synthetic dataset, and a faster one


def remove(path):
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def pdf_text(pdf):
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
@pytest.mark.skipif(not TEX, reason="TeX Live (latexmk, pdflatex, pdftotext) is not installed: "
                                    "apt-get install latexmk texlive-latex-extra texlive-science lmodern poppler-utils")
def test_the_smoke_chain_builds_the_paper_and_a_reproduction_beside_it(tmp_path):
    repo = copy_checkout(tmp_path / "repo")
    for generated in FROM_SCRATCH:
        remove(repo / generated)
    venv = ROOT / ".venv"
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    # bytecode once, as make test compiles the checkout's, not in each of the chain's many processes
    subprocess.run([f"{venv}/bin/python", "-m", "compileall", "-q", "src"], cwd=repo, check=True)

    def run(*args, timeout=1800):
        return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    make = ["make", "PROFILE=smoke", "JOBS=1", f"VENV={venv}", "-o", f"{venv}/.installed"]

    # the committed tree: records and results/smoke/ of one seed of the lr study's cells, which the
    # reproduction's runs of them pair with; the reproduction trains one seed of every study but the
    # trained ResNet and the tuned study (tests/test_tuning.py)
    sample = ["SAMPLE=1", "SAMPLE_TRAINED=0", "SAMPLE_TUNED=0"]
    out = run(*make, "train", "results", *sample, "STUDIES=lr")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "0 failed" in out.stdout  # every sweep's last line
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the committed smoke study"]):
        assert run(*git, *step).returncode == 0
    # the committed data and records: make reproduce would rebuild the committed tree
    out = run(f"{venv}/bin/python", "scripts/compare.py", "locate", "--profile", "smoke")
    assert out.returncode == 0 and out.stdout.strip() == "", out.stderr

    # a reproduction of that sample on other data, so its paper is built without tuned runs
    out = run(*make, "reproduce", *sample, f"DATA={OTHER_DATA}")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    [tree] = (repo / "reproductions").glob("smoke-*")  # beside the committed reproductions of other profiles
    committed = json.loads((repo / "results" / "smoke" / "study.json").read_text())
    study = json.loads((tree / "results" / "smoke" / "study.json").read_text())
    assert tree.name == f"smoke-synthetic-{study['data_fingerprint'][:12]}"
    assert study["data_fingerprint"] != committed["data_fingerprint"] and study["seeds"] == [0]
    text = pdf_text(tree / "paper" / "main.pdf")
    assert "Rectifiers" in text and "smoke" in text and study["data_fingerprint"][:12] in text
    for fig in ("stress_accuracy", "dynamics", "revival"):
        assert (tree / "figures" / f"{fig}.pdf").exists()
    assert (tree / "compare.pdf").exists()
    report = (tree / "report.md").read_text()
    for section in ("## Claims", "## Headline numbers", "## Runs of the same configuration",
                    "## Machines and libraries", "## Summary"):
        assert section in report
    n_lr = 5 * 3  # the committed runs: 5 activations at 3 learning rates
    assert committed["runs"] == n_lr and study["runs"] > n_lr
    assert f"{n_lr} runs of the reproduction have a committed run of the same configuration" in report
    last = report.strip().splitlines()[-3:]
    assert last[0].startswith("Agreed: ") and last[1].startswith("Did not agree: ") and f"of {n_lr} paired" in last[0]
    assert json.loads((tree / "reproduction.json").read_text())["state"] == "complete"
    # nothing of the committed tree changed, byte for byte (reproductions/ is ignored)
    status = run("git", "status", "--porcelain")
    assert status.returncode == 0 and status.stdout == "", status.stdout
