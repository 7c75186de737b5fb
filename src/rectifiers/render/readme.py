"""The README's findings: a few lines a practitioner reads first, filled from the paper's own
numbers (paper/generated/numbers.tex), so the front door never quotes a number the paper does
not. scripts/readme_findings.py writes them between the README's two FINDINGS markers."""
from __future__ import annotations

import re
from pathlib import Path

BEGIN = "<!-- findings: written by `make readme` from paper/generated/numbers.tex; do not edit -->"
END = "<!-- /findings -->"

FINDINGS = """\
- **Deep plain CNNs (no BatchNorm): use a large slope.** At depth {DepthStress}, trained longer, ReLU
  trains in {LongTwentyReluTrained} seeds, Leaky ReLU 0.3 in {LongTwentyLeakyPointThreeTrained} and PReLU in \
{LongTwentyPreluTrained}. At depth {DepthBaseline} they
  gain {LongEightLeakyPointThreeGain} ({LongEightLeakyPointThreeGainLow} to {LongEightLeakyPointThreeGainHigh}) and \
{LongEightPreluGain} ({LongEightPreluGainLow} to {LongEightPreluGainHigh}) accuracy points
  over ReLU. The default slope {LeakyDefaultSlope} gains {StressLeakyPointZeroOneGain} points over the stressful \
settings.
- **The gain survives tuning.** With each activation's learning rate tuned on held-out images,
  Leaky ReLU 0.3 gains {TunedGainEightLeakyPointThree} at depth {DepthBaseline} and {TunedGainTwentyLeakyPointThree} at
  depth {DepthStress}; PReLU {TunedGainEightPrelu} and {TunedGainTwentyPrelu}. Large slopes diverge at
  learning rate {LrStress} ({StressLrPointOneLeakyPointThreeDiverged} runs of Leaky ReLU 0.3, \
{StressLrPointOneReluDiverged} of ReLU): lower it when switching.
- **A BatchNorm ResNet-{ResnetDepth}: keep ReLU.** No activation beats it; Leaky ReLU 0.3 is
  {TrainedLeakyPointThreeGain} points ({TrainedLeakyPointThreeGainLow} to {TrainedLeakyPointThreeGainHigh}) from it. \
Dead units mark a collapse but do not predict one.

From {NumRuns} runs, {NumSeeds} seeds per setting, and {TunedGridRuns} selection and {TunedComparisonRuns} comparison \
runs of
the tuned study, on a JPEG re-encoded copy of CIFAR-10. Intervals are 95%; the
[paper](paper/main.pdf) has every number with its caveats."""


def read_numbers(path: Path) -> dict[str, str]:
    """numbers.tex's macros: one \\newcommand{\\Name}{value} per line."""
    pairs = re.findall(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}$", Path(path).read_text(), flags=re.M)
    return dict(pairs)


def tex_to_text(value: str) -> str:
    """A macro's LaTeX as Markdown text: '$+7.1$ [$+6.4$, $+7.8$]' -> '+7.1 [+6.4, +7.8]',
    '$-$1.7' -> '−1.7', '10{,}000' -> '10,000'."""
    text = value.replace("$-$", "−").replace("{,}", ",").replace("$", "")
    return text.replace("-", "−") if re.fullmatch(r"-[\d.]+", text) else text


def findings(numbers: dict[str, str]) -> str:
    names = re.findall(r"\{([A-Za-z]+)\}", FINDINGS)
    missing = sorted(set(names) - set(numbers))
    if missing:
        raise KeyError(f"numbers.tex lacks {', '.join(missing)}: run `make tables` first")
    return FINDINGS.format(**{n: tex_to_text(numbers[n]) for n in names})


def with_findings(readme: str, block: str) -> str:
    """The README with `block` between its markers (which it must have, once each)."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise ValueError(f"README.md needs the two findings markers once each, in order:\n{BEGIN}\n{END}")
    head, rest = readme.split(BEGIN)
    return head + BEGIN + "\n" + block + "\n" + END + rest.split(END, 1)[1]
