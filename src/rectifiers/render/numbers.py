"""numbers.tex, built here alone: every number the paper's prose quotes, as LaTeX macros whose
names are letters only and say what they hold. Each part is a module of render/ (the study,
the claims' calibration and sensitivity analyses, the cell means, the estimates, the tuned
study, the mechanism, the committed quick reproduction); this module puts them in order."""
from __future__ import annotations

from pathlib import Path

from .. import provenance
from ..analysis import claims, results
from ..analysis.rules import RULES
from ..files import ROOT
from .cell_numbers import cell_numbers, dead_numbers, scale_numbers
from .claim_numbers import (
    calibration_numbers,
    claim2_cell_noise_numbers,
    claim3_numbers,
    claim5_numbers,
    finished_only_numbers,
    power_numbers,
    reach_numbers,
)
from .estimate_numbers import estimate_numbers
from .mechanism_numbers import mechanism_numbers
from .reproduction import reproduction_numbers
from .study_numbers import claim_numbers, extension_numbers, knob_numbers, rule_numbers, slope_numbers, study_numbers
from .tuned_numbers import tuned_numbers


def numbers(results_dir: Path) -> dict[str, str]:
    """Every macro, in the order numbers.tex lists them."""
    res = results.load(results_dir, "epochs", "layers")
    m, verdicts = study_numbers(res, results_dir), claims.decide(res.tidy(), missing=res.study.get("missing", []))
    for part in (rule_numbers(RULES), provenance.rule_commits(results_dir), calibration_numbers(results_dir),
                 reach_numbers(results_dir), claim3_numbers(res, results_dir, verdicts[2]),
                 claim2_cell_noise_numbers(res, results_dir), claim5_numbers(res, results_dir),
                 extension_numbers(res, results_dir, verdicts), power_numbers(results_dir), finished_only_numbers(res),
                 scale_numbers(res), slope_numbers(res.runs), knob_numbers(res.study), cell_numbers(res),
                 dead_numbers(res, RULES), reproduction_numbers(res, results_dir.name, ROOT), claim_numbers(verdicts),
                 estimate_numbers(res), tuned_numbers(results.load_tuned(results_dir), res.tidy()),
                 mechanism_numbers(res)):
        m.update(part)
    return m


def render(m: dict[str, str]) -> str:
    """numbers.tex's text: one \\newcommand per macro."""
    lines = []
    for name, value in m.items():
        assert name.isalpha(), name
        lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    return "\n".join(lines) + "\n"
