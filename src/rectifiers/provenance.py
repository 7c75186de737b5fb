"""Provenance in git, the one place the code asks git anything: the commit a run was trained
at (its record), the last commit that changed a figure's drawing code (its metadata), and the
commits that fixed the claim rules and planned the ten-seed extension with the first record
after each (numbers.tex), so that a reader can check that the rules came before the data.
Outside a git checkout every answer is a placeholder, never an error."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from functools import lru_cache
from pathlib import Path

from .files import ROOT


def git(*args) -> str:
    """Output of a git command in the repository, '' where there is no git history."""
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


@lru_cache(maxsize=1)
def git_commit() -> str:
    """HEAD, with +dirty when src/, conf/ or scripts/ differ from it (a run's record)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "conf", "scripts"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def last_commit(paths) -> str:
    """The last commit that changed any of `paths` (git pathspecs): unlike HEAD it stays the
    same across unrelated commits, so a rebuilt figure is the same file."""
    try:
        return subprocess.run(["git", "log", "-1", "--format=%H", "--", *map(str, paths)], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip() or "uncommitted"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def shown(path) -> str:
    """A path as a figure's metadata names it: relative to the repository where it lies inside."""
    path = Path(os.path.abspath(path))
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def made_by(script, commit: str, inputs) -> dict:
    """What a figure records of its making: the script, the commit, the sha256 of every input."""
    return {"script": shown(script), "git": commit,
            "inputs": {shown(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in inputs}}


def _records_path(results_dir: Path) -> str | None:
    """results_dir/runs relative to the repository; None outside it (no history to read)."""
    here = Path(results_dir).resolve()
    return f"{here.relative_to(ROOT)}/runs" if here.is_relative_to(ROOT) else None


def rule_commits(results_dir: Path) -> dict[str, str]:
    """The commit that fixed the claim rules (the one that added conf/claims.yaml) and the
    first later commit that added the record of a run trained by code that already had those
    rules (its summary.json names a descendant of the rules commit)."""
    rules = git("log", "--diff-filter=A", "--format=%H", "--", "conf/claims.yaml").splitlines()
    rules = rules[-1] if rules else ""
    first = ""
    runs = _records_path(results_dir) if rules else None
    log = git("log", "--reverse", "--ancestry-path", "--diff-filter=A", "--name-only", "--format=@%H",
              f"{rules}..HEAD", "--", runs) if runs else ""
    commit = ""
    for line in log.splitlines():
        if line.startswith("@"):
            commit = line[1:]
        elif line.endswith("summary.json"):
            code = json.loads(git("show", f"{commit}:{line}") or "{}").get("git_commit", "").removesuffix("+dirty")
            if code and subprocess.run(["git", "merge-base", "--is-ancestor", rules, code], cwd=ROOT,
                                       capture_output=True).returncode == 0:
                first = commit
                break
    return {"RulesCommit": rules[:12] or "n/a", "FirstRecordCommit": first[:12] or "n/a"}


def extension_commits(results_dir: Path, first_new_seed: int) -> dict[str, str]:
    """The commit that declared the extension (conf/claims.yaml) and the first later commit that
    added the record of a seed it added (`first_new_seed` and above)."""
    plan = git("log", "--reverse", "--format=%H", "-S", "extension:", "--", "conf/claims.yaml").split()
    first = ""
    runs = _records_path(results_dir) if plan else None
    log = git("log", "--reverse", "--diff-filter=A", "--name-only", "--format=@%H", f"{plan[0]}..HEAD", "--",
              runs) if runs else ""
    commit = ""
    for line in log.splitlines():
        if line.startswith("@"):
            commit = line[1:]
        elif line.endswith("summary.json") and int(line.split("/")[-2].rsplit("-s", 1)[1]) >= first_new_seed:
            first = commit
            break
    return {"ExtensionCommit": plan[0][:12] if plan else "n/a", "ExtensionFirstRecordCommit": first[:12] or "n/a"}
