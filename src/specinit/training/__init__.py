"""Training: the seeded loop with callbacks, learning-rate selection, losses, and the Burgers PINN.

* :mod:`.loop` — :func:`train` (SGD or Adam, full batch or shuffled mini-batches, callbacks,
  divergence detection), :func:`evaluate_loss`, :func:`accuracy`, :func:`param_groups`;
* :mod:`.tune` — :func:`tune_lr`: every network in a comparison gets the same learning-rate
  grid, chosen by final *training* loss;
* :mod:`.losses` — the named losses and the data validation shared with the measurements;
* :mod:`.pinn` — the viscous Burgers benchmark (arXiv 2410.02242, 2509.23085).
"""

from specinit.training import pinn
from specinit.training.loop import (
    LR_RULES,
    OPTIMIZERS,
    TrainingDiverged,
    TrainResult,
    TrainState,
    accuracy,
    evaluate_loss,
    param_groups,
    train,
)
from specinit.training.losses import LOSSES, Loss, default_loss, resolve_loss
from specinit.training.tune import LrSearch, tune_lr

__all__ = [
    "train",
    "evaluate_loss",
    "accuracy",
    "param_groups",
    "tune_lr",
    "LrSearch",
    "TrainState",
    "TrainResult",
    "TrainingDiverged",
    "LOSSES",
    "Loss",
    "LR_RULES",
    "OPTIMIZERS",
    "resolve_loss",
    "default_loss",
    "pinn",
]
