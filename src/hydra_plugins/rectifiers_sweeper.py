"""Hydra's basic sweeper without its own pass that composes every job before launching them
(conf/hydra/sweeper/checked.yaml, the sweeper of conf/train.yaml).

Hydra's BasicSweeper composes each job once to refuse a bad one before any starts, and the
launcher then composes each job again to run it. Every multirun of this project runs CheckStudy
(src/rectifiers/experiment/study.py) first, which composes and checks every job before the
sweep begins, so that pass would be a third composition. Hydra loads a plugin only from the
hydra_plugins namespace package: hence this file's place, outside the rectifiers package."""
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class CheckedSweeper(BasicSweeper):
    def validate_batch_is_legal(self, batch) -> None:
        """Nothing: CheckStudy.on_multirun_start has composed and checked every job."""
