"""Train one run (or, with -m, a sweep). Examples:

    python scripts/train.py data=synthetic
    python scripts/train.py activation=leaky_relu activation.negative_slope=0.2 regime=high_lr seed=3
    python scripts/train.py -m +study=lr profile=cpu hydra/launcher=joblib

A mistyped or impossible setting (seed=abc, optim.lrr=0.1, optim.lr=-1, activation=swish) is
refused in one line before any data is loaded, and missing data in one line before any run (or
job) starts (rectifiers.experiment.launch). Each run's folder, runs/<profile>/<run-id>/, is Hydra's output
folder: .hydra/ and train.log are there. Every run ends with a line saying how it ended; a sweep
ends with "N ok, N diverged, N failed" and exits non-zero if any run failed.
"""
import logging
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from rectifiers.experiment.config import ConfigError
from rectifiers.experiment.launch import run_app

log = logging.getLogger("rectifiers")


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg):
    from rectifiers.experiment.data import DataError
    from rectifiers.training.train import train  # here, so that a sweep's launcher process never loads torch
    sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        return train(cfg)["status"]
    except (ConfigError, DataError) as e:  # the message says what to fix: no traceback
        log.error("refused: %s", e)
        if not sweep:
            sys.exit(1)
    except Exception:
        if not sweep:
            raise
        log.exception("the run failed (its summary.json records it); the sweep goes on")
    return "failed"


if __name__ == "__main__":
    run_app(main, sys.argv[1:])  # the overrides checked before Hydra; its refusals in one line
