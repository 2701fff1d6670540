"""Input validation shared by the package: clear errors instead of silent wrong answers."""

from __future__ import annotations

import math
import numbers
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
    """Raise if a floating tensor holds NaN or inf, naming how many entries are bad.

    NaN/inf make the sum NaN/inf, so one reduction clears a clean tensor; the elementwise
    count runs only when the sum is not finite (bad entries, or an overflowing sum).
    """
    if tensor.is_floating_point() or tensor.is_complex():
        if bool(torch.isfinite(tensor.sum())):
            return
        bad = ~torch.isfinite(tensor)
        if bad.any():
            raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf value(s) out of {tensor.numel()}")


def check_same_length(x: Tensor, y: Tensor, x_name: str = "x", y_name: str = "y") -> None:
    """Raise unless ``x`` and ``y`` have the same number of rows."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} have different numbers of samples: {x.shape[0]} vs {y.shape[0]}"
        )


def _real(value: Any, name: str) -> float:
    """``value`` as a float if it is a real number (not a bool), else a TypeError naming ``name``.

    Python and NumPy scalars count, as do 0-d arrays and tensors of a real, non-bool dtype.
    """
    number = value.item() if isinstance(value, (np.ndarray, Tensor)) and value.ndim == 0 else value
    if not isinstance(number, (bool, np.bool_)) and isinstance(number, numbers.Real):
        return float(number)
    raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a ``float``; raise unless it is a finite positive (or non-negative) real number.

    A bool or a non-number (string, ``None``, array) is a ``TypeError`` naming ``name``.
    """
    number = _real(value, name)
    ok = math.isfinite(number) and (number >= 0 if allow_zero else number > 0)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {kind} number, got {value!r}")
    return number


def check_float(value: Any, name: str) -> float:
    """``value`` as a finite ``float``; TypeError for a bool or non-number, ValueError for NaN/inf."""
    number = _real(value, name)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def check_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as an ``int`` ``>= minimum``: TypeError for a bool or non-integer, else ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)
