"""Input validation shared by the package: clear errors instead of silent wrong answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor


def as_tensor(value: Any, name: str, *, dtype: torch.dtype | None = None) -> Tensor:
    """``value`` (tensor, array or sequence) as a tensor; errors on NaN/inf and empty input."""
    if isinstance(value, Tensor):
        tensor = value if dtype is None else value.to(dtype)
    else:
        try:
            tensor = torch.as_tensor(np.asarray(value), dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from exc
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty")
    check_finite(tensor, name)
    return tensor


def check_finite(tensor: Tensor, name: str) -> None:
    """Raise if a floating tensor holds NaN or inf, naming how many entries are bad."""
    if tensor.is_floating_point() or tensor.is_complex():
        bad = ~torch.isfinite(tensor)
        if bad.any():
            raise ValueError(
                f"{name} contains {int(bad.sum())} NaN/inf value(s) out of {tensor.numel()}"
            )


def check_same_length(x: Tensor, y: Tensor, x_name: str = "x", y_name: str = "y") -> None:
    """Raise unless ``x`` and ``y`` have the same number of rows."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} have different numbers of samples: "
            f"{x.shape[0]} vs {y.shape[0]}"
        )


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> None:
    """Raise unless ``value`` is a finite positive (or non-negative) number."""
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {kind} number, got {value!r}")
