"""The licence and the citation metadata: CITATION.cff is valid (cffconvert, of the test extra)
and says what the repository says elsewhere: the paper's title, the package's version, the
code's licence (LICENSE) and the paper's (README)."""
from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT

try:
    from cffconvert import Citation
except ImportError as e:
    raise ImportError("cffconvert is missing: install the test extra, pip install -e '.[test]' "
                      "(make test does)") from e

CFF = ROOT / "CITATION.cff"


def test_citation_file_is_valid():
    Citation(CFF.read_text()).validate()  # raises on a file that does not follow the schema


def test_citation_agrees_with_the_repository():
    cff = yaml.safe_load(CFF.read_text())
    title = re.search(r"\\title\{(.*)\}", (ROOT / "paper" / "main.tex").read_text()).group(1)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    paper = cff["preferred-citation"]
    assert cff["title"] == paper["title"] == title
    assert cff["version"] == project["version"]
    assert cff["authors"] == paper["authors"] and paper["type"] == "report"
    assert cff["license"] == project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert paper["license"] == "CC-BY-4.0" and "CC BY 4.0" in (ROOT / "README.md").read_text()
