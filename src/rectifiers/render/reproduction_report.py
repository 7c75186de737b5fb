"""The report of a reproduction (scripts/compare.py report): report.md, the counts of
reproduction.py in words and tables, and compare.pdf/png, committed against reproduced
accuracy of every pair of runs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rectifiers import activations
from rectifiers.analysis import results
from rectifiers.render.reproduction import (
    AGREE,
    NOT_COMPARABLE,
    compare_numbers,
    compare_verdicts,
    conclusion,
    differences,
    flips,
    headline_specs,
    measure,
    paired_runs,
    verdict_seeds,
)
from rectifiers.render.study_numbers import VERSIONS


@dataclass
class Side:
    """What the report reads of one results folder."""
    dir: Path
    res: results.Results
    seeds: dict           # seeds per cell at each claim scale
    verdicts: list        # claims.Verdict
    runs: pd.DataFrame    # the tidy runs with `key`, the configuration without the data
    summaries: list


def verdict_rows(side: Side) -> list[dict]:
    return [{"claim": v.number, "verdict": v.verdict, "not_run": v.not_run,
             "seeds": verdict_seeds(v.scales, side.seeds)}
            for v in side.verdicts]


def machines(summaries: list[dict]) -> dict[str, str]:
    """Per field (CPU, device, git commit, library versions), its values and how many runs had each."""
    fields = {"CPU": lambda s: f"{s.get('cpu') or 'model not recorded'} ({s.get('cpu_capability') or '?'})",
              "device": lambda s: s.get("device"),
              "git commit": lambda s: (str(s.get("git_commit"))[:12]
                                       + ("+dirty" if "dirty" in str(s.get("git_commit")) else "")),
              **{lib: (lambda s, lib=lib: s.get("versions", {}).get(lib)) for lib in VERSIONS}}
    return {k: "; ".join(f"{v} ({n} runs)" for v, n in Counter(f(s) for s in summaries).most_common())
            for k, f in fields.items()}


def table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
           ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]


def run_section(pairs: pd.DataFrame, c: Side, r: Side) -> tuple[list[str], dict]:
    flip = flips(pairs)
    lines = ["## Runs of the same configuration", "",
             f"{flip['pairs']} runs of the reproduction have a committed run of the same configuration (cell, "
             f"activation, seed; the data aside), of {len(r.runs)} reproduced and {len(c.runs)} committed runs.", ""]
    changed = ", ".join(f"{t} {k}" for t, k in flip["status"].items()) or "none"
    lines += [f"- Status changes: {changed}.",
              f"- Collapse changes: {flip['collapsed']} collapsed only in the reproduction, {flip['recovered']} only "
              "in the committed study.", ""]
    scales = pairs.assign(scale=pairs.scale_c.fillna("other"))
    rows = []
    for scale, g in [("all", scales)] + list(scales.groupby("scale", sort=False)):
        d = differences(g)
        rows.append([scale, d["n"]] + ([f"{d[k]:+.1f}" for k in ("mean", "q05", "q25", "median", "q75", "q95")]
                                       + [f"{d['max_abs']:.1f}", f"{d['within_1']}"] if d["n"] else ["-"] * 8))
    lines += ["Accuracy differences, reproduced minus committed run, in points:", ""]
    lines += table(["runs", "pairs", "mean", "5%", "25%", "median", "75%", "95%", "largest |d|", "|d| <= 1"], rows)
    return lines + ["", "![committed against reproduced accuracy of every pair](compare.png)", ""], flip


def report_text(name: str, manifest: dict, c: Side | None, r: Side) -> tuple[str, pd.DataFrame]:
    study = r.res.study
    sample = "every seed" if manifest.get("sample") is None else f"{manifest['sample']} seed(s) per cell"
    if manifest.get("sample_trained") is not None:
        sample += f", {manifest['sample_trained']} of the trained ResNet"
    lines = [f"# Reproduction {name}", "",
             f"- Reproduced: profile {study['profile']}, {study['data_description']} (fingerprint "
             f"{study['data_fingerprint'][:12]}), {study['runs']} runs, {sample}; built in reproductions/{name}/.",
             "- Seeds per cell at the claims' scales (reproduced): "
             + ", ".join(f"{s} {n}" for s, n in r.seeds.items())]
    if c is None:
        lines += ["", f"No committed results of profile {study['profile']} to compare with.", ""]
        return "\n".join(lines) + "\n", pd.DataFrame()
    cs = c.res.study
    lines += [f"- Committed: {c.dir}/, {cs['data_description']} (fingerprint {cs['data_fingerprint'][:12]}), "
              f"{cs['runs']} runs; seeds per cell: " + ", ".join(f"{s} {n}" for s, n in c.seeds.items()), ""]
    verdicts = compare_verdicts(verdict_rows(c), verdict_rows(r))
    lines += ["## Claims", ""] + table(
        ["claim", "committed", "reproduced", "seeds (committed / reproduced)", "agreement"],
        [[v["claim"], v["committed"], v["reproduced"], f"{v['seeds_committed']} / {v['seeds_reproduced']}",
          v["status"] + (f" ({v['why']})" if v["why"] else "")] for v in verdicts])
    agree = sum(v["status"] == AGREE for v in verdicts)
    comparable = sum(v["status"] != NOT_COMPARABLE for v in verdicts)
    lines += ["", f"{agree} of {comparable} comparable verdicts agree ({len(verdicts) - comparable} not comparable). "
              "Each claim's result, reproduced: " + "; ".join(f"({v.number}) {v.result}" for v in r.verdicts), ""]
    specs = headline_specs(c.res)
    numbers = compare_numbers(specs, measure(c.res, specs), measure(r.res, specs))
    held = sum(n["inside"] is True for n in numbers)
    decided = sum(n["inside"] is not None for n in numbers)
    lines += ["## Headline numbers", "",
              "The means of paper/generated/numbers.tex (the gaps with intervals are in the claims' results), in "
              "percent, with the 95% t interval and the number of runs; inside: the committed mean lies inside the "
              "reproduction's interval.", ""]
    lines += table(["macros", "what", "committed", "reproduced", "inside"],
                   [[n["macros"], n["what"], n["committed"], n["reproduced"],
                     {True: "yes", False: "**no**", None: "no interval"}[n["inside"]]] for n in numbers])
    lines += ["", f"{held} of {decided} committed means lie inside the reproduction's 95% interval "
              f"({len(numbers) - decided} without a reproduced interval).", ""]
    pairs = paired_runs(c.runs, r.runs)
    more, flip = run_section(pairs, c, r)
    mc, mr = machines(c.summaries), machines(r.summaries)
    lines += more + ["## Machines and libraries", ""] + table(["", "committed", "reproduced"],
                                                               [[k, mc[k], mr[k]] for k in mc])
    lines += ["", "## Summary", ""] + conclusion(verdicts, numbers, flip)
    return "\n".join(lines) + "\n", pairs


def figure(pairs: pd.DataFrame, tree: Path, inputs: list[Path], script) -> None:
    """compare.pdf/png: committed against reproduced accuracy of every pair, and their differences;
    `script`, the one that made it, goes into its provenance."""
    import matplotlib.pyplot as plt

    from rectifiers.render import style
    style.setup()
    fig, (a, b) = plt.subplots(1, 2, figsize=(style.DOUBLE, 2.8), layout="constrained")
    p = pairs.dropna(subset=["acc_c", "acc_r"]) if len(pairs) else pairs
    if not len(p):
        for ax in (a, b):
            ax.text(0.5, 0.5, "no runs of the same configuration", transform=ax.transAxes, ha="center")
    else:
        for act in activations.ordered(p.act_c.unique()):
            q = p[p.act_c == act]
            a.scatter(100 * q.acc_c, 100 * q.acc_r, s=2 * style.SEED_SIZE, color=style.colour(act),
                      marker=style.marker(act), label=activations.display(act))
        lo, hi = 100 * min(p.acc_c.min(), p.acc_r.min()), 100 * max(p.acc_c.max(), p.acc_r.max())
        a.plot([lo, hi], [lo, hi], color="0.5", lw=0.6, ls="--")
        a.legend(loc="upper left")
        d = 100 * (p.acc_r - p.acc_c)
        b.hist(d, bins=int(np.clip(len(d) // 4, 5, 40)), color="0.45")
        b.axvline(0, color="0.2", lw=0.6)
    a.set_xlabel("committed run: test accuracy (%)")
    a.set_ylabel("reproduced run (%)")
    b.set_xlabel("reproduced - committed accuracy (points)")
    b.set_ylabel("runs of the same configuration")
    style.save(fig, tree, "compare", script, inputs)
    plt.close(fig)

