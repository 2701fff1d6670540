"""Learning-rate selection by final *training* loss: every compared network gets the same grid."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from specinit._core.records import compact_repr
from specinit.training.loop import TrainingDiverged, TrainResult, train

__all__ = ["LrSearch", "tune_lr"]


@dataclass(frozen=True)
class LrSearch:
    """Outcome of :func:`tune_lr`: the best ``model`` (trained), its ``lr`` and :class:`TrainResult`,
    and the final training loss of every learning rate tried (``inf`` where training diverged).
    """

    model: nn.Module
    lr: float
    result: TrainResult
    final_losses: dict[float, float]

    __repr__ = compact_repr


def tune_lr(
    make_model: Callable[[], nn.Module], x: Any, y: Any, lrs: Sequence[float], **train_kwargs: Any
) -> LrSearch:
    """Train a fresh ``make_model()`` with each learning rate; keep the lowest final training loss.

    The final training loss is :attr:`TrainResult.final_loss`, the full-data loss of each run's
    final weights.  The selection looks at training loss only — never at held-out data — so every
    network in a comparison gets the same tuning budget and no test information leaks into it.  A
    learning rate whose run diverges (a non-finite step or final loss) counts as ``inf``; if all
    diverge, the last :class:`TrainingDiverged` is raised.  Ties keep the earlier learning rate.
    """
    if not lrs:
        raise ValueError("tune_lr needs at least one learning rate")
    best: tuple[float, nn.Module, TrainResult, float] | None = None
    losses: dict[float, float] = {}
    failure: TrainingDiverged | None = None
    for lr in lrs:
        model = make_model()
        try:
            result = train(model, x, y, lr=lr, **train_kwargs)
        except TrainingDiverged as exc:
            losses[float(lr)], failure = math.inf, exc
            continue
        losses[float(lr)] = result.final_loss
        if best is None or result.final_loss < best[3]:
            best = (float(lr), model, result, result.final_loss)
    if best is None:
        assert failure is not None
        raise failure
    return LrSearch(model=best[1], lr=best[0], result=best[2], final_losses=losses)
