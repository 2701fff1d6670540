"""A small, seeded training loop with callbacks, a progress bar and divergence detection.

:func:`train` runs SGD or Adam on ``(x, y)`` for a number of steps or epochs, full-batch or
with mini-batches shuffled by ``generator`` (an int seed or a ``torch.Generator``); the same
seed and the same initial model give bit-identical losses and weights.  Callbacks (e.g.
:class:`specinit.measure.spectrum.FrequencyTracker`) see a :class:`TrainState` once before training
(step 0) and after every optimizer step.

>>> import torch
>>> model = torch.nn.Linear(1, 1)
>>> x = torch.linspace(-1, 1, 32).unsqueeze(1)
>>> result = train(model, x, 2 * x, lr=0.5, steps=200, progress=False)
>>> result.final_loss < 1e-6
True
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from specinit._core.checks import check_int, check_positive
from specinit._core.deprecation import renamed_kwargs
from specinit._core.placement import module_mode, placement
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, as_generator, derive_seed, fork_rng
from specinit.nn.layers import weight_layers
from specinit.training.losses import Loss, LossFn, check_labels, prepare, prepare_validation, resolve_loss

__all__ = [
    "TrainState",
    "TrainResult",
    "TrainingDiverged",
    "Callback",
    "train",
    "evaluate_loss",
    "accuracy",
    "param_groups",
    "LR_RULES",
    "OPTIMIZERS",
    "MAX_DEFAULT_RECORDS",
]

Callback = Callable[["TrainState"], Any]

#: Per-layer learning-rate rules of :func:`param_groups`.
LR_RULES = ("uniform", "depth")

#: Optimizer names understood by :func:`train`.
OPTIMIZERS = ("sgd", "adam")

#: Records kept in ``TrainResult.history`` when ``eval_every`` is not given (at most about this many).
MAX_DEFAULT_RECORDS = 100


@dataclass
class TrainState:
    """What a callback sees: ``step`` (0 before training, then 1, 2, ...), the ``epoch`` the step
    belongs to (0 before training), the ``model`` and the step's mini-batch ``loss`` (computed
    before the update; NaN at step 0, before any batch was seen).
    """

    step: int
    epoch: int
    model: nn.Module
    loss: float


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    ``losses[i]`` is the mini-batch loss of step ``i + 1``, computed before that step's update
    (in train mode).  ``final_loss`` is the mean loss of the *final* weights over the whole
    training set, evaluated after the last update in eval mode under ``torch.no_grad()`` — the
    training loss of the model that is returned, which ``losses[-1]`` is not.

    ``history`` holds the periodic records (keys ``step``, ``epoch``, ``train_loss`` — the mean
    batch loss since the previous record — plus, for ``"cross_entropy"``, ``train_accuracy``,
    the running accuracy of those batches in train mode; and ``val_loss`` / ``val_accuracy``
    when validation data is given, evaluated in eval mode).
    """

    losses: np.ndarray
    steps: int
    final_loss: float
    seconds: float
    history: dict[str, list] = field(default_factory=dict)

    __repr__ = compact_repr


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite.

    Nothing is rolled back: the model holds the weights that produced the non-finite loss (those
    after the previous step's update, which may themselves be huge or non-finite); the update
    that would have used the non-finite loss is not applied.  When the full training loss of the
    final weights is the first non-finite value, the model holds the final weights.
    """


@renamed_kwargs(seed="generator")
def train(
    model: nn.Module,
    x: Any,
    y: Any,
    *,
    loss: Loss = "mse",
    optimizer: str = "sgd",
    lr: float = 1e-3,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    generator: GeneratorLike = 0,
    callbacks: Sequence[Callback] = (),
    x_val: Any = None,
    y_val: Any = None,
    eval_every: int | None = None,
    progress: bool = True,
    desc: str | None = None,
    tol: float | None = None,
    lr_rule: str = "uniform",
    amp: bool = False,
) -> TrainResult:
    """Train ``model`` on ``(x, y)`` in place and return the loss curve and history.

    Args:
        model: any ``nn.Module`` with trainable parameters; data is moved to its device and
            floating data cast to its dtype.  It is in train mode during training and every
            submodule's mode is restored afterwards.
        x: the inputs, a tensor or array, finite.
        y: the targets, with as many rows as ``x``, finite.  For ``"cross_entropy"`` integer
            class labels (cast to int64).
        loss: ``"mse"``, ``"cross_entropy"`` or ``callable(pred, target) -> scalar tensor``
            (assumed to average over the batch).
        optimizer: ``"sgd"`` (with ``momentum``) or ``"adam"``.
        lr: the learning rate, > 0.
        momentum: SGD's momentum, ≥ 0.
        weight_decay: the optimizer's weight decay, ≥ 0.
        steps: the number of steps; give exactly one of ``steps`` and ``epochs``.
        epochs: the number of epochs; an epoch is ``ceil(len(x) / batch_size)`` steps, so a
            full-batch step is one epoch.
        batch_size: mini-batch size (default: full batch); batches are reshuffled every epoch
            with ``generator``.
        generator: an int seed, a ``torch.Generator`` or ``None`` (PyTorch's global RNG): it
            shuffles the batches and seeds, inside a forked RNG (the caller's global state is
            untouched), the global generator used by dropout and similar layers (an int seed
            is used as it is; a generator gives one draw).
        callbacks: called with a :class:`TrainState` at step 0 and after every step.
        x_val: optional validation inputs, evaluated (eval mode, no grad) at each record.
        y_val: the validation targets; give both ``x_val`` and ``y_val`` or neither.
        eval_every: record the history every this many steps; default once per epoch, thinned
            to at most about ``MAX_DEFAULT_RECORDS`` records.  The last step is always recorded.
        progress: show a tqdm bar on stderr with the rate and the current loss.
        desc: label of the progress bar.
        tol: stop as soon as a step's loss is below ``tol``.
        lr_rule: ``"uniform"`` (every parameter at ``lr``) or ``"depth"`` (the middle layers at
            ``lr / (n − 2)``; see :func:`param_groups`).
        amp: mixed precision for the training steps: each step's forward pass and loss run
            under ``torch.autocast`` (float16 with a ``GradScaler`` on CUDA, bfloat16 on the
            CPU); the weights, the optimizer, callbacks, validation and the final loss stay in
            the model's float32.  Off by default; a float32 model on CUDA or the CPU only.

    Returns:
        a :class:`TrainResult`; its ``final_loss`` is the full training loss of the final
        weights (eval mode, no grad), not the last mini-batch loss.

    Raises:
        TrainingDiverged: when a step's loss or the final training loss is NaN/inf (the step
            and the value are named; see :class:`TrainingDiverged` for the model's weights).
        ValueError: for ``"cross_entropy"``, when a label in ``y`` or ``y_val`` is not below
            the number of model outputs (checked on the first forward pass).

    """
    loss_fn, loss_name = resolve_loss(loss)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    device, dtype = params[0].device, params[0].dtype
    x, y = prepare(x, y, loss_name, device, dtype, "x", "y")
    val = prepare_validation(x_val, y_val, loss_name, device, dtype)
    n = x.shape[0]
    size = n if batch_size is None else min(check_int(batch_size, "batch_size"), n)
    per_epoch = math.ceil(n / size)
    total = _total_steps(steps, epochs, per_epoch)
    record_every = _record_every(eval_every, per_epoch, total)
    opt = _make_optimizer(optimizer, param_groups(model, lr, lr_rule), lr, momentum, weight_decay)
    callbacks = _check_callbacks(callbacks)
    if tol is not None:
        check_positive(tol, "tol")
    classify = loss_name == "cross_entropy"
    cast, scaler = _mixed_precision(amp, device, dtype)
    shuffle = as_generator(generator)
    fork_seed = derive_seed(generator)

    losses = np.empty(total)
    history: dict[str, list] = defaultdict(list)
    since_loss, since_correct, since_seen, since_steps = 0.0, 0, 0, 0
    done = 0
    start = time.perf_counter()
    bar = tqdm(
        total=total,
        desc=desc or "train",
        disable=not progress,
        file=sys.stderr,
        unit="step",
        dynamic_ncols=True,
    )
    with bar, module_mode(model, training=True), fork_rng(fork_seed, device):
        _notify(callbacks, TrainState(step=0, epoch=0, model=model, loss=math.nan))
        for step, index in enumerate(_batches(n, size, total, shuffle), start=1):
            xb, yb = (x, y) if index is None else (x[index], y[index])
            opt.zero_grad(set_to_none=True)
            with cast():
                pred = model(xb)
                if classify and step == 1:
                    check_labels(pred, y, "y")
                    if val is not None:
                        check_labels(pred, val[1], "y_val")
                value = loss_fn(pred, yb)
            if value.ndim != 0:
                raise ValueError(f"loss must return a scalar, got shape {tuple(value.shape)}")
            current = float(value.detach())
            if not math.isfinite(current):
                raise _diverged(f"at step {step}", loss_name, current, optimizer, lr)
            if scaler is None:
                value.backward()
                opt.step()
            else:  # float16 gradients: scaled against underflow, steps with inf/NaN skipped
                scaler.scale(value).backward()
                scaler.step(opt)
                scaler.update()

            losses[step - 1] = current
            done = step
            epoch = (step - 1) // per_epoch + 1
            since_loss += current
            since_steps += 1
            if classify:
                since_correct += int((pred.detach().argmax(dim=1) == yb).sum())
                since_seen += yb.shape[0]
            bar.set_postfix(loss=f"{current:.4g}", refresh=False)
            bar.update()
            _notify(callbacks, TrainState(step=step, epoch=epoch, model=model, loss=current))

            stop = tol is not None and current < tol
            if step % record_every == 0 or step == total or stop:
                history["step"].append(step)
                history["epoch"].append(epoch)
                history["train_loss"].append(since_loss / since_steps)
                if classify:
                    history["train_accuracy"].append(since_correct / since_seen)
                if val is not None:
                    history["val_loss"].append(_mean_loss(model, *val, loss_fn, size))
                    if classify:
                        history["val_accuracy"].append(_accuracy(model, *val, size))
                since_loss, since_correct, since_seen, since_steps = 0.0, 0, 0, 0
            if stop:
                break
    final_loss = _mean_loss(model, x, y, loss_fn, size)
    if not math.isfinite(final_loss):
        raise _diverged(f"after the last step ({done})", loss_name, final_loss, optimizer, lr)
    return TrainResult(
        losses=losses[:done],
        steps=done,
        final_loss=final_loss,
        seconds=time.perf_counter() - start,
        history=dict(history),
    )


def _mixed_precision(
    amp: bool, device: torch.device, dtype: torch.dtype
) -> tuple[Callable[[], Any], torch.amp.GradScaler | None]:
    """The autocast context of a training step and the gradient scaler (CUDA only), or a no-op."""
    if not amp:
        return contextlib.nullcontext, None
    if device.type not in ("cuda", "cpu"):
        raise ValueError(f"amp=True runs on CUDA or the CPU, not on {device.type!r}; train with amp=False")
    if dtype != torch.float32:
        raise ValueError(f"amp=True needs a float32 model, got {dtype}")
    if device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")
    return lambda: torch.autocast("cpu", dtype=torch.bfloat16), None


@renamed_kwargs(batch_size="chunk_size")
def evaluate_loss(model: nn.Module, x: Any, y: Any, *, loss: Loss = "mse", chunk_size: int = 1024) -> float:
    """Mean loss of ``model`` over ``(x, y)``, in eval mode under ``torch.no_grad()`` (modes
    restored), ``chunk_size`` rows per forward pass.
    """
    loss_fn, loss_name = resolve_loss(loss)
    device, dtype = placement(model)
    x, y = prepare(x, y, loss_name, device, dtype, "x", "y")
    labels = "y" if loss_name == "cross_entropy" else None
    return _mean_loss(model, x, y, loss_fn, check_int(chunk_size, "chunk_size"), labels=labels)


@renamed_kwargs(batch_size="chunk_size")
def accuracy(model: nn.Module, x: Any, y: Any, *, chunk_size: int = 1024) -> float:
    """Fraction of rows where ``argmax`` of the model's ``(n, classes)`` output equals the label
    ``y`` (eval mode, no grad, ``chunk_size`` rows per forward pass).
    """
    device, dtype = placement(model)
    x, y = prepare(x, y, "cross_entropy", device, dtype, "x", "y")
    return _accuracy(model, x, y, check_int(chunk_size, "chunk_size"))


# --------------------------------------------------------------------------- helpers


def _total_steps(steps: int | None, epochs: int | None, per_epoch: int) -> int:
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps= or epochs=")
    if steps is not None:
        return check_int(steps, "steps")
    return check_int(epochs, "epochs") * per_epoch


def _record_every(eval_every: int | None, per_epoch: int, total: int) -> int:
    if eval_every is not None:
        return check_int(eval_every, "eval_every")
    epochs = math.ceil(total / per_epoch)
    return per_epoch * math.ceil(epochs / MAX_DEFAULT_RECORDS)


def param_groups(model: nn.Module, lr: float, rule: str = "uniform") -> list[dict[str, Any]]:
    """Optimizer parameter groups of ``model``'s trainable parameters under a learning-rate rule.

    ``"uniform"``: one group at ``lr``.  ``"depth"``: the first and last weight layers
    (``Linear``/``Conv``, in module order) at ``lr`` and every other parameter at
    ``lr / (n − 2)`` for ``n`` weight layers — in a chain of ``n − 2`` near-identity layers an
    Adam step moves every layer's gain by about ``lr`` in the same direction, so the product
    changes by ``(1 + lr)^{n−2}``; dividing by ``n − 2`` keeps it ``≈ 1 + lr`` (the 1/depth
    scaling of Depth-μP, arXiv 2310.02244).  With ``n ≤ 2`` both rules agree.
    """
    check_positive(lr, "lr")
    if rule not in LR_RULES:
        raise ValueError(f"unknown lr_rule {rule!r}; choose one of {', '.join(LR_RULES)}")
    params = [p for p in model.parameters() if p.requires_grad]
    layers = [m for _, m in weight_layers(model)]
    if rule == "uniform" or len(layers) <= 2:
        return [{"params": params}]
    ends = {id(p) for m in (layers[0], layers[-1]) for p in m.parameters() if p.requires_grad}
    middle = [p for p in params if id(p) not in ends]
    groups: list[dict[str, Any]] = [
        {"params": [p for p in params if id(p) in ends]},
        {"params": middle, "lr": lr / (len(layers) - 2)},
    ]
    return [g for g in groups if g["params"]]


def _make_optimizer(
    name: str, params: list[dict[str, Any]], lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    check_positive(lr, "lr")
    check_positive(momentum, "momentum", allow_zero=True)
    check_positive(weight_decay, "weight_decay", allow_zero=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        if momentum != 0.0:
            raise ValueError("momentum applies to optimizer='sgd' only (Adam has its own betas)")
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def _diverged(when: str, loss_name: str, value: float, optimizer: str, lr: float) -> TrainingDiverged:
    return TrainingDiverged(
        f"training diverged {when}: {loss_name} loss is {value} (optimizer={optimizer}, "
        f"lr={lr:g}); the learning rate is probably too large — try a smaller lr such as "
        f"{lr / 10:g}"
    )


def _check_callbacks(callbacks: Sequence[Callback]) -> list[Callback]:
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callable, got {type(callback).__name__}")
    return callbacks


def _notify(callbacks: list[Callback], state: TrainState) -> None:
    for callback in callbacks:
        callback(state)


def _batches(n: int, size: int, total: int, generator: torch.Generator | None) -> Iterator[Tensor | None]:
    """``total`` batches of row indices, reshuffled each epoch; ``None`` means the full batch."""
    produced = 0
    while produced < total:
        if size == n:
            yield None
            produced += 1
            continue
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, size):
            if produced == total:
                return
            yield order[start : start + size]
            produced += 1


def _outputs(model: nn.Module, x: Tensor, chunk_size: int) -> Iterator[tuple[slice, Tensor]]:
    for start in range(0, x.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        yield rows, model(x[rows])


def _mean_loss(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    chunk_size: int,
    labels: str | None = None,
) -> float:
    """Row-weighted mean of the batch losses in eval mode (no grad, modes restored).

    ``labels``, when given, names ``y`` in the error raised if its class labels do not fit the
    model's outputs (checked on the first batch).
    """
    total = 0.0
    with module_mode(model, training=False), torch.no_grad():
        for rows, pred in _outputs(model, x, chunk_size):
            if labels is not None and rows.start == 0:
                check_labels(pred, y, labels)
            total += float(loss_fn(pred, y[rows])) * pred.shape[0]
    return total / x.shape[0]


def _accuracy(model: nn.Module, x: Tensor, y: Tensor, chunk_size: int) -> float:
    correct = 0
    with module_mode(model, training=False), torch.no_grad():
        for rows, pred in _outputs(model, x, chunk_size):
            if pred.ndim != 2 or pred.shape[1] < 2:
                raise ValueError(
                    f"accuracy needs (n, classes) outputs with classes ≥ 2, got {tuple(pred.shape)}"
                )
            correct += int((pred.argmax(dim=1) == y[rows]).sum())
    return correct / x.shape[0]
