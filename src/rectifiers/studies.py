"""The studies by role (conf/study/<name>.yaml): which are run first, which make up the stress
grid, and which studies each claim scale is decided on. Pure data, no Hydra: the claims
(analysis/) read the scales, and experiment/study.py composes the studies.
"""
from __future__ import annotations

STUDIES = ("lr", "batch_size", "depth", "init_bias", "resnet")  # the stress grid, in order
# claim scale -> the studies its runs come from
STUDIES_BY_SCALE = {"stress": STUDIES, "long": ("plain_long",), "trained": ("resnet_trained",)}
# the same questions with networks that learned more
SCALE_STUDIES = (*STUDIES_BY_SCALE["long"], *STUDIES_BY_SCALE["trained"])
CALIBRATION = ("calibration", "resnet_pilot")  # the baseline's calibration and the ResNet pilot, run first
TUNED = ("tuned",)  # each activation at its own learning rate: scripts/tune.py trains it after the others
