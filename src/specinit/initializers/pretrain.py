"""Bandwidth-controlling starts: pre-train a network on a chosen signal or on random labels
(arXiv 2206.08558).

A *high-bandwidth* start fits a high-frequency sinusoid ``A sin(2π f x)`` first (1D
networks) or memorizes randomly shuffled class labels (image classifiers, Exp. 4); a
*low-bandwidth* (DC) start fits a constant.  Whatever the network then learns from sparse
samples, the frequencies it carries from its start and that the samples cannot see survive
(Exp. 3b and A.3 of arXiv 2206.08558).  The network is first re-initialized with ``base``
from the same generator, then pre-trained by a seeded :func:`specinit.train` run — so the
start depends on the generator (and the data) only, not on the model's previous weights.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_int, check_positive, check_same_length
from specinit._core.deprecation import renamed_kwargs
from specinit._core.fourier import nyquist
from specinit._core.rng import GeneratorLike, derive_seed
from specinit.data import random_labels, sample_1d
from specinit.initializers.registry import init_, register_model_method, set_signature
from specinit.training import train

__all__ = ["pretrain_signal_", "pretrain_random_labels_"]


@renamed_kwargs(seed="generator")
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
    generator: GeneratorLike = 0,
    progress: bool = False,
) -> nn.Module:
    """Fit a 1D-input ``model`` in place to ``signal`` on ``n`` points of ``[lo, hi)``; returns it.

    Minimizes ``mean_j (f_θ(x_j) − signal(x_j))²`` with ``x_j = lo + j (hi − lo)/n`` — the
    "pre-train on a signal" start of arXiv 2206.08558 (Exp 3b, A.3).  ``generator`` seeds the
    :func:`specinit.train` run (mini-batches, dropout).
    """
    params = list(model.parameters())
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameters to pre-train")
    x, y = sample_1d(signal, lo, hi, n=n)
    train(
        model,
        x.to(params[0].dtype),
        y.to(params[0].dtype),
        loss="mse",
        optimizer=optimizer,
        lr=lr,
        steps=steps,
        generator=generator,
        progress=progress,
        desc="pre-training",
    )
    return model


@renamed_kwargs(seed="generator")
def pretrain_random_labels_(
    model: nn.Module,
    data: Any,
    targets: Any,
    *,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 128,
    optimizer: str = "adam",
    generator: GeneratorLike = 0,
    progress: bool = False,
    amp: bool = False,
) -> nn.Module:
    """Fit ``model`` in place to ``data`` with labels ``targets[π]`` shuffled by ``generator``; returns it.

    Minimizes the cross-entropy ``−mean_i log softmax(f_θ(x_i))_{y_π(i)}`` for ``epochs``
    epochs, with ``π`` the permutation of :func:`specinit.data.random_labels` drawn from one
    seed ``s`` (``generator`` itself when it is an int, else one draw from it; class counts
    kept, labels independent of the inputs) — the "pre-train on randomly shuffled labels"
    high-bandwidth start of arXiv 2206.08558 (Exp 4).  The seeded :func:`specinit.train` run
    (mini-batch shuffling, dropout) uses the same ``s``; ``amp`` trains in mixed precision
    (:func:`specinit.train`).
    """
    x, y = _labelled(data, targets)
    seed = derive_seed(generator)
    train(
        model,
        x,
        random_labels(y, generator=seed),
        loss="cross_entropy",
        optimizer=optimizer,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        generator=seed,
        progress=progress,
        desc="random-label pre-training",
        amp=amp,
    )
    return model


def _labelled(data: Any, targets: Any) -> tuple[Tensor, Tensor]:
    """``(data, targets)`` as tensors: finite inputs with one integer class label per row."""
    if targets is None:
        raise ValueError("random-label pre-training needs targets= (the class labels to shuffle)")
    x = as_tensor(data, "data")
    y = as_tensor(targets, "targets")
    if y.ndim != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(
            f"targets must be a 1-D tensor of integer class labels, got shape {tuple(y.shape)} "
            f"and dtype {y.dtype}"
        )
    check_same_length(x, y, "data", "targets")
    return x, y


@register_model_method("random_labels")
def _random_labels(
    model: nn.Module,
    *,
    data: Tensor | None,
    targets: Tensor | None,
    generator: GeneratorLike,
    base: str = "xavier_normal",
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 128,
    optimizer: str = "adam",
    progress: bool = False,
) -> None:
    """Re-init with `base`, then pre-train on `data` with shuffled `targets` (cross-entropy): a
    high-bandwidth image start (2206.08558 Exp 4). Options: base, epochs, lr, batch_size,
    optimizer, progress.

    One seed ``s`` is drawn from ``generator``; the model is re-initialized with
    ``init_(model, base, generator=s)`` and pre-trained by
    ``pretrain_random_labels_(model, data, targets, generator=s, ...)``, so the labels are
    ``specinit.data.random_labels(targets, generator=s)``.
    """
    _labelled(data, targets)  # refuse bad labels before the model is touched
    check_int(epochs, "epochs")
    check_positive(lr, "lr")
    seed = derive_seed(generator)
    init_(model, base, generator=seed)
    pretrain_random_labels_(
        model,
        data,
        targets,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        optimizer=optimizer,
        generator=seed,
        progress=progress,
    )


def _check_1d(model: nn.Module, method: str, lo: float, hi: float) -> None:
    """A clear ``TypeError`` before anything is touched when ``model`` does not map a 1D grid
    ``x`` of shape ``(n, 1)`` to one output per point, as the signal pre-training needs (a CNN or a
    token model fails inside its first layer).  The probe runs two points in eval mode without
    gradients and restores every module's mode, so no running statistic moves.
    """
    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.get_default_dtype()
    device = params[0].device if params else None
    x = torch.tensor([[lo], [hi]], dtype=dtype, device=device)
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            out = model(x)
    except Exception as error:  # any failure means the model does not take 1D input
        raise TypeError(
            f"method {method!r} pre-trains a network of one input on x of shape (n, 1); "
            f"{type(model).__name__} fails on it: {type(error).__name__}: {str(error).splitlines()[0]}"
        ) from error
    finally:
        for module, mode in modes:
            module.training = mode
    if not isinstance(out, Tensor) or out.shape not in ((2,), (2, 1)):
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise TypeError(
            f"method {method!r} fits one output per point, but {type(model).__name__} maps x of "
            f"shape (2, 1) to {shape}"
        )


def _register_pretrain(
    name: str, make_signal: Callable[..., Callable[[Tensor], Tensor]], summary: str
) -> None:
    """Register ``name`` as: re-initialize with ``base``, then pre-train on ``make_signal(**kw)``."""

    def method(
        model: nn.Module,
        *,
        data: Tensor | None,
        targets: Tensor | None,
        generator: GeneratorLike,
        base: str = "xavier_normal",
        lo: float = -1.0,
        hi: float = 1.0,
        n: int = 512,
        steps: int = 2000,
        lr: float = 1e-3,
        progress: bool = False,
        **signal_options: float,
    ) -> None:
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"need a finite interval lo < hi, got lo={lo}, hi={hi}")
        signal = make_signal(n=n, lo=lo, hi=hi, **signal_options)
        _check_1d(model, name, lo, hi)
        seed = derive_seed(generator)
        init_(model, base, generator=seed)
        pretrain_signal_(model, signal, lo, hi, n=n, steps=steps, lr=lr, generator=seed, progress=progress)

    # Expose the signal's own options (freq, amplitude, value) in the signature, so init_
    # reports missing and unknown options by name.
    own = [p for p in inspect.signature(method).parameters.values() if p.kind is not p.VAR_KEYWORD]
    extra = [p for p in inspect.signature(make_signal).parameters.values() if p.name not in {"n", "lo", "hi"}]
    set_signature(method, inspect.Signature(own + extra))
    method.__doc__ = summary
    register_model_method(name, needs_data=False)(method)


def _sinusoid(
    *, n: int, lo: float, hi: float, freq: float, amplitude: float = 1.0
) -> Callable[[Tensor], Tensor]:
    check_positive(freq, "freq")
    limit = nyquist(lo, hi, n)
    if freq >= limit:
        raise ValueError(
            f"freq={freq} is at or above the Nyquist frequency {limit:g} of the {n}-point "
            "pre-training grid; raise n"
        )
    return lambda x: amplitude * torch.sin(2 * math.pi * freq * x)


def _constant(*, n: int, lo: float, hi: float, value: float = 0.0) -> Callable[[Tensor], Tensor]:
    return lambda x: torch.full_like(x, float(value))


_register_pretrain(
    "high_frequency",
    _sinusoid,
    "Re-init with `base`, then pre-train a 1D network on A·sin(2π f x) over [lo, hi): a "
    "high-bandwidth start (2206.08558 Exp 3b). Options: freq (required), amplitude, base, lo, hi, "
    "n, steps, lr, progress.",
)
_register_pretrain(
    "dc",
    _constant,
    "Re-init with `base`, then pre-train a 1D network on a constant `value`: a low-bandwidth "
    "start (2206.08558 A.3). Options: value, base, lo, hi, n, steps, lr, progress.",
)
