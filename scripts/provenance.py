"""Provenance in git for numbers.tex (scripts/make_numbers.py): the commit that fixed the claim
rules, the commit that planned the ten-seed extension, and the first record each rule or plan
came before, so a reader can check that the rules came before the study's data."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rectifiers.analysis import claims
from rectifiers.files import ROOT


def git(*args) -> str:
    """Output of a git command in the repository, '' where there is no git history."""
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def rule_commits(results_dir: Path) -> dict[str, str]:
    """The commit that fixed the claim rules (the one that added conf/claims.yaml) and the
    first later commit that added the record of a run trained by code that already had those
    rules (its summary.json names a descendant of the rules commit): the paper cites both, so
    a reader can check that the rules came before the study's data."""
    rules = git("log", "--diff-filter=A", "--format=%H", "--", "conf/claims.yaml").splitlines()
    rules = rules[-1] if rules else ""
    first = ""
    if rules:
        here = Path(results_dir).resolve()
        rel = here.relative_to(ROOT) if here.is_relative_to(ROOT) else None
        log = git("log", "--reverse", "--ancestry-path", "--diff-filter=A", "--name-only", "--format=@%H",
                  f"{rules}..HEAD", "--", f"{rel}/runs") if rel else ""
        commit = ""
        for line in log.splitlines():
            if line.startswith("@"):
                commit = line[1:]
            elif line.endswith("summary.json"):
                code = json.loads(git("show", f"{commit}:{line}") or "{}").get("git_commit", "")
                code = code.removesuffix("+dirty")
                if code and subprocess.run(["git", "merge-base", "--is-ancestor", rules, code], cwd=ROOT,
                                           capture_output=True).returncode == 0:
                    first = commit
                    break
    return {"RulesCommit": rules[:12] or "n/a", "FirstRecordCommit": first[:12] or "n/a"}



def extension_commits(results_dir: Path) -> dict[str, str]:
    """The commit that declared the extension (conf/claims.yaml) and the first later commit that
    added the record of a seed it added."""
    plan = git("log", "--reverse", "--format=%H", "-S", "extension:", "--", "conf/claims.yaml").split()
    first = ""
    here = Path(results_dir).resolve()
    if plan and here.is_relative_to(ROOT):
        log = git("log", "--reverse", "--diff-filter=A", "--name-only", "--format=@%H", f"{plan[0]}..HEAD", "--",
                  f"{here.relative_to(ROOT)}/runs")
        commit = ""
        for line in log.splitlines():
            if line.startswith("@"):
                commit = line[1:]
            elif line.endswith("summary.json") and int(line.split("/")[-2].rsplit("-s", 1)[1]) >= claims.FIVE_SEEDS:
                first = commit
                break
    return {"ExtensionCommit": plan[0][:12] if plan else "n/a", "ExtensionFirstRecordCommit": first[:12] or "n/a"}
