"""Bandwidth-controlling starts: pre-train a network on a chosen 1D signal (arXiv 2206.08558).

A *high-bandwidth* start fits a high-frequency sinusoid ``sin(2π f x)`` first; a
*low-bandwidth* (DC) start fits a constant.  Whatever the network then learns from sparse
samples, the frequencies it carries from its start and that the samples cannot see survive
(Exp. 3b and A.3 of arXiv 2206.08558).  The pre-training is an ordinary seeded
:func:`specinit.training.train` run on a dense grid, so it is reproducible.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from specinit._checks import check_positive
from specinit.initializers.registry import register_model_method

__all__ = ["pretrain_signal_"]


def pretrain_signal_(
    model: nn.Module,
    signal: Callable[[Tensor], Tensor],
    lo: float = -1.0,
    hi: float = 1.0,
    *,
    n: int = 512,
    steps: int = 2000,
    lr: float = 1e-3,
    optimizer: str = "adam",
    seed: int = 0,
    progress: bool = False,
) -> float:
    """Fit a 1D-input ``model`` to ``signal`` on ``n`` grid points of ``[lo, hi)``; returns the final MSE.

    Used as an initializer: the fitted weights are the start of later training.
    """
    from specinit.data import sample_1d
    from specinit.training import train

    x, y = sample_1d(signal, lo, hi, n=n)
    dtype = next(model.parameters()).dtype
    result = train(
        model, x.to(dtype), y.to(dtype), loss="mse", optimizer=optimizer, lr=lr, steps=steps,
        seed=seed, progress=progress, desc="pre-training",
    )
    return result.final_loss


def _seed_of(generator: torch.Generator | None) -> int:
    if generator is None:
        return int(torch.randint(0, 2**31 - 1, ()).item())
    return int(torch.randint(0, 2**31 - 1, (), generator=generator).item())


@register_model_method("high_frequency", needs_data=False)
def _high_frequency(
    model: nn.Module,
    *,
    data: Tensor | None,
    targets: Tensor | None,
    generator: torch.Generator | None,
    freq: float,
    amplitude: float = 1.0,
    lo: float = -1.0,
    hi: float = 1.0,
    n: int = 512,
    steps: int = 2000,
    lr: float = 1e-3,
) -> None:
    """Pre-train a 1D network on A·sin(2π f x) over [lo, hi): a high-bandwidth start (2206.08558 Exp 3b)."""
    check_positive(freq, "freq")
    if freq >= n / (2 * (hi - lo)):
        raise ValueError(
            f"freq={freq} is at or above the Nyquist frequency {n / (2 * (hi - lo))} of the "
            f"{n}-point pre-training grid; raise n"
        )

    def signal(x: Tensor) -> Tensor:
        return amplitude * torch.sin(2 * math.pi * freq * x)

    pretrain_signal_(model, signal, lo, hi, n=n, steps=steps, lr=lr, seed=_seed_of(generator))


@register_model_method("dc", needs_data=False)
def _dc(
    model: nn.Module,
    *,
    data: Tensor | None,
    targets: Tensor | None,
    generator: torch.Generator | None,
    value: float = 0.0,
    lo: float = -1.0,
    hi: float = 1.0,
    n: int = 512,
    steps: int = 2000,
    lr: float = 1e-3,
) -> None:
    """Pre-train a 1D network on a constant: a low-bandwidth start (2206.08558 A.3)."""

    def signal(x: Tensor) -> Tensor:
        return torch.full_like(x, float(value))

    pretrain_signal_(model, signal, lo, hi, n=n, steps=steps, lr=lr, seed=_seed_of(generator))
