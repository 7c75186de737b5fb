"""The README's findings, from the paper's numbers (src/rectifiers/render/readme.py): written
between the README's findings markers, or with --check, compared with them (exit 1 if stale).

    python scripts/readme_findings.py --numbers paper/generated/numbers.tex --readme README.md
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rectifiers.render import readme


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--numbers", type=Path, default=Path("paper/generated/numbers.tex"))
    ap.add_argument("--readme", type=Path, default=Path("README.md"))
    ap.add_argument("--check", action="store_true", help="compare, write nothing")
    args = ap.parse_args(argv)
    if not args.numbers.is_file():
        sys.exit(f"readme_findings: {args.numbers} is missing: run `make tables` first")
    try:
        text = args.readme.read_text()
        new = readme.with_findings(text, readme.findings(readme.read_numbers(args.numbers)))
    except (KeyError, ValueError) as e:
        sys.exit(f"readme_findings: {e.args[0]}")
    if args.check:
        if new != text:
            sys.exit(f"readme_findings: the findings in {args.readme} are not those of {args.numbers}: "
                     "run `make readme`")
    elif new != text:
        args.readme.write_text(new)
        print(f"readme_findings: {args.readme} updated from {args.numbers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
