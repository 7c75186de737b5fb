"""Every number the paper's prose quotes, as LaTeX macros (paper/generated/numbers.tex):
counts of runs, levels, the dead ratios and accuracies of the cells the text discusses,
the claims' verdicts and rules, provenance (data fingerprint, git commit, versions) and the
study's wall time. Macro names are letters only and say what they hold; the numbers are
built by rectifiers.render.numbers.

    python scripts/make_numbers.py --results results/cpu --out paper/generated/numbers.tex
"""
from __future__ import annotations

import sys

from rectifiers.render import cli, numbers


def main(argv=None) -> int:
    return cli.generated_main("make_numbers", lambda d: numbers.render(numbers.numbers(d)), argv)


if __name__ == "__main__":
    sys.exit(main())
