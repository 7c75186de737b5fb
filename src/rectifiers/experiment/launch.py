"""scripts/train.py through Hydra (docs/design.md section 3): its command line checked before
Hydra reads it, Hydra's own errors told in one line, a single run checked before Hydra makes
its folder, and that folder, the run's own, as Hydra's output folder.

Hydra writes .hydra/ (config.yaml, hydra.yaml, overrides.yaml) and train.log into its output
folder. Here `hydra.run.dir` and a sweep job's `hydra.sweep.subdir` are `${rectifiers.run_dir:}`
(conf/train.yaml), so they sit in runs/<profile>/<run-id>/ beside metrics.jsonl. A sweep's own
folder, with its multirun.yaml, is timestamped: one per sweep. A stress study sweeps its knob's
levels as `${rectifiers.sweep:${levels.<knob>}}` (conf/levels.yaml). No torch at import.
"""
from __future__ import annotations

import difflib
import os
import sys

from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..files import CONF
from . import data
from .config import ADDED, ConfigError, check_config, check_overrides, run_dir, variants_with

COMPOSITION = (ConfigCompositionException, OverrideParseException)  # Hydra's refusals of a command line


def task_config(config):
    """The run's config: the composed config without Hydra's own node."""
    return OmegaConf.masked_copy(config, [k for k in config if k != "hydra"])


def _run_folder(*, _root_) -> str:
    """`${rectifiers.run_dir:}`: the run's folder. Absolute, so that as a sweep job's subdir it
    replaces the sweep's folder (Hydra joins the two with os.path.join)."""
    return str(run_dir(task_config(_root_)).absolute())


def _sweep(knob) -> str:
    """`${rectifiers.sweep:${levels.lr}}`: a knob's levels (conf/levels.yaml) as a study sweeps
    them, in hydra.sweeper.params: its baseline, then its stress levels ('0.02,0.05,0.1')."""
    return ",".join(str(level) for level in [knob.baseline, *knob.stress])


# At import: every process that runs a job or composes a study imports this module (scripts/
# train.py, experiment/study.py, and the callbacks below).
OmegaConf.register_new_resolver("rectifiers.run_dir", _run_folder, replace=True)
OmegaConf.register_new_resolver("rectifiers.sweep", _sweep, replace=True)


def one_line(e: Exception) -> str:
    """Hydra's message, which runs over several lines (options, search path, a hint), as one
    line naming the problem and the fix."""
    if isinstance(e, MissingConfigException) and e.options and e.missing_cfg_file:
        group, _, name = e.missing_cfg_file.rpartition("/")
        near = difflib.get_close_matches(name, e.options, n=1)
        hint = f"did you mean {'+' if group in ADDED else ''}{group}={near[0]}? " if near else ""
        return f"unknown {group}={name}: {hint}use one of {', '.join(e.options)}"
    cause = e.__cause__
    key = getattr(cause, "full_key", None)  # OmegaConf's: Key 'negative_slope' is not in struct
    if isinstance(cause, OmegaConfBaseException) and key and variants_with(key):
        return not_in_option(key, cause.parent_node)
    if isinstance(e, OmegaConfBaseException):  # its first line, without full_key and object_type
        return f"{e.full_key}: {str(e).splitlines()[0]}" if e.full_key else str(e).splitlines()[0]
    text = str(e).split("\n\n")[0]  # without the options, search path and HYDRA_FULL_ERROR hint
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def not_in_option(key: str, section) -> str:
    """activation.negative_slope with activation=relu: which option has the key instead."""
    by, names = variants_with(key)
    group, leaf = key.split(".")[0], key.rsplit(".", 1)[-1]
    chosen = section.get(by) if section is not None else None
    example = f", e.g. {group}={names[0]}" if names and (CONF / group / f"{names[0]}.yaml").exists() else ""
    return (f"{key}: {group} {chosen} has no {leaf}; it is a setting of {group}.{by}="
            f"{' or '.join(names) or 'none'}{example}")


class CheckRun(Callback):
    """Before a single run, and before Hydra makes its folder: a study needs -m, then the config
    and the data are checked; a refusal is one line. (A sweep: study.CheckStudy.)"""

    def on_run_start(self, config, **kwargs) -> None:
        cfg = task_config(config)
        try:
            if "study" in cfg:  # its grid is hydra.sweeper.params, which a single run ignores
                raise ConfigError(f"+study={cfg.study.name} is a sweep: add -m "
                                  f"(python scripts/train.py -m +study={cfg.study.name} ...)")
            check_config(cfg)
            data.content_fingerprint(cfg.data)  # missing data stops here, before any folder
        except (ConfigError, data.DataError) as e:  # Hydra turns a callback's exceptions into warnings: exit
            sys.exit(f"refused: {e}")
        except OmegaConfBaseException as e:  # e.g. an interpolation of a key that does not exist
            sys.exit(f"refused: {one_line(e)}")


def check_command(argv) -> None:
    """The overrides of a run, a sweep or --cfg, against the schema before Hydra composes them.
    Hydra's own parser tells them from its flags and their values (-sc install=bash, -cn NAME)."""
    from hydra._internal.utils import get_args_parser  # what @hydra.main parses with
    args = get_args_parser().parse_intermixed_args(argv)  # overrides on both sides of -m checked too
    if not (args.shell_completion or args.info or args.help or args.hydra_help):
        check_overrides(args.overrides)


def run_app(main, argv) -> None:
    """Run the Hydra app `main` with every refusal in one line: argv checked first, then Hydra's
    composition errors (an unknown option, a key the chosen option lacks) told in one line."""
    full = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra then raises its errors instead of printing them
    try:
        check_command(argv)
        main()
    except ConfigError as e:
        sys.exit(f"refused: {e}")
    except COMPOSITION as e:
        if full:  # asked for by the user: Hydra's whole message and traceback
            raise
        sys.exit(f"refused: {one_line(e)}")
