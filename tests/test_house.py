"""The house rules a newcomer relies on (docs/design.md, the map): what each folder of the
package may load, which way imports run between the folders, every module and function
short enough to read in one go, the scripts' too, and scripts that are commands only: none
imports another or edits sys.path, and no file reaches into a script for anything but its
command (`main`): what two files share lives in the package."""
from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from conftest import ROOT

SRC = ROOT / "src"
PACKAGE = SRC / "rectifiers"
MODULES = sorted(PACKAGE.rglob("*.py"))

# Which folders the modules of a folder may import ("" is the root vocabulary): the root
# imports only itself; spec <- training; analysis <- render; diagnose may use them all.
MAY_IMPORT = {
    "": {""},
    "experiment": {"", "experiment"},
    "training": {"", "experiment", "training"},
    "analysis": {"", "analysis"},
    "render": {"", "analysis", "render"},
    "diagnose": {"", "experiment", "training", "analysis", "render", "diagnose"},
}
# What importing every module of a folder must not load: checking a sweep, composing a study
# and working out run ids happen before torch loads; the analysis and the figures need
# neither torch nor Hydra.
NOT_LOADED = {
    "": ("torch", "torchvision"),
    "experiment": ("torch", "torchvision"),
    "analysis": ("torch", "torchvision", "hydra", "omegaconf"),
    "render": ("torch", "torchvision", "hydra", "omegaconf"),
}


def folder(path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else ""


def module_name(path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_folders(path):
    """(line, what the source says, folder) for every import of the package in a module,
    function bodies included, with relative imports resolved."""
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [(a.name, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            head = ".".join(base + ([node.module] if node.module else []))
            said = "." * node.level + (node.module or "")
            targets = [(f"{head}.{a.name}", f"from {said} import {a.name}") for a in node.names]
        else:
            continue
        for target, said in targets:
            parts = target.split(".")
            if parts[0] == "rectifiers":
                yield node.lineno, said, parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else ""


def test_every_folder_has_its_place_in_the_map():
    assert {folder(p) for p in MODULES} == set(MAY_IMPORT)


def test_imports_run_one_way_between_folders():
    wrong = [f"{p.relative_to(ROOT)}:{line} {said} ({folder(p) or 'the root'} may import only "
             f"{', '.join(sorted(f or 'the root' for f in MAY_IMPORT[folder(p)]))})"
             for p in MODULES for line, said, sub in imported_folders(p) if sub not in MAY_IMPORT[folder(p)]]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("where", NOT_LOADED)
def test_a_folder_loads_nothing_it_must_not(where):
    names = [module_name(p) for p in MODULES if folder(p) == where and p.name != "__main__.py"]
    assert names
    code = (f"import importlib, sys; [importlib.import_module(m) for m in {names!r}]; "
            f"print([m for m in {NOT_LOADED[where]!r} if m in sys.modules])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]", f"importing {where or 'the root'}/ loads {p.stdout.strip()}"


SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def test_modules_and_functions_are_short():
    assert MODULES and SCRIPTS
    too_long = []
    for path in MODULES + SCRIPTS:
        text, name = path.read_text(), path.relative_to(ROOT).as_posix()
        if len(text.splitlines()) > 300:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                too_long.append(f"{name}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long


# --- scripts are commands ----------------------------------------------------------------

SCRIPT_NAMES = {p.stem for p in SCRIPTS}


def test_no_script_imports_another_or_edits_sys_path():
    wrong = []
    for path in SCRIPTS:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
            wrong += [f"{path.name}:{node.lineno} imports scripts/{n}.py" for n in names if n in SCRIPT_NAMES]
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                wrong.append(f"{path.name}:{node.lineno} edits sys.path")
            if isinstance(node, ast.Attribute) and node.attr in ("spec_from_file_location", "run_path"):
                wrong.append(f"{path.name}:{node.lineno} loads a file as a module")
    assert not wrong, "\n".join(wrong)


def script_names(name: str) -> set[str]:
    """What a script defines at its top level, its command `main` aside."""
    defined = set()
    for node in ast.parse((ROOT / "scripts" / f"{name}.py").read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return defined - {"main"}


def reached(path) -> list[str]:
    """What a file takes from a script besides its command: names imported from it, and
    attributes of a script loaded by import or by a loader (a function of the file that calls
    spec_from_file_location; a script whose name is not a constant may give nothing but main)."""
    tree = ast.parse(path.read_text())
    loaders = {f.name for f in ast.walk(tree)
               if isinstance(f, ast.FunctionDef) and "spec_from_file_location" in ast.unparse(f)}

    def loaded(node):  # the script a loader call loads: its name, "" if not a constant, None if no loader call
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in loaders:
            arg = node.args[0] if node.args else None
            return arg.value if isinstance(arg, ast.Constant) and arg.value in SCRIPT_NAMES else ""
        return None
    alias, wrong = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            alias.update({a.asname or a.name: a.name for a in node.names if a.name in SCRIPT_NAMES})
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module in SCRIPT_NAMES:
            wrong += [f"from {node.module} import {a.name}" for a in node.names if a.name != "main"]
        elif isinstance(node, ast.Assign) and loaded(node.value) is not None:
            alias.update({t.id: loaded(node.value) for t in node.targets if isinstance(t, ast.Name)})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr != "main":
            script = (loaded(node.value) if loaded(node.value) is not None
                      else alias.get(getattr(node.value, "id", None)))
            if script == "" or (script and node.attr in script_names(script)):
                wrong.append(f"{ast.unparse(node)} (line {node.lineno})")
    return wrong


def test_no_file_takes_anything_but_its_command_from_a_script():
    files = MODULES + SCRIPTS + sorted((ROOT / "tests").glob("*.py"))
    wrong = [f"{p.relative_to(ROOT)}: {w}" for p in files for w in reached(p)]
    assert not wrong, "move what is shared into the package:\n" + "\n".join(wrong)
