"""An init doctor: what a model's start does to a batch, in numbers and plain words.

:func:`diagnose` runs one batch through any ``torch.nn.Module`` at its current weights and
measures, per activation layer (forward order, as :func:`specinit.propagation.propagation`
records them — that function does the signal and gradient statistics here):

* **signal** — the activation's mean and std, and ``std_ratio = std(h_l) / std(x)``;
* **saturation** — the fraction of entries with ``|h| ≥ 0.99 · sup|f|`` (bounded activations);
* **dead features** — the fraction of features (columns of a ``(N, F)`` output, channels of a
  ``(N, C, ...)`` one) whose value is exactly the same for every sample and position: a dead
  ReLU, or a tanh stuck at ±1; they carry no information and pass no gradient;
* **collapse** — the effective rank ``exp(−Σ p_i log p_i)``, ``p_i = σ_i / Σ σ_j`` of the
  singular values of the centred ``(samples, features)`` matrix (Roy & Vetterli 2007): how
  many directions the batch still spans;
* **gradients** — ``‖∂L/∂h_l‖`` and ``‖∂L/∂W_l‖`` of the weight layer before ``h_l``.  With
  targets ``y`` ``L`` is the training loss; without, the *surrogate* ``L = mean((f(x) − t)²)``
  with fixed standard-normal targets ``t`` (seeded): even a near-zero output gets an O(1) error
  ``f − t``, so the backward pass shows how the network itself transmits gradients;

and, for the whole model, the input-gradient bandwidth proxy of arXiv 2206.08558
(:func:`specinit.bandwidth.gradient_bandwidth`) and the top Hessian eigenvalue of ``L``
(:func:`specinit.curvature.hessian_eigs`, Lanczos, as PyHessian, arXiv 1912.07145).  The problems
found are listed in plain words, with the thresholds of :class:`Thresholds`.

:func:`suggest` proposes initializers from the registry for the activations, depth and data
seen; :func:`compare` re-initializes deep copies with them (seeded) and diagnoses each, so a
user sees the same measurements before and after.  The user's model is never changed.

>>> import torch, specinit
>>> net = specinit.models.mlp(16, [64] * 12, 1, "tanh")
>>> _ = specinit.init_(net, "trunc_normal", std=0.02, generator=0)
>>> x = torch.randn(128, 16, generator=torch.Generator().manual_seed(0))
>>> d = diagnose(net, x, hessian_iters=0)
>>> [p.code for p in d.problems]
['vanishing_signal', 'vanishing_gradients']
>>> [s.method for s in suggest(net, d)][:2]
['odd_sigmoid', 'xavier_normal']
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import click
import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence
from torch import Tensor, nn

from specinit import activations
from specinit._checks import as_tensor, check_int, check_positive
from specinit._util import module_mode
from specinit.activations import ActivationModule
from specinit.bandwidth import GradientBandwidth, gradient_bandwidth
from specinit.curvature import hessian_eigs
from specinit.initializers.registry import init_, methods as registered_methods, supported_layers
from specinit.propagation import Propagation, _recorded_modules, _untouched, propagation
from specinit.results import text_table
from specinit.training import Loss, _placement, _seeded_global_rng

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = [
    "Thresholds",
    "LayerDiagnosis",
    "Problem",
    "Diagnosis",
    "Suggestion",
    "diagnose",
    "effective_rank",
    "suggest",
    "compare",
    "comparison_table",
    "report_markdown",
    "plot_comparison",
    "load_factory",
    "inspect_command",
]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Thresholds:
    """When :func:`diagnose` calls something a problem (docs/doctor.md explains each choice).

    ``signal_low`` / ``signal_high``: the last activation's std over the input's std outside
    ``[0.1, 10]`` — a signal that shrank or grew tenfold through the network.
    ``saturated``: more than 20 % of a layer's entries within 1 % of ``sup |f|``.
    ``dead``: more than 25 % of a layer's features constant over the batch.
    ``gradient_ratio``: ``‖∂L/∂h‖`` of the first over the last activation (and ``‖∂L/∂W‖`` of the
    first over the last hidden weight) outside ``[1/100, 100]``.
    ``rank_drop``: the last activation's effective rank below 25 % of the first's.
    ``sharpness``: top Hessian eigenvalue above 2000, where gradient descent needs a step
    below ``2/λ = 1e-3`` to be stable.
    """

    signal_low: float = 0.1
    signal_high: float = 10.0
    saturated: float = 0.2
    dead: float = 0.25
    gradient_ratio: float = 100.0
    rank_drop: float = 0.25
    sharpness: float = 2000.0

    def __post_init__(self) -> None:
        for f in fields(self):
            check_positive(getattr(self, f.name), f.name)
        if self.signal_low >= 1 or self.signal_high <= 1:
            raise ValueError("need signal_low < 1 < signal_high")
        for name in ("saturated", "dead", "rank_drop"):
            if getattr(self, name) >= 1:
                raise ValueError(f"{name} is a fraction and must lie in (0, 1)")
        if self.gradient_ratio <= 1:
            raise ValueError("gradient_ratio must exceed 1")


@dataclass(frozen=True)
class LayerDiagnosis:
    """One activation layer at initialization (see the module docstring for each measurement).

    ``name`` and ``index`` are those of :class:`specinit.propagation.LayerStats`; ``activation``
    names the module's non-linearity; ``std_ratio = std / input std``; ``frac_dead`` is the
    fraction of constant features; ``effective_rank`` is bounded by
    ``min(samples, features)`` = ``max_rank``.
    """

    name: str
    index: int
    activation: str
    mean: float
    std: float
    std_ratio: float
    frac_saturated: float
    frac_dead: float
    effective_rank: float
    max_rank: int
    grad_norm: float
    weight_grad_norm: float | None


@dataclass(frozen=True)
class Problem:
    """A problem :func:`diagnose` found: a stable ``code``, the ``layer`` (or ``None`` for the
    whole model) and a plain-words ``message`` with the measured numbers."""

    code: str
    layer: str | None
    message: str


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Outcome of :func:`diagnose`: per-layer rows, model-wide measurements and problems.

    ``loss`` describes the loss the gradients and the Hessian belong to (``surrogate`` tells
    whether it is the random-target stand-in); ``bandwidth`` summarises the input gradients
    (``None`` for integer inputs such as token ids, which have no gradient);
    ``hessian_top`` is ``None`` when skipped (``hessian_iters=0``).  ``propagation`` keeps the
    raw record (its ``plot`` draws the depth profile).
    """

    layers: tuple[LayerDiagnosis, ...]
    problems: tuple[Problem, ...]
    input_std: float
    n_samples: int
    loss: str
    surrogate: bool
    bandwidth: GradientBandwidth | None
    hessian_top: float | None
    hessian_converged: bool | None
    thresholds: Thresholds
    propagation: Propagation = field(repr=False)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    @property
    def codes(self) -> tuple[str, ...]:
        """The problems' codes, in the order found."""
        return tuple(p.code for p in self.problems)

    def column(self, key: str) -> np.ndarray:
        """One :class:`LayerDiagnosis` field for every layer as a float array (``None`` → NaN)."""
        numeric = [f.name for f in fields(LayerDiagnosis) if f.name not in ("name", "activation")]
        if key not in numeric:
            raise ValueError(f"unknown column {key!r}; choose one of {', '.join(numeric)}")
        return np.array([math.nan if (v := getattr(layer, key)) is None else v for layer in self.layers],
                        dtype=np.float64)

    def table(self, *, markdown: bool = False) -> str:
        """Per-layer table (plain text or Markdown)."""
        rows = [
            {
                "#": str(layer.index),
                "layer": layer.name,
                "activation": layer.activation,
                "std": f"{layer.std:.3g}",
                "std/input": f"{layer.std_ratio:.3g}",
                "mean": f"{layer.mean:.2g}",
                "saturated": f"{layer.frac_saturated:.0%}",
                "dead": f"{layer.frac_dead:.0%}",
                "eff. rank": f"{layer.effective_rank:.1f}/{layer.max_rank}",
                "‖dL/dh‖": f"{layer.grad_norm:.3g}",
                "‖dL/dW‖": "-" if layer.weight_grad_norm is None else f"{layer.weight_grad_norm:.3g}",
            }
            for layer in self.layers
        ]
        return text_table(rows, markdown=markdown)

    def summary(self) -> dict[str, str]:
        """The model-wide numbers as one row of strings (the columns of :func:`comparison_table`)."""
        first, last = self.layers[0], self.layers[-1]
        weights = self.column("weight_grad_norm")
        weights = weights[np.isfinite(weights)]
        return {
            "std last/input": f"{last.std_ratio:.3g}",
            "max saturated": f"{self.column('frac_saturated').max():.0%}",
            "max dead": f"{self.column('frac_dead').max():.0%}",
            "rank last/first": f"{_ratio(last.effective_rank, first.effective_rank):.2f}",
            "‖dL/dh‖ first/last": f"{_ratio(first.grad_norm, last.grad_norm):.3g}",
            "‖dL/dW‖ first/last": f"{_ratio(weights[0], weights[-1]):.3g}" if weights.size else "-",
            "mean ‖dy/dx‖": "-" if self.bandwidth is None else f"{self.bandwidth.mean_abs:.3g}",
            "Hessian top": "-" if self.hessian_top is None else f"{self.hessian_top:.3g}",
            "problems": ", ".join(self.codes) or "none",
        }

    def text(self) -> str:
        """The per-layer table, the model-wide numbers and the problems, for a terminal."""
        lines = [self.table(), "", f"loss: {self.loss}; batch of {self.n_samples}; "
                 f"input std {self.input_std:.3g}"]
        if self.bandwidth is not None:
            lines.append(f"input-gradient bandwidth proxy: {self.bandwidth!r}")
        if self.hessian_top is not None:
            tail = "" if self.hessian_converged else " (not converged)"
            lines.append(f"top Hessian eigenvalue: {self.hessian_top:.4g}{tail}")
        lines += ["", *_problem_lines(self)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Suggestion:
    """An initializer to try: ``init_(model, method, generator=seed, **options)`` (data-driven
    methods also get ``data=x, targets=y``), and why it fits this model."""

    method: str
    reason: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``method`` with its options, e.g. ``odd_sigmoid(ends=scaled)``."""
        shown = {k: v for k, v in self.options.items() if k != "activation"}
        if not shown:
            return self.method
        return f"{self.method}({', '.join(f'{k}={_short(v)}' for k, v in shown.items())})"


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (math.inf if a > 0 else math.nan)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _problem_lines(d: Diagnosis) -> list[str]:
    if d.ok:
        return ["no problems found"]
    return ["problems:", *(f"  - {p.message}" for p in d.problems)]


# --------------------------------------------------------------------------- diagnose


def diagnose(
    model: nn.Module,
    x: Any,
    y: Any = None,
    *,
    loss: Loss | None = None,
    layers: Sequence[nn.Module] | None = None,
    seed: int = 0,
    train_mode: bool = False,
    thresholds: Thresholds | None = None,
    hessian_iters: int = 5,
    batch_size: int | None = None,
) -> Diagnosis:
    """Measure signal propagation, gradients, bandwidth and curvature of ``model`` on ``x``.

    Args:
        model: any module; left exactly as it was (weights, ``.grad``, buffers, every
            submodule's mode).  Its activation modules are recorded (specinit
            ``ActivationModule`` and ``torch.nn`` activations), or exactly ``layers``.
        x: one batch (tensor or array), finite.
        y: optional targets; without them the gradients and the Hessian are those of the
            surrogate ``mean((f(x) − t)²)``, ``t ~ N(0, 1)`` drawn from ``seed``.
        loss: as in :func:`specinit.propagation.propagation` (default cross-entropy for integer
            ``y``, else MSE); needs ``y``.
        seed: the surrogate targets, dropout masks (``train_mode``) and the Hessian's start.
        train_mode: measure in train mode (BatchNorm batch statistics, dropout) instead of eval.
        thresholds: when a number is a problem (default :class:`Thresholds`).
        hessian_iters: Lanczos restarts (ARPACK ``maxiter``, about 20 Hessian-vector products
            each; relative tolerance 1e-3) for the top Hessian eigenvalue; 0 skips it.
        batch_size: chunk size for the propagation pass (memory).

    Raises:
        ValueError: the model rejects ``x`` (the message names the shape tried), the output or
            a layer is NaN/inf, no activation to record, bad options.
        TypeError: not a module, the model does not return a tensor.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seed = check_int(seed, "seed", minimum=0)
    hessian_iters = check_int(hessian_iters, "hessian_iters", minimum=0)
    thresholds = Thresholds() if thresholds is None else thresholds
    if not isinstance(thresholds, Thresholds):
        raise TypeError(f"thresholds must be a Thresholds, got {type(thresholds).__name__}")
    device, dtype = _placement(model)
    x = as_tensor(x, "x")
    x = (x.to(dtype) if x.is_floating_point() else x).to(device)
    if x.ndim < 2:
        raise ValueError(f"x must be a batch with a feature axis, shape (N, ...), got {tuple(x.shape)}")
    output = _forward_check(model, x)
    surrogate = y is None
    if surrogate:
        if loss is not None:
            raise ValueError("loss= needs targets: pass y= as well")
        y = torch.randn(output.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        y, loss = y.to(device=device, dtype=output.dtype), "mse"
    targets = _recorded_modules(model, layers)
    prop = propagation(model, x, y=y, loss=loss, layers=layers, seed=seed, train_mode=train_mode,
                       batch_size=batch_size)
    extra = _feature_stats(model, targets, x, train_mode, seed)
    if len(extra) != len(prop.layers):
        raise RuntimeError("the forward pass called the recorded layers differently in two passes "
                           "(a data-dependent architecture?); pass layers= to fix the layers")
    input_std = float(x.double().std(unbiased=False)) if x.is_floating_point() else math.nan
    rows = tuple(
        LayerDiagnosis(
            name=s.name, index=s.index, activation=_activation_name(module), mean=s.mean, std=s.std,
            std_ratio=_ratio(s.std, input_std), frac_saturated=s.frac_saturated, frac_dead=dead,
            effective_rank=erank, max_rank=bound, grad_norm=float(s.grad_norm or 0.0),
            weight_grad_norm=s.weight_grad_norm,
        )
        for s, (module, dead, erank, bound) in zip(prop.layers, extra)
    )
    bandwidth = gradient_bandwidth(model, x, batch_size=batch_size) if x.is_floating_point() else None
    top, converged = _hessian_top(model, prop.loss or "mse", x, y, hessian_iters, seed, train_mode)
    loss_text = (f"surrogate mse to N(0, 1) targets (seed {seed}; no y given)" if surrogate
                 else str(prop.loss))
    problems = _problems(rows, input_std, top, thresholds)
    return Diagnosis(rows, problems, input_std, int(x.shape[0]), loss_text, surrogate, bandwidth, top,
                     converged, thresholds, prop)


def _forward_check(model: nn.Module, x: Tensor) -> Tensor:
    """The model's output on ``x`` (eval mode, no grad); a clear error when it rejects ``x``."""
    try:
        with module_mode(model, training=False), torch.no_grad():
            out = model(x)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(
            f"{type(model).__name__} rejects an input of shape {tuple(x.shape)} "
            f"(batch, *sample shape): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(out, Tensor):
        raise TypeError(f"the model must return a tensor, got {type(out).__name__}")
    if not out.is_floating_point():
        raise TypeError(f"the model must return floating-point outputs, got dtype {out.dtype}")
    if out.ndim == 0 or out.shape[0] != x.shape[0]:
        raise ValueError(f"the model's output of shape {tuple(out.shape)} has no batch axis of {x.shape[0]}")
    return out


def _activation_name(module: nn.Module) -> str:
    if isinstance(module, ActivationModule):
        return module.activation.describe()
    return type(module).__name__


def _feature_stats(
    model: nn.Module, targets: list[nn.Module], x: Tensor, train_mode: bool, seed: int
) -> list[tuple[nn.Module, float, float, int]]:
    """Per recorded call: (module, dead-feature fraction, effective rank, its upper bound)."""
    out: list[tuple[nn.Module, float, float, int]] = []

    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        if isinstance(output, Tensor):  # propagation has already refused anything else
            out.append((module, *_features(output.detach())))

    handles = [m.register_forward_hook(hook) for m in targets]
    try:
        device, _ = _placement(model)
        with _untouched(model, train_mode), _seeded_global_rng(seed, device), torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return out


def _features(h: Tensor) -> tuple[float, float, int]:
    """Dead-feature fraction and effective rank of ``h`` with features on axis 1.

    ``(N, F)`` is used as it is; ``(N, C, ...)`` becomes ``(N·positions, C)``; ``(N,)`` one feature.
    """
    h = h[:, None] if h.ndim == 1 else h
    matrix = h.movedim(1, -1).reshape(-1, h.shape[1]).to(torch.float64)
    dead = float((matrix.amax(0) == matrix.amin(0)).double().mean())
    return dead, effective_rank(matrix), min(matrix.shape)


def effective_rank(matrix: Tensor) -> float:
    """``exp(−Σ pᵢ log pᵢ)`` with ``pᵢ = σᵢ / Σσⱼ`` over the singular values of the column-centred
    ``matrix`` (Roy & Vetterli 2007), from the smaller Gram matrix; 0 when the centred matrix is
    zero up to rounding (``‖centred‖_F ≤ 1e-12 ‖matrix‖_F``: every row the same).

    >>> round(effective_rank(torch.eye(4, dtype=torch.float64) - 0.25), 3)  # centring removes one
    3.0
    """
    centred = matrix - matrix.mean(0, keepdim=True)
    if float(torch.linalg.vector_norm(centred)) <= 1e-12 * float(torch.linalg.vector_norm(matrix)):
        return 0.0
    gram = centred.T @ centred if centred.shape[1] <= centred.shape[0] else centred @ centred.T
    sigma = torch.linalg.eigvalsh(gram).clamp_min(0).sqrt()
    p = sigma[sigma > 0] / sigma.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def _hessian_top(
    model: nn.Module, loss: Loss, x: Tensor, y: Tensor, iters: int, seed: int, train_mode: bool
) -> tuple[float | None, bool | None]:
    """Largest algebraic Hessian eigenvalue by Lanczos (ARPACK, ``iters`` restarts); a run out of
    budget gives the best Ritz value found so far (``converged=False``) or ``None``."""
    if iters == 0 or sum(p.numel() for p in model.parameters() if p.requires_grad) < 3:
        return None, None
    try:
        pairs = hessian_eigs(model, loss, (x, y), k=1, method="lanczos", which="LA", tol=1e-3,
                             max_iter=iters, seed=seed, train_mode=train_mode)
    except ArpackNoConvergence as exc:
        found = np.asarray(exc.eigenvalues, dtype=np.float64)
        return (float(found.max()) if found.size else None), False
    return float(pairs.eigenvalues[0]), True


def _signal_problem(layers: Sequence[LayerDiagnosis], input_std: float, t: Thresholds) -> Problem | None:
    """``vanishing_signal`` / ``exploding_signal`` when the last layer's std ratio leaves
    ``[signal_low, signal_high]`` (NaN, e.g. for integer inputs, is no problem)."""
    last = layers[-1]
    vanishing = last.std_ratio < t.signal_low
    if not (vanishing or last.std_ratio > t.signal_high):
        return None
    bound = t.signal_low if vanishing else t.signal_high
    at = next(layer for layer in layers
              if (layer.std_ratio < bound if vanishing else layer.std_ratio > bound))
    kind, verb, side = ("vanishing", "falls", "below") if vanishing else ("exploding", "grows", "above")
    return Problem(f"{kind}_signal", last.name, (
        f"{kind} signal: the activations' std {verb} from {input_std:.3g} (input) to "
        f"{last.std:.3g} at the last layer {last.name} ({last.std_ratio:.2g}× the input; "
        f"{side} {bound:g}× from layer {at.name} on)"
        + ("; deep layers see almost no signal" if vanishing else "")))


def _fraction_problem(layers: Sequence[LayerDiagnosis], code: str, attr: str, limit: float,
                      what: str, consequence: str) -> Problem | None:
    """``code`` when some layer's ``attr`` fraction exceeds ``limit``, naming the worst layer."""
    over = [layer for layer in layers if getattr(layer, attr) > limit]
    if not over:
        return None
    worst = max(over, key=lambda layer: getattr(layer, attr))
    return Problem(code, worst.name, (
        f"{code.replace('_', ' ')}: {len(over)} layer(s) have more than {limit:.0%} of their "
        f"{what} (worst {worst.name}: {getattr(worst, attr):.0%}); {consequence}"))


def _problems(
    layers: tuple[LayerDiagnosis, ...], input_std: float, hessian_top: float | None, t: Thresholds
) -> tuple[Problem, ...]:
    """The plain-words problems of a diagnosis (thresholds: :class:`Thresholds`)."""
    first, last = layers[0], layers[-1]
    found = [p for p in (_signal_problem(layers, input_std, t),
                         _fraction_problem(layers, "saturation", "frac_saturated", t.saturated,
                                           "outputs within 1% of the activation's bound",
                                           "saturated units pass almost no gradient"),
                         _fraction_problem(layers, "dead_units", "frac_dead", t.dead,
                                           "units constant over the whole batch",
                                           "they carry no information and get no gradient"))
             if p is not None]
    if first.effective_rank > 0 and last.effective_rank < t.rank_drop * first.effective_rank:
        found.append(Problem("rank_collapse", last.name, (
            f"rank collapse: the batch spans {first.effective_rank:.1f} effective directions "
            f"after {first.name} but only {last.effective_rank:.1f} after {last.name}; "
            "different inputs become indistinguishable with depth")))
    grad = _ratio(first.grad_norm, last.grad_norm)
    if len(layers) > 1 and (grad < 1 / t.gradient_ratio or grad > t.gradient_ratio):
        kind = "vanishing" if grad < 1 else "exploding"
        found.append(Problem(f"{kind}_gradients", first.name, (
            f"{kind} gradients: the loss gradient at the first layer {first.name} is {grad:.2g}× "
            f"the one at the last layer {last.name} ({first.grad_norm:.3g} vs "
            f"{last.grad_norm:.3g}); early layers "
            + ("barely learn" if kind == "vanishing" else "get huge updates"))))
    weights = [layer for layer in layers if layer.weight_grad_norm is not None]
    if len(weights) > 1:
        w_first, w_last = weights[0].weight_grad_norm or 0.0, weights[-1].weight_grad_norm or 0.0
        ratio = _ratio(w_first, w_last)
        if ratio < 1 / t.gradient_ratio or ratio > t.gradient_ratio:
            found.append(Problem("unbalanced_updates", weights[0].name, (
                f"unbalanced updates: the weight gradient before {weights[0].name} is {ratio:.2g}× "
                f"the one before {weights[-1].name} ({w_first:.3g} vs {w_last:.3g}); one learning "
                "rate cannot suit both")))
    if hessian_top is not None and hessian_top > t.sharpness:
        found.append(Problem("sharp_start", None, (
            f"sharp start: the loss's top Hessian eigenvalue is {hessian_top:.3g}, so gradient "
            f"descent diverges for learning rates above 2/λ = {2 / hessian_top:.2g}")))
    return tuple(found)


# --------------------------------------------------------------------------- suggestions

_RELU_LIKE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
              nn.Mish, nn.Softplus, nn.Hardswish)
_TORCH_ODD_SIGMOIDS = {nn.Tanh: "tanh", nn.Softsign: "softsign"}
#: Hidden layers from which the odd-sigmoid start is ranked above Xavier (arXiv 2509.23085 studies
#: depths 10 to 100; at a few layers Xavier's shrinkage does not matter yet).
DEEP = 8


def _family(module: nn.Module) -> tuple[str, Any]:
    """(family, activation for odd_sigmoid) of a recorded module."""
    if isinstance(module, ActivationModule):
        act = module.activation
        if act.is_odd_sigmoid:
            return "odd_sigmoid", act
        return {"sine": "sine", "gaussian": "gaussian", "sigmoid": "sigmoid", "relu": "relu",
                "leaky_relu": "relu", "gelu": "relu", "silu": "relu"}.get(act.name, "other"), None
    for kind, name in _TORCH_ODD_SIGMOIDS.items():
        if type(module) is kind:
            return "odd_sigmoid", activations.get(name)
    if isinstance(module, _RELU_LIKE):
        return "relu", None
    if isinstance(module, (nn.Sigmoid, nn.Hardsigmoid)):
        return "sigmoid", None
    return "other", None


def suggest(model: nn.Module, diagnosis: Diagnosis, *, data: bool = False) -> list[Suggestion]:
    """Initializers to try, best first, chosen by rule from the activations, depth and problems.

    The most common activation family among the recorded layers picks the list: odd sigmoids
    (tanh, softsign, erf, ...) get ``odd_sigmoid`` with ``ends="scaled"`` (arXiv 2509.23085; first
    when there are at least :data:`DEEP` layers), ``xavier_normal`` and ``orthogonal``;
    ReLU-like ones ``kaiming_normal`` and ``orthogonal`` with gain √2; sine networks ``siren``;
    Gaussian ones ``gaussian_small``; sigmoid ``xavier_normal`` and ``lecun_normal``; anything
    else ``lecun_normal`` and ``orthogonal``.  With ``data=True`` (targets available) and a
    specinit MLP, ``swim`` (arXiv 2306.16830) is added.

    Raises:
        TypeError: the model has layers no registered initializer can handle (from
            :func:`specinit.initializers.supported_layers`).
    """
    if not isinstance(diagnosis, Diagnosis):
        raise TypeError(f"diagnosis must be a Diagnosis, got {type(diagnosis).__name__}")
    supported_layers(model)  # raises a clear TypeError for an unsupported layer
    families = [_family(m) for m in _recorded_modules(model, None)]
    family = Counter(f for f, _ in families).most_common(1)[0][0]  # ties: the first seen
    depth = len(diagnosis.layers)
    out: list[Suggestion] = []
    if family == "odd_sigmoid":
        act = next(a for f, a in families if f == "odd_sigmoid")
        odd = Suggestion("odd_sigmoid", (
            f"{act.describe()} is an odd sigmoid and the net has {depth} activation layers: "
            "W = ωD + Z keeps the signal's std through depth (arXiv 2509.23085)"),
            {"activation": act, "ends": "scaled"})
        xavier = Suggestion("xavier_normal", "Glorot's variance-preserving rule for tanh-like nets")
        out += [odd, xavier] if depth >= DEEP else [xavier, odd]
        out.append(Suggestion("orthogonal", "norm-preserving weights; dynamical isometry near 0"))
    elif family == "relu":
        out += [Suggestion("kaiming_normal", "He's Var W = 2/fan_in keeps a ReLU net's signal std"),
                Suggestion("orthogonal", "orthogonal weights with ReLU gain √2", {"gain": math.sqrt(2)})]
    elif family == "sine":
        out.append(Suggestion("siren", "SIREN's uniform rule for sine networks (arXiv 2006.09661)"))
    elif family == "gaussian":
        out.append(Suggestion("gaussian_small", "small-variance start for Gaussian activations "
                                                "(arXiv 2206.08558)"))
    elif family == "sigmoid":
        out += [Suggestion("xavier_normal", "Glorot's rule, derived for sigmoid-like units"),
                Suggestion("lecun_normal", "Var W = 1/fan_in")]
    else:
        out += [Suggestion("lecun_normal", "Var W = 1/fan_in, a neutral default"),
                Suggestion("orthogonal", "norm-preserving weights")]
    if data and _swim_applicable(model):
        out.append(Suggestion("swim", "data-driven sampled weights and a least-squares readout "
                                      "(arXiv 2306.16830); needs x and y"))
    return out


def _swim_applicable(model: nn.Module) -> bool:
    from specinit.initializers.swim import _mlp_parts

    try:
        _mlp_parts(model)
    except TypeError:
        return False
    return True


def compare(
    model: nn.Module,
    x: Any,
    y: Any = None,
    methods: Sequence[str | Suggestion] = (),
    *,
    seed: int = 0,
    **options: Any,
) -> dict[str, Diagnosis]:
    """Diagnose a deep copy of ``model`` re-initialized with each method (``generator=seed``).

    ``methods`` holds registry names or :class:`Suggestion` s (their options are passed on);
    a data-driven method (``swim``) gets ``data=x, targets=y``.  ``options`` go to
    :func:`diagnose` (the same ``seed`` too).  Returns ``label → Diagnosis`` in order; the
    original model is untouched.
    """
    seed = check_int(seed, "seed", minimum=0)
    known = registered_methods()
    out: dict[str, Diagnosis] = {}
    for item in methods:
        spec = item if isinstance(item, Suggestion) else Suggestion(str(item), "")
        if spec.method not in known:
            raise ValueError(f"unknown initialization method {spec.method!r}; available: {', '.join(known)}")
        clone = copy.deepcopy(model)
        data = {"data": x, "targets": y} if spec.method == "swim" else {}
        if data and y is None:
            raise ValueError(f"method {spec.method!r} is data-driven: pass y")
        init_(clone, spec.method, generator=seed, **data, **dict(spec.options))
        out[spec.label] = diagnose(clone, x, y, seed=seed, **options)
    return out


# --------------------------------------------------------------------------- rendering


def comparison_table(diagnoses: Mapping[str, Diagnosis], *, markdown: bool = False) -> str:
    """One row per diagnosis (label first): :meth:`Diagnosis.summary`."""
    if not diagnoses:
        raise ValueError("comparison_table needs at least one diagnosis")
    return text_table([{"start": label, **d.summary()} for label, d in diagnoses.items()], markdown=markdown)


def report_markdown(
    diagnosis: Diagnosis,
    comparisons: Mapping[str, Diagnosis] | None = None,
    suggestions: Sequence[Suggestion] = (),
    *,
    title: str = "specinit inspect",
    command: str | None = None,
    figure: str | None = None,
) -> str:
    """A Markdown report: the per-layer table, problems, suggestions and the before/after table."""
    lines = [f"# {title}", ""]
    if command:
        lines += ["```bash", command, "```", ""]
    lines += [f"Loss: {diagnosis.loss}; batch of {diagnosis.n_samples}; input std "
              f"{diagnosis.input_std:.3g}.", "", "## Per layer at initialization", "",
              diagnosis.table(markdown=True), "", "## Problems", ""]
    lines += ["No problems found."] if diagnosis.ok else [f"- {p.message}" for p in diagnosis.problems]
    if suggestions:
        lines += ["", "## Suggested initializers", ""]
        lines += [f"- `{s.label}`: {s.reason}" for s in suggestions]
    if comparisons:
        lines += ["", "## Before and after", "", comparison_table(comparisons, markdown=True)]
    if figure:
        lines += ["", f"![per-layer std and gradient norms]({figure})"]
    return "\n".join(lines) + "\n"


def plot_comparison(diagnoses: Mapping[str, Diagnosis]) -> "Figure":
    """Per-layer std, saturated / near-zero fractions and gradient norms of each diagnosis,
    overlaid (:meth:`specinit.propagation.Propagation.plot`); returns a matplotlib ``Figure``."""
    from specinit.results import figure

    if not diagnoses:
        raise ValueError("plot_comparison needs at least one diagnosis")
    fig, axes = figure(1, 3, width=13.0, height=3.8)
    for label, d in diagnoses.items():
        d.propagation.plot(axes[0], label=label)
    for ax in axes[0, 1:]:
        if (legend := ax.get_legend()) is not None:
            legend.remove()
    axes[0, 0].legend(fontsize="small")
    axes[0, 1].set_title("solid: saturated, dashed: near zero", fontsize="small")
    axes[0, 2].set_title("solid: ‖∂L/∂h‖, dotted: ‖∂L/∂W‖", fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the command


def load_factory(spec: str) -> Callable[..., Any]:
    """The callable named by ``MODULE:FACTORY``: ``MODULE`` an importable dotted path or a
    ``.py`` file; ``FACTORY`` an attribute path (``Net`` or ``zoo.make``) in it.

    Raises:
        ValueError: no ``:``; ModuleNotFoundError / FileNotFoundError: the module is not found;
        AttributeError: no such attribute; TypeError: it is not callable.
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected MODULE:FACTORY (e.g. mypkg.nets:build or nets.py:Net), got {spec!r}")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise FileNotFoundError(f"model file {str(path)!r} not found")
        name = f"_specinit_user_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:  # pragma: no cover - .py always loads
            raise ImportError(f"cannot import {str(path)!r}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up here
        loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"module {module_name!r} not found ({exc}); give an importable module path or a "
                ".py file") from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise AttributeError(f"{module_name!r} has no attribute {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec!r} is a {type(target).__name__}, not a callable returning an nn.Module")
    return target


def _value(text: str) -> Any:
    """A ``--arg`` value: a Python literal (``3``, ``0.5``, ``[64, 64]``, ``True``) or a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _factory_kwargs(kwargs_json: str | None, args: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kwargs_json:
        try:
            parsed = json.loads(kwargs_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--kwargs") from None
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--kwargs")
        out.update(parsed)
    for text in args:
        key, eq, value = text.partition("=")
        if not eq or not key.strip():
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--arg")
        out[key.strip()] = _value(value.strip())
    return out


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise click.BadParameter(f"{text!r} is not a list of positive sizes like 1,28,28",
                                 param_hint="--input-shape")
    return shape


def _data_batch(name: str, batch: int, seed: int, data_dir: Path | None) -> tuple[Tensor, Tensor]:
    """``batch`` class-balanced test images of ``digits``, ``mnist`` or ``fashion-mnist``,
    shaped ``(N, 1, H, W)``."""
    from specinit import data

    if name == "digits":
        split = data.digits(flatten=False, seed=seed)
        return data.balanced_subset(split.x_test, split.y_test, batch, seed=seed)
    load = data.mnist if name == "mnist" else data.fashion_mnist
    split = load(data_dir=data_dir, limit_train=10, limit_test=batch, seed=seed)
    return split.x_test, split.y_test


def _fit_layout(model: nn.Module, x: Tensor) -> Tensor:
    """``x`` as is, or flattened to ``(N, features)`` if only that shape is accepted."""
    try:
        _forward_check(model, x)
        return x
    except ValueError as first:
        if x.ndim <= 2:
            raise
        flat = x.reshape(x.shape[0], -1)
        try:
            _forward_check(model, flat)
        except ValueError:
            raise ValueError(f"{first}; the flattened shape {tuple(flat.shape)} was tried too") from None
        return flat


@click.command("inspect")
@click.argument("factory", metavar="MODULE:FACTORY")
@click.option("--arg", "args", multiple=True, metavar="KEY=VALUE",
              help="Keyword argument for the factory (repeatable; values are Python literals or strings).")
@click.option("--kwargs", "kwargs_json", default=None, metavar="JSON",
              help='Factory keyword arguments as a JSON object, e.g. \'{"depth": 20}\'.')
@click.option("--input-shape", default=None, metavar="D1,D2,...",
              help="Shape of one sample (no batch axis) for a seeded N(0, 1) batch, e.g. 1,28,28.")
@click.option("--data", "dataset", type=click.Choice(["digits", "mnist", "fashion-mnist"]), default=None,
              help="Use a class-balanced batch of test images (and their labels) instead.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding mnist/ and fashion-mnist/ (else $SPECINIT_DATA, else the default search).")
@click.option("--batch", type=click.IntRange(min=2), default=256, show_default=True, help="Batch size.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds the factory's global RNG, the batch, surrogate targets, Hessian start and "
                   "re-initializations.")
@click.option("--hessian-iters", type=click.IntRange(min=0), default=5, show_default=True,
              help="Lanczos restarts (about 20 Hessian-vector products each) for the top Hessian "
                   "eigenvalue; 0 skips it.")
@click.option("--suggest/--no-suggest", "do_suggest", default=True, show_default=True,
              help="Suggest initializers and measure the model re-initialized with each.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write report.md and doctor.png into this folder.")
def inspect_command(factory: str, args: tuple[str, ...], kwargs_json: str | None, input_shape: str | None,
                    dataset: str | None, data_dir: Path | None, batch: int, seed: int, hessian_iters: int,
                    do_suggest: bool, out: Path | None) -> None:
    """Diagnose the start of the model FACTORY builds: signal, saturation, dead units, rank,
    gradients, bandwidth and curvature per layer; flag problems; suggest initializers.

    MODULE is an importable module (mypkg.nets) or a .py file (nets.py); FACTORY a callable in
    it returning an nn.Module.  Give --input-shape or --data.
    """
    if (input_shape is None) == (dataset is None):
        raise click.UsageError("give exactly one of --input-shape and --data")
    kwargs = _factory_kwargs(kwargs_json, args)
    try:
        build = load_factory(factory)
    except (ValueError, ImportError, FileNotFoundError, AttributeError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="MODULE:FACTORY") from None
    try:
        with _seeded_global_rng(seed, torch.device("cpu")):  # the factory's own random init
            model = build(**kwargs)
    except Exception as exc:  # the user's code: report whatever it raised
        raise click.ClickException(f"{factory}(**{kwargs}) raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise click.ClickException(f"{factory} returned a {type(model).__name__}, not a torch.nn.Module")
    y = None
    if input_shape is not None:
        x = torch.randn((batch, *_shape(input_shape)), generator=torch.Generator().manual_seed(seed))
    else:
        try:
            x, y = _data_batch(dataset, batch, seed, data_dir)
        except (FileNotFoundError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    try:
        x = _fit_layout(model, x)
        before = diagnose(model, x, y, seed=seed, hessian_iters=hessian_iters)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(before.text())
    suggestions: list[Suggestion] = []
    results: dict[str, Diagnosis] = {"as built": before}
    if do_suggest:
        try:
            suggestions = suggest(model, before, data=y is not None)
        except TypeError as exc:
            click.echo(f"\nno initializer suggested: {exc}")
        if suggestions:
            click.echo("\nsuggested initializers:")
            for s in suggestions:
                click.echo(f"  {s.label}: {s.reason}")
            results.update(compare(model, x, y, suggestions, seed=seed, hessian_iters=hessian_iters))
            click.echo("\nbefore and after (same batch, seed " + str(seed) + "):")
            click.echo(comparison_table(results))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        fig = plot_comparison(results)
        fig.savefig(out / "doctor.png", dpi=120)
        source = f"--input-shape {input_shape}" if input_shape is not None else f"--data {dataset}"
        given = [f"--kwargs '{json.dumps(kwargs, default=str)}'"] if kwargs else []
        settings = " ".join([factory, *given, source,
                             f"--batch {batch}", f"--seed {seed}", f"--hessian-iters {hessian_iters}"])
        text = report_markdown(before, results if len(results) > 1 else None, suggestions,
                               title=f"specinit inspect {factory}", command=f"specinit inspect {settings}",
                               figure="doctor.png")
        (out / "report.md").write_text(text)
        click.echo(f"\nreport: {out / 'report.md'}")
