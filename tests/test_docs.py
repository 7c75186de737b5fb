"""The design document the code names is in the repository: every "docs/design.md section N"
in the code, the scripts and the tests is a section of docs/design.md, and no file names a
design document that does not exist."""
from __future__ import annotations

import re

from conftest import ROOT

DESIGN = ROOT / "docs" / "design.md"
CODE = [p for folder in ("src", "scripts", "tests") for p in sorted((ROOT / folder).rglob("*.py"))]


def test_every_design_section_the_code_names_exists():
    sections = set(re.findall(r"^## (\d+)\. ", DESIGN.read_text(), re.M))
    assert sections
    for path in CODE:
        text = re.sub(r"\s+", " ", path.read_text())
        for n in re.findall(r"docs/design\.md,? sections? (\d+)", text):
            assert n in sections, f"{path.relative_to(ROOT)} names docs/design.md section {n}"


def test_no_file_names_a_design_document_that_is_not_there():
    for path in CODE:
        for name in re.findall(r"[\w/]*DESIGN\.md", path.read_text()):
            assert (ROOT / name).is_file(), f"{path.relative_to(ROOT)} names {name}"
