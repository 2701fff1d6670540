"""An init doctor: what a model's start does to a batch, in numbers and plain words.

:func:`diagnose` runs one batch through any ``torch.nn.Module`` at its current weights and
measures, per recorded non-linearity (forward order, as :func:`specinit.measure.propagation.propagation`
records them — that function does the signal and gradient statistics here).  What is recorded is
what the model computes (:class:`specinit.nn.recording.ActivationRecorder`): activation modules of
any library, known functions called in a forward (``torch.relu`` in a residual block, the ``F.relu``
inside ``nn.TransformerEncoderLayer``) and the gates of ``nn.LSTM``/``nn.GRU``/``nn.RNN``, replayed
from their weights; what could not be seen is listed in ``Diagnosis.not_seen`` (``not seen: …``).

* **signal** — the activation's mean and std, and ``std_ratio = std(h_l) / std(reference)``: the
  reference is ``x``, or for integer inputs (token ids) the embedded tokens — the first float
  tensor entering a layer with a weight matrix (``Diagnosis.reference`` says which);
* **saturation** — the fraction of entries with ``|h| ≥ 0.99 · sup|f|`` (bounded activations);
* **dead features** — the fraction of features (columns of a ``(N, F)`` output, channels of a
  ``(N, C, ...)`` one, the last axis of a ``(N, L, D)`` sequence; ``feature_axis`` per layer,
  decided by :func:`specinit.nn.recording.layout_of` or fixed by ``feature_axis=``) whose value
  is exactly the same for every sample and position: a dead ReLU, or a tanh stuck at ±1; they
  carry no information and pass no gradient;
* **collapse** — the effective rank ``exp(−Σ p_i log p_i)``, ``p_i = σ_i / Σ σ_j`` of the
  singular values of the centred ``(samples, features)`` matrix (Roy & Vetterli 2007): how
  many directions the batch still spans;
* **gradients** — ``‖∂L/∂h_l‖`` and ``‖∂L/∂W_l‖`` of the weight layer before ``h_l``.  With
  targets ``y`` ``L`` is the training loss; without, the *surrogate* ``L = mean((f(x) − t)²)``
  with fixed standard-normal targets ``t`` (seeded): even a near-zero output gets an O(1) error
  ``f − t``, so the backward pass shows how the network itself transmits gradients;

and, for the whole model, the input-gradient bandwidth proxy of arXiv 2206.08558
(:func:`specinit.measure.bandwidth.gradient_bandwidth`; not for integer inputs, which have no
gradient — ``bandwidth_note`` says so) and the top Hessian eigenvalue of ``L``
(:func:`specinit.measure.curvature.hessian_eigs`, Lanczos, as PyHessian, arXiv 1912.07145).  The problems
found are listed in plain words, with the thresholds of :class:`Thresholds`.

:func:`suggest` proposes initializers from the registry for the activations, depth and data
seen; :func:`compare` re-initializes deep copies with them (seeded) and diagnoses each, so a
user sees the same measurements before and after.  The user's model is never changed.

>>> import torch, specinit
>>> net = specinit.nn.mlp(16, [64] * 12, 1, "tanh")
>>> _ = specinit.init_(net, "trunc_normal", std=0.02, generator=0)
>>> x = torch.randn(128, 16, generator=torch.Generator().manual_seed(0))
>>> d = diagnose(net, x, hessian_iters=0)
>>> [p.code for p in d.problems]
['vanishing_signal', 'vanishing_gradients']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_int
from specinit._core.deprecation import renamed_kwargs
from specinit._core.placement import module_mode, placement, untouched
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, as_generator, derive_seed, fork_rng
from specinit._core.tables import text_table
from specinit.doctor.problems import Problem, Thresholds, find_problems, ratio
from specinit.measure.bandwidth import GradientBandwidth, gradient_bandwidth
from specinit.measure.curvature import hessian_eigs
from specinit.measure.propagation import Propagation, propagation
from specinit.measure.spectrum import lowest_fitting_frequency, sample_step
from specinit.nn.activations import Activation
from specinit.nn.recording import ActivationRecorder, FeatureAxis, Recorded
from specinit.targeting import SpectralTarget, TargetFit, fit_of, locate, measure_target
from specinit.training.losses import Loss

__all__ = [
    "Thresholds",
    "LayerDiagnosis",
    "DataBandwidth",
    "data_grid",
    "Problem",
    "Diagnosis",
    "diagnose",
    "effective_rank",
    "model_output",
    "fit_input_layout",
]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class LayerDiagnosis:
    """One activation layer at initialization (see the module docstring for each measurement).

    ``name`` and ``index`` are those of :class:`specinit.measure.propagation.LayerStats`; ``activation``
    names the non-linearity (its description, or the module's class name when unknown);
    ``std_ratio = std / reference std`` (the input's, or for token ids the embedded tokens',
    :attr:`Diagnosis.reference`); ``feature_axis`` is the axis of the output holding the features
    (``1``: ``(N, F)`` or channels ``(N, C, ...)``; ``-1``: ``(N, L, D)`` sequences);
    ``frac_dead`` is the fraction of constant features; ``effective_rank`` is that of the
    ``(rows, features)`` matrix (every other axis folded into rows), bounded by
    ``min(rows, features)`` = ``max_rank``; ``kind`` is how it was recorded: ``"module"``,
    ``"function"`` (a functional call) or ``"gate"`` (a recurrent layer's replayed gate or state).
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
    feature_axis: int = 1
    kind: str = "module"


@dataclass(frozen=True)
class DataBandwidth:
    """A 1D coordinate network's start against what its samples support: the samples' ``step``
    (:func:`specinit.measure.spectrum.sample_step`), their Nyquist frequency ``cutoff = 1/(2·step)``
    and ``energy_above``, the fraction of the start's mollified spectrum on ``[lo, hi)`` (the
    samples' range, the mean removed, as :func:`specinit.targeting.measure_target` measures) above it.
    """

    step: float
    cutoff: float
    energy_above: float
    lo: float
    hi: float


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Outcome of :func:`diagnose`: per-layer rows, model-wide measurements and problems.

    ``input_std`` is the std of the reference signal that ``std_ratio`` divides by, and
    ``reference`` says what it is: the input ``x``, or — for integer inputs such as token ids,
    whose std means nothing — the first float tensor entering a layer with a weight matrix (the
    embedded tokens).  ``loss`` describes the loss the gradients and the Hessian belong to
    (``surrogate`` tells whether it is the random-target stand-in); ``bandwidth`` summarises the
    input gradients (``None`` with the reason in ``bandwidth_note``, e.g. for integer inputs,
    which have no gradient); ``hessian_top`` is ``None`` when skipped (``hessian_iters=0``).
    ``data_bandwidth`` compares a 1D coordinate network's spectrum with its samples' Nyquist
    frequency (``None`` for other inputs); ``start`` is the model's spectrum-targeted start
    (:func:`specinit.targeting.fit_of`), if it has one.
    ``not_seen`` lists the parts whose non-linearities could not be recorded (``"name: reason"``);
    ``activations`` holds each row's :class:`~specinit.nn.activations.Activation` (``None`` when
    unknown).  ``propagation`` keeps the raw record (its ``plot`` draws the depth profile).
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
    reference: str = "the input x"
    bandwidth_note: str | None = None
    not_seen: tuple[str, ...] = ()
    activations: tuple[Activation | None, ...] = field(default=(), repr=False)
    data_bandwidth: DataBandwidth | None = None
    start: TargetFit | None = None

    __repr__ = compact_repr

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
        numeric = [f.name for f in fields(LayerDiagnosis) if f.name not in ("name", "activation", "kind")]
        if key not in numeric:
            raise ValueError(f"unknown column {key!r}; choose one of {', '.join(numeric)}")
        return np.array(
            [math.nan if (v := getattr(layer, key)) is None else v for layer in self.layers], dtype=np.float64
        )

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
                "features": "last" if layer.feature_axis == -1 else f"axis {layer.feature_axis}",
                "eff. rank": f"{layer.effective_rank:.1f}/{layer.max_rank}",
                "‖dL/dh‖": f"{layer.grad_norm:.3g}" if math.isfinite(layer.grad_norm) else "-",
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
            "rank last/first": f"{ratio(last.effective_rank, first.effective_rank):.2f}",
            "‖dL/dh‖ first/last": f"{ratio(first.grad_norm, last.grad_norm):.3g}",
            "‖dL/dW‖ first/last": f"{ratio(weights[0], weights[-1]):.3g}" if weights.size else "-",
            "mean ‖dy/dx‖": "-" if self.bandwidth is None else f"{self.bandwidth.mean_abs:.3g}",
            "Hessian top": "-" if self.hessian_top is None else f"{self.hessian_top:.3g}",
            "problems": ", ".join(self.codes) or "none",
        }

    def text(self) -> str:
        """The per-layer table, the model-wide numbers and the problems, for a terminal."""
        lines = [
            self.table(),
            "",
            f"loss: {self.loss}; batch of {self.n_samples}; input std {self.input_std:.3g}"
            + ("" if self.reference == "the input x" else f" (reference signal: {self.reference})"),
            _feature_line(self.layers),
        ]
        if self.not_seen:
            lines.append("not seen: " + "; ".join(self.not_seen))
        if self.bandwidth is not None:
            lines.append(f"input-gradient bandwidth proxy: {self.bandwidth!r}")
        elif self.bandwidth_note:
            lines.append(f"input-gradient bandwidth: not measured ({self.bandwidth_note})")
        if self.hessian_top is not None:
            tail = "" if self.hessian_converged else " (not converged)"
            lines.append(f"top Hessian eigenvalue: {self.hessian_top:.4g}{tail}")
        if self.data_bandwidth is not None:
            b = self.data_bandwidth
            lines.append(
                f"spectrum vs the samples: {b.energy_above:.2%} of the energy above their Nyquist frequency "
                f"{b.cutoff:.3g} (step {b.step:.3g}, on [{b.lo:.3g}, {b.hi:.3g}))"
            )
        if self.start is not None:
            lines.append(f"start: {self.start.text()}")
        lines += ["", *_problem_lines(self)]
        return "\n".join(lines)


def _feature_line(layers: Sequence[LayerDiagnosis]) -> str:
    """Which axis held the features (stated, since dead units and ranks depend on it)."""
    last = [layer.name for layer in layers if layer.feature_axis == -1]
    if not last:
        return "features: axis 1 of every output ((N, F) or channels (N, C, ...))"
    if len(last) == len(layers):
        return "features: the last axis of every output ((N, L, D) sequences)"
    return f"features: the last axis for {len(last)} of {len(layers)} layers ((N, L, D)), axis 1 for the rest"


def _problem_lines(d: Diagnosis) -> list[str]:
    if d.ok:
        return ["no problems found"]
    return ["problems:", *(f"  - {p.message}" for p in d.problems)]


# --------------------------------------------------------------------------- diagnose


@renamed_kwargs(seed="generator", batch_size="chunk_size")
def diagnose(
    model: nn.Module,
    x: Any,
    y: Any = None,
    *,
    loss: Loss | None = None,
    layers: Sequence[nn.Module | str] | None = None,
    generator: GeneratorLike = 0,
    train_mode: bool = False,
    thresholds: Thresholds | None = None,
    hessian_iters: int = 5,
    chunk_size: int | None = None,
    feature_axis: FeatureAxis = "auto",
) -> Diagnosis:
    """Measure signal propagation, gradients, bandwidth and curvature of ``model`` on ``x``.

    Args:
        model: any module; left exactly as it was (weights, ``.grad``, buffers, every
            submodule's mode).  Every non-linearity it computes is recorded
            (:class:`specinit.nn.recording.ActivationRecorder`: activation modules of any library,
            known functions called in a forward — also inside torch's own layers — and the gates
            of recurrent layers, replayed from their weights), or exactly ``layers``.
        x: one batch (tensor or array), finite; integer token ids ``(N, L)`` are fine (the
            reference signal is then the embedded tokens).
        y: optional targets; without them the gradients and the Hessian are those of the
            surrogate ``mean((f(x) − t)²)``, ``t ~ N(0, 1)`` drawn from ``generator``.
        loss: as in :func:`specinit.measure.propagation.propagation` (default cross-entropy for
            integer ``y``, else MSE); needs ``y``.
        layers: the modules to record instead (distinct submodules of ``model`` or their
            qualified names as in ``model.named_modules()``, each run during the forward pass).
        generator: an int seed (or a generator to draw one from) for the surrogate targets,
            dropout masks (``train_mode``) and the Hessian's start.
        train_mode: measure in train mode (BatchNorm batch statistics, dropout) instead of eval.
        thresholds: when a number is a problem (default :class:`Thresholds`).
        hessian_iters: Lanczos restarts (ARPACK ``maxiter``, about 20 Hessian-vector products
            each; relative tolerance 1e-3) for the top Hessian eigenvalue; 0 skips it.
        chunk_size: rows per forward pass of the propagation and bandwidth measurements (memory).
        feature_axis: the axis of each recorded output that holds the features, for dead units
            and the effective rank: ``"auto"`` decides per output (the last axis after a
            Linear/Embedding/LayerNorm/attention/recurrent layer, axis 1 after a convolution or a
            batch norm; :func:`specinit.nn.recording.layout_of`), or an int for every output.

    Raises:
        ValueError: the model rejects ``x`` (the message names the shape tried), the output or
            a layer is NaN/inf, no activation to record, bad options.
        TypeError: not a module, the model does not return a tensor.

    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seed = derive_seed(generator)
    hessian_iters = check_int(hessian_iters, "hessian_iters", minimum=0)
    thresholds = Thresholds() if thresholds is None else thresholds
    if not isinstance(thresholds, Thresholds):
        raise TypeError(f"thresholds must be a Thresholds, got {type(thresholds).__name__}")
    device, dtype = placement(model)
    x = as_tensor(x, "x")
    x = (x.to(dtype) if x.is_floating_point() else x).to(device)
    if x.ndim < 2:
        raise ValueError(f"x must be a batch with a feature axis, shape (N, ...), got {tuple(x.shape)}")
    output = model_output(model, x)
    surrogate = y is None
    if surrogate:
        if loss is not None:
            raise ValueError("loss= needs targets: pass y= as well")
        y = torch.randn(output.shape, generator=as_generator(seed), dtype=torch.float64)
        y, loss = y.to(device=device, dtype=output.dtype), "mse"
    prop = propagation(
        model, x, y=y, loss=loss, layers=layers, generator=seed, train_mode=train_mode, chunk_size=chunk_size
    )
    feats = _feature_stats(model, layers, x, train_mode, seed, feature_axis)
    if [f.name for f in feats.rows] != [_base(s.name) for s in prop.layers]:
        raise RuntimeError(
            "the forward pass called the recorded layers differently in two passes "
            "(a data-dependent architecture?); pass layers= to fix the layers"
        )
    if x.is_floating_point():
        input_std, reference = float(x.double().std(unbiased=False)), "the input x"
    elif feats.reference is not None:
        input_std = feats.reference
        reference = (
            f"the input of {feats.reference_name}, i.e. the embedded tokens ({x.dtype} inputs have no scale)"
        )
    else:
        input_std, reference = (
            math.nan,
            f"none ({x.dtype} inputs have no scale and no float tensor reached a weight layer)",
        )
    rows = tuple(
        LayerDiagnosis(
            name=s.name,
            index=s.index,
            activation=f.label,
            mean=s.mean,
            std=s.std,
            std_ratio=ratio(s.std, input_std),
            frac_saturated=s.frac_saturated,
            frac_dead=f.dead,
            effective_rank=f.rank,
            max_rank=f.max_rank,
            grad_norm=float(s.grad_norm or 0.0),
            weight_grad_norm=s.weight_grad_norm,
            feature_axis=f.axis,
            kind=f.kind,
        )
        for s, f in zip(prop.layers, feats.rows, strict=True)
    )
    if x.is_floating_point():
        bandwidth, note = gradient_bandwidth(model, x, chunk_size=chunk_size), None
    else:
        bandwidth, note = None, f"{x.dtype} inputs such as token ids have no input gradient"
    top, converged = _hessian_top(model, prop.loss or "mse", x, y, hessian_iters, seed, train_mode)
    loss_text = f"surrogate mse to N(0, 1) targets (seed {seed}; no y given)" if surrogate else str(prop.loss)
    data_band = _data_bandwidth(model, x)
    problems = find_problems(
        rows, input_std, top, thresholds, "input" if x.is_floating_point() else "embedded tokens", data_band
    )
    return Diagnosis(
        layers=rows,
        problems=problems,
        input_std=input_std,
        n_samples=int(x.shape[0]),
        loss=loss_text,
        surrogate=surrogate,
        bandwidth=bandwidth,
        hessian_top=top,
        hessian_converged=converged,
        thresholds=thresholds,
        propagation=prop,
        reference=reference,
        bandwidth_note=note,
        not_seen=prop.not_seen,
        activations=tuple(f.activation for f in feats.rows),
        data_bandwidth=data_band,
        start=fit_of(model),
    )


#: Distinct sample positions below which 1D inputs say nothing about a Nyquist frequency.
MIN_SAMPLES_1D = 4

#: The finest grid the 1D bandwidth check evaluates (samples closer than ~1/16000 of their range
#: are too dense for a Nyquist limit to matter: the check is skipped).
MAX_GRID_1D = 65536


def data_grid(cutoff: float, lo: float, hi: float) -> int:
    """Samples of the 1D grid on ``[lo, hi)`` whose Nyquist frequency is at least 4× ``cutoff``
    (and at least 1024): where the doctor, and the search it suggests, measure the spectrum.
    """
    return max(1024, 2 * math.ceil(4 * cutoff * (hi - lo)))


def _data_bandwidth(model: nn.Module, x: Tensor) -> DataBandwidth | None:
    """The start's energy above its 1D samples' Nyquist frequency (``None`` unless ``x`` is
    ``(N, 1)`` floats with at least :data:`MIN_SAMPLES_1D` distinct positions).
    """
    if not (x.is_floating_point() and x.ndim == 2 and x.shape[1] == 1):
        return None
    if int(torch.unique(x).numel()) < MIN_SAMPLES_1D:
        return None
    step = sample_step(x.detach().cpu())
    lo, hi = float(x.min()), float(x.max())
    cutoff = lowest_fitting_frequency(step)
    grid = data_grid(cutoff, lo, hi)
    if grid > MAX_GRID_1D:
        return None
    target = SpectralTarget(cutoff=cutoff)
    energy = measure_target(model, target, locate(target, lo=lo, hi=hi, grid=grid))  # as the search does
    return DataBandwidth(step=step, cutoff=cutoff, energy_above=energy, lo=lo, hi=hi)


def model_output(model: nn.Module, x: Tensor) -> Tensor:
    """The model's output on ``x`` (eval mode, no grad, modes restored); a one-line
    ``ValueError`` naming the shape tried when the model rejects ``x``.
    """
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


def fit_input_layout(model: nn.Module, x: Tensor) -> Tensor:
    """``x`` as it is, or flattened to ``(N, features)`` if only that shape is accepted by
    ``model`` (an image batch for an MLP); a ``ValueError`` naming both shapes otherwise.
    """
    try:
        model_output(model, x)
        return x
    except ValueError as first:
        if x.ndim <= 2:
            raise
        flat = x.reshape(x.shape[0], -1)
        try:
            model_output(model, flat)
        except ValueError:
            raise ValueError(f"{first}; the flattened shape {tuple(flat.shape)} was tried too") from None
        return flat


def _base(name: str) -> str:
    """A recorded name without the ``#k`` of repeated calls."""
    return name.rpartition("#")[0] if "#" in name else name


@dataclass(frozen=True)
class _FeatureRow:
    name: str
    kind: str
    label: str
    activation: Activation | None
    axis: int
    dead: float
    rank: float
    max_rank: int


@dataclass(frozen=True)
class _Features:
    rows: list[_FeatureRow]
    reference: float | None
    reference_name: str | None


def _feature_stats(
    model: nn.Module,
    layers: Sequence[nn.Module | str] | None,
    x: Tensor,
    train_mode: bool,
    seed: int,
    feature_axis: FeatureAxis,
) -> _Features:
    """One full-batch pass: per recorded call its dead-feature fraction and effective rank on its
    feature axis, and the reference signal's std.
    """
    rows: list[_FeatureRow] = []

    def record(rec: Recorded) -> None:
        dead, rank, bound = _features(rec.output.detach(), rec.feature_axis)
        rows.append(
            _FeatureRow(rec.name, rec.kind, rec.label, rec.activation, rec.feature_axis, dead, rank, bound)
        )

    device, _ = placement(model)
    tap = ActivationRecorder(model, record, layers=layers, feature_axis=feature_axis)
    with untouched(model, train_mode), fork_rng(seed, device), torch.no_grad(), tap:
        tap.start(x.shape[0])
        model(x)
    ref = None if tap.reference is None else float(tap.reference.double().std(unbiased=False))
    return _Features(rows, ref, tap.reference_name)


def _features(h: Tensor, axis: int = 1) -> tuple[float, float, int]:
    """Dead-feature fraction and effective rank of ``h`` with features on ``axis``.

    ``(N, F)`` is used as it is; otherwise the feature axis moves last and every other axis
    becomes rows: ``(N, C, H, W)`` → ``(N·H·W, C)``, ``(N, L, D)`` → ``(N·L, D)``; ``(N,)`` is one
    feature.
    """
    h = h[:, None] if h.ndim == 1 else h
    matrix = h.movedim(axis, -1).reshape(-1, h.shape[axis]).to(torch.float64)
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
    budget gives the best Ritz value found so far (``converged=False``) or ``None``.
    """
    if iters == 0 or sum(p.numel() for p in model.parameters() if p.requires_grad) < 3:
        return None, None
    try:
        pairs = hessian_eigs(
            model,
            loss,
            (x, y),
            k=1,
            method="lanczos",
            which="LA",
            tol=1e-3,
            max_iter=iters,
            generator=seed,
            train_mode=train_mode,
        )
    except ArpackNoConvergence as exc:
        found = np.asarray(exc.eigenvalues, dtype=np.float64)
        return (float(found.max()) if found.size else None), False
    return float(pairs.eigenvalues[0]), True
