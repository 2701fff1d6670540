"""Losses and the validation that puts data where a model lives.

:data:`LOSSES` names the losses :func:`specinit.train` and the measurements understand (any
``callable(pred, target) -> scalar`` that averages over its batch also works);
:func:`prepare` validates ``(x, y)`` for a loss and moves them to the model's device and dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from specinit._core.checks import as_tensor, check_same_length

__all__ = [
    "LOSSES",
    "Loss",
    "LossFn",
    "resolve_loss",
    "default_loss",
    "prepare",
    "prepare_validation",
    "check_labels",
]

LossFn = Callable[[Tensor, Tensor], Tensor]
Loss = str | LossFn


def _mse(pred: Tensor, target: Tensor) -> Tensor:
    if pred.shape != target.shape:
        if pred.numel() != target.numel():
            raise ValueError(
                f"mse: model output shape {tuple(pred.shape)} does not match target shape "
                f"{tuple(target.shape)}"
            )
        target = target.reshape(pred.shape)  # e.g. y of shape (n,) against outputs (n, 1)
    return F.mse_loss(pred, target)


#: Loss names understood by :func:`train` (any ``callable(pred, target) -> scalar`` also works).
LOSSES: dict[str, LossFn] = {"mse": _mse, "cross_entropy": F.cross_entropy}


def resolve_loss(loss: Loss) -> tuple[LossFn, str]:
    """The loss function and its name, from a name in :data:`LOSSES` or a callable."""
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)} or pass a callable")
        return LOSSES[loss], loss
    if callable(loss):
        return loss, getattr(loss, "__name__", type(loss).__name__)
    raise TypeError(f"loss must be a name or a callable(pred, target), got {type(loss).__name__}")


def prepare(
    x: Any, y: Any, loss_name: str, device: torch.device, dtype: torch.dtype, x_name: str, y_name: str
) -> tuple[Tensor, Tensor]:
    """Validate ``(x, y)`` and move them to the model's device (floats cast to its dtype)."""
    x = as_tensor(x, x_name)
    y = as_tensor(y, y_name)
    check_same_length(x, y, x_name, y_name)
    if x.is_floating_point():
        x = x.to(dtype)
    if loss_name == "cross_entropy":
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(
                f"cross_entropy needs integer class labels in {y_name} (int64), got dtype {y.dtype}; "
                f"convert with {y_name}.long() if they are whole numbers"
            )
        if y.ndim != 1:
            raise ValueError(f"cross_entropy labels {y_name} must be 1-D, got shape {tuple(y.shape)}")
        if int(y.min()) < 0:
            raise ValueError(f"class labels in {y_name} must be non-negative, found {int(y.min())}")
        y = y.long()
    elif loss_name == "mse" or y.is_floating_point():
        y = y.to(dtype)
    return x.to(device), y.to(device)


def prepare_validation(
    x_val: Any, y_val: Any, loss_name: str, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor] | None:
    """``(x_val, y_val)`` prepared as :func:`prepare` does, or ``None`` when neither is given."""
    if x_val is None and y_val is None:
        return None
    if x_val is None or y_val is None:
        raise ValueError("give both x_val and y_val, or neither")
    return prepare(x_val, y_val, loss_name, device, dtype, "x_val", "y_val")


def check_labels(pred: Tensor, labels: Tensor, name: str) -> None:
    """Cross-entropy needs ``(n, classes)`` outputs and every label in ``0 .. classes - 1``."""
    if pred.ndim != 2:
        raise ValueError(f"cross_entropy needs (n, classes) model outputs, got shape {tuple(pred.shape)}")
    top = int(labels.max())
    if top >= pred.shape[1]:
        raise ValueError(
            f"{name} holds class label {top} but the model has {pred.shape[1]} outputs "
            f"(labels must lie in 0..{pred.shape[1] - 1})"
        )


def default_loss(y: Tensor) -> str:
    """``"cross_entropy"`` for integer targets, else ``"mse"``."""
    integer = not (y.is_floating_point() or y.is_complex() or y.dtype == torch.bool)
    return "cross_entropy" if integer else "mse"
