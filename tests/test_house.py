"""The house rules a newcomer relies on: the config side loads no torch, and every module and
function of the package is short enough to read in one go (docs/design.md section 8)."""
from __future__ import annotations

import ast
import subprocess
import sys

from conftest import ROOT

PACKAGE = sorted((ROOT / "src" / "rectifiers").glob("*.py"))
TORCH_FREE = ("config", "schema", "files", "data", "records", "study", "activations", "knobs")


def test_the_config_side_loads_no_torch():
    """Checking a sweep, composing a study and working out run ids happen before torch loads."""
    imports = "; ".join(f"import rectifiers.{m}" for m in TORCH_FREE)
    code = f"import sys; {imports}; loaded = [m for m in ('torch', 'torchvision') if m in sys.modules]; print(loaded)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]", p.stdout


def test_modules_and_functions_are_short():
    assert PACKAGE
    too_long = []
    for path in PACKAGE:
        text = path.read_text()
        if len(text.splitlines()) > 300:
            too_long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                too_long.append(f"{path.name}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long
