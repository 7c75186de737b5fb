"""Train one run (or, with -m, a sweep). Examples:

    python scripts/train.py data=synthetic
    python scripts/train.py activation=leaky_relu activation.negative_slope=0.2 regime=high_lr seed=3
    python scripts/train.py -m +study=lr profile=cpu hydra/launcher=joblib
"""
import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

log = logging.getLogger("rectifiers")


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg):
    from rectifiers.train import train  # here, so that a sweep's launcher process never loads torch
    try:
        return train(cfg)["status"]
    except Exception as e:
        if HydraConfig.get().mode != RunMode.MULTIRUN:
            raise
        log.error("run failed (recorded in its summary.json; the sweep goes on): %s", e)
        return "failed"


if __name__ == "__main__":
    main()
