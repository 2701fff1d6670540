"""Signal-propagation diagnostics: how a batch's signal and gradient fare, layer by layer.

:func:`propagation` runs one batch through any ``torch.nn.Module`` and records, for every hidden
layer's output ``h`` (each recorded activation module, in the order the forward pass calls it)
its mean and standard deviation, the fraction of entries that are *saturated* (``|h| ≥ s·sup|f|``
for a bounded activation ``f``) or *near zero* (``|h| < ε``), and — given targets — the norm of
the loss gradient ``∂L/∂h`` and of the preceding weight's gradient ``∂L/∂W``.  A signal that
collapses to zero or saturates with depth makes deep networks untrainable; keeping it dispersed
up to a target layer is the aim of the odd-sigmoid initialization of arXiv 2509.23085.

>>> import torch, specinit
>>> net = specinit.models.mlp(8, [32] * 20, 1, "tanh")
>>> _ = specinit.init_(net, "xavier_normal", generator=0)
>>> x = torch.randn(256, 8, generator=torch.Generator().manual_seed(0))
>>> prop = propagation(net, x, y=torch.zeros(256, 1))
>>> len(prop.layers), prop.layers[-1].std < prop.layers[0].std  # tanh + Xavier: the signal shrinks
(20, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_int, check_positive
from specinit._core.deprecation import renamed_kwargs
from specinit._core.extras import needs_extra
from specinit._core.placement import placement, untouched
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, derive_seed, fork_rng
from specinit.nn.layers import chosen_layers
from specinit.nn.recording import ActivationRecorder, Recorded
from specinit.training.losses import Loss, LossFn, default_loss, prepare, resolve_loss

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["LayerStats", "Propagation", "propagation"]


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one recorded layer output ``h`` over all its entries (samples × units).

    ``index`` is the position in forward order (0 = first recorded call); ``name`` is the
    module's qualified name in the model, with ``#k`` appended for the k-th call of a module
    the forward pass calls several times.  ``std`` is the population standard deviation
    (``ddof = 0``).  ``grad_norm = ‖∂L/∂h‖_F`` over the whole batch and ``weight_grad_norm =
    ‖∂L/∂W‖_F`` of the ``Linear``/``Conv`` layer that ran last before ``h`` was produced are
    ``None`` without targets (or, for the latter, without such a layer or when ``W`` is frozen).
    """

    name: str
    index: int
    mean: float
    std: float
    frac_saturated: float
    frac_near_zero: float
    grad_norm: float | None = None
    weight_grad_norm: float | None = None


@dataclass(frozen=True)
class Propagation:
    """Per-layer statistics from :func:`propagation`, plus the settings that produced them.

    ``not_seen`` lists the parts of the model whose non-linearities could not be recorded, each
    as ``"name: reason"`` (e.g. an LSTM fed a ``PackedSequence``).
    """

    layers: tuple[LayerStats, ...]
    n_samples: int
    saturation: float
    near_zero: float
    loss: str | None = None
    train_mode: bool = False
    not_seen: tuple[str, ...] = ()

    __repr__ = compact_repr

    @property
    def has_gradients(self) -> bool:
        """Whether gradient norms were recorded (``propagation`` was given targets ``y``)."""
        return any(layer.grad_norm is not None for layer in self.layers)

    def column(self, key: str) -> np.ndarray:
        """One statistic for every layer as a float array (``None`` becomes NaN), e.g. ``"std"``."""
        numeric = [f.name for f in fields(LayerStats) if f.name != "name"]
        if key not in numeric:
            raise ValueError(f"unknown column {key!r}; choose one of {', '.join(numeric)}")
        values = [getattr(layer, key) for layer in self.layers]
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)

    def table(self) -> list[dict[str, Any]]:
        """One dict per layer (the :class:`LayerStats` fields), ready for CSV or Markdown."""
        return [asdict(layer) for layer in self.layers]

    def collapsed_at(self, std_below: float = 1e-2) -> int | None:
        """Index of the first layer whose ``std`` is below ``std_below`` (``None`` if none is)."""
        check_positive(std_below, "std_below")
        return self._first(self.column("std") < std_below)

    def saturated_at(self, fraction_above: float = 0.5) -> int | None:
        """Index of the first layer with more than ``fraction_above`` of its entries saturated."""
        check_positive(fraction_above, "fraction_above", allow_zero=True)
        if fraction_above >= 1:
            raise ValueError(f"fraction_above must lie in [0, 1), got {fraction_above!r}")
        return self._first(self.column("frac_saturated") > fraction_above)

    def _first(self, hit: np.ndarray) -> int | None:
        return self.layers[int(hit.argmax())].index if hit.any() else None

    def plot(self, axes: Sequence[Axes] | None = None, *, label: str | None = None) -> tuple[Axes, ...]:
        """Depth plot: std (log), saturated / near-zero fractions, and gradient norms (log).

        Two panels, three when gradients were recorded (``∂L/∂h`` solid, ``∂L/∂W`` dotted).
        Pass the axes a previous call returned, with a ``label`` each, to compare initializers
        on the same panels.  Returns the axes used.
        """
        panels = 3 if self.has_gradients else 2
        if axes is None:
            with needs_extra("plot", "Propagation.plot"):
                import matplotlib.pyplot as plt  # lazy: importing specinit must not pick a backend

            _, grid = plt.subplots(1, panels, figsize=(4.0 * panels, 3.2), constrained_layout=True)
            axes = tuple(np.ravel(grid))
        else:
            axes = tuple(np.ravel(np.asarray(axes, dtype=object)))
            if len(axes) < panels:
                raise ValueError(f"plot needs {panels} axes for this Propagation, got {len(axes)}")
        depth = self.column("index")
        prefix = f"{label}: " if label else ""
        (line,) = axes[0].plot(depth, self.column("std"), marker=".", label=label)
        color = line.get_color()
        axes[0].set_yscale("log")
        axes[0].set_ylabel("activation std")
        axes[1].plot(depth, self.column("frac_saturated"), color=color, label=f"{prefix}saturated")
        axes[1].plot(
            depth,
            self.column("frac_near_zero"),
            color=color,
            linestyle="--",
            label=f"{prefix}|h| < {self.near_zero:g}",
        )
        axes[1].set_ylim(-0.02, 1.02)
        axes[1].set_ylabel(f"fraction (saturated: |h| ≥ {self.saturation:g}·sup)")
        if panels == 3:
            axes[2].plot(depth, self.column("grad_norm"), color=color, label=f"{prefix}‖∂L/∂h‖")
            weights = self.column("weight_grad_norm")
            if np.isfinite(weights).any():
                axes[2].plot(depth, weights, color=color, linestyle=":", label=f"{prefix}‖∂L/∂W‖")
            axes[2].set_yscale("log")
            axes[2].set_ylabel("gradient norm")
        for ax in axes[:panels]:
            ax.set_xlabel("layer (forward order)")
            if any(not str(h.get_label()).startswith("_") for h in ax.get_lines()):
                ax.legend(fontsize="small")
        return axes[:panels]


@renamed_kwargs(seed="generator", batch_size="chunk_size")
def propagation(
    model: nn.Module,
    x: Any,
    *,
    y: Any = None,
    loss: Loss | None = None,
    layers: Sequence[nn.Module | str] | None = None,
    saturation: float = 0.99,
    near_zero: float = 1e-2,
    chunk_size: int | None = None,
    train_mode: bool = False,
    generator: GeneratorLike = 0,
) -> Propagation:
    """Record per-layer signal statistics (and, given ``y``, gradient norms) for one batch ``x``.

    For each recorded layer output ``h`` (all entries of the batch pooled):
    ``mean``, ``std`` (population), ``frac_saturated = P(|h| ≥ saturation · sup|f|)`` — zero for
    an unbounded activation or a module whose bound is unknown — and ``frac_near_zero =
    P(|h| < near_zero)``, an *absolute* threshold in the units of ``h`` (dead ReLUs are exact
    zeros; a collapsing tanh signal falls below it).  Given targets ``y``, the batch loss ``L``
    is backpropagated once with ``torch.autograd.grad`` and ``‖∂L/∂h‖_F`` recorded per layer, as
    well as ``‖∂L/∂W‖_F`` of the ``Linear``/``Conv`` layer that ran last before ``h``.

    Args:
        model: any module.  By default every non-linearity it computes is recorded, once per
            call, in the order the forward pass produces it
            (:class:`specinit.nn.recording.ActivationRecorder`): activation modules (specinit's,
            ``torch.nn``'s and parameter-free ones of other libraries), known functions called
            in a forward (``torch.relu``, ``F.gelu``, the ``F.relu`` inside
            ``nn.TransformerEncoderLayer``; :data:`specinit.nn.activations.TORCH_FUNCTIONS`) and
            the gates of ``nn.RNN``/``nn.LSTM``/``nn.GRU``, replayed from their weights.
        x: the batch (tensor or array, finite, non-empty); moved to the model's device, floats
            cast to its dtype.
        y: optional targets, one row per row of ``x``.
        loss: ``"cross_entropy"``, ``"mse"`` or ``callable(pred, target) -> scalar`` that averages
            over the batch; default ``"cross_entropy"`` for integer ``y``, else ``"mse"``.
        layers: record exactly these modules of ``model`` (or their qualified names as in
            ``model.named_modules()``) instead; each must produce a tensor (a recurrent layer's
            output sequence counts).
        saturation: ``s`` in ``(0, 1]``; the bound ``sup|f|`` is that of the recorded activation
            (:func:`specinit.nn.activations.from_module` / ``from_function``; e.g. 1 for
            ``Tanh``/``Sigmoid`` and the LSTM gates, 6 for ``ReLU6``).
        near_zero: absolute threshold ``ε ≥ 0``.
        chunk_size: run ``x`` in chunks of this many rows (to bound memory); statistics are
            pooled exactly, and gradients are those of the full-batch mean loss (exact when the
            loss is a batch mean).  In ``train_mode`` normalization layers see each chunk alone.
        train_mode: run the model in train mode (BatchNorm normalizes with batch statistics,
            dropout is active) instead of eval mode.
        generator: an int seed (or a generator to draw one from) for the global RNG inside a
            fork (dropout and other stochastic layers), so the result is reproducible and the
            caller's RNG state is untouched.

    The model is left as it was: every submodule's train/eval mode and every buffer (e.g.
    BatchNorm running statistics) are restored, hooks are removed even on error, and no
    parameter's ``.grad`` is touched.

    Raises:
        ValueError: empty or non-finite ``x``; no layer to record, or a requested layer that never
            runs; a layer output with NaN/inf values (the signal overflowed); bad options.
        TypeError: a recorded module that does not return a tensor; non-module ``layers``.

    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_positive(saturation, "saturation")
    if saturation > 1:
        raise ValueError(f"saturation must lie in (0, 1], got {saturation!r}")
    check_positive(near_zero, "near_zero", allow_zero=True)
    if not isinstance(train_mode, bool):
        raise TypeError(f"train_mode must be a bool, got {train_mode!r}")
    seed = derive_seed(generator)
    targets = None if layers is None else chosen_layers(model, layers)
    device, dtype = placement(model)
    x = as_tensor(x, "x")
    if x.ndim == 0:
        raise ValueError("x must hold a batch (at least one dimension), got a scalar")
    loss_fn, loss_name = None, None
    if y is None:
        if loss is not None:
            raise ValueError("loss= needs targets: pass y= as well")
        x = (x.to(dtype) if x.is_floating_point() else x).to(device)
    else:
        y = as_tensor(y, "y")
        loss_fn, loss_name = resolve_loss(loss if loss is not None else default_loss(y))
        x, y = prepare(x, y, loss_name, device, dtype, "x", "y")
    n = x.shape[0]
    size = n if chunk_size is None else min(check_int(chunk_size, "chunk_size"), n)

    slots: list[_Slot] = []
    weight_grads: dict[int, Tensor] = {}
    with (
        untouched(model, train_mode),
        fork_rng(seed, device),
        _Recorder(model, targets, saturation, near_zero) as recorder,
    ):
        for start in range(0, n, size):
            rows = slice(start, start + size)
            calls = recorder.run(
                x[rows], None if y is None else y[rows], loss_fn, weight_grads, scale=min(size, n - start) / n
            )
            _merge(slots, calls, first=start == 0)
    if targets is not None:
        ran = {s.name for s in slots}
        missing = [recorder.tap.names.get(id(m)) or type(m).__name__ for m in targets]
        missing = [name for name in missing if name not in ran]
        if missing:
            raise ValueError(f"layer(s) {', '.join(missing)} never ran during the forward pass")
    if not slots:
        raise ValueError(
            f"{type(model).__name__} has no activation module to record and computed no known "
            "non-linearity (functional call such as torch.relu, recurrent gate); pass layers=[...] "
            "to choose the modules"
        )
    repeated = {s.name for s in slots if s.call > 0}
    return Propagation(
        layers=tuple(
            s.stats(i, s.name + (f"#{s.call + 1}" if s.name in repeated else ""), weight_grads)
            for i, s in enumerate(slots)
        ),
        n_samples=n,
        saturation=float(saturation),
        near_zero=float(near_zero),
        loss=loss_name,
        train_mode=train_mode,
        not_seen=tuple(f"{name}: {why}" for name, why in recorder.tap.not_seen.items()),
    )


# --------------------------------------------------------------------------- recording


@dataclass
class _Call:
    """One call of a recorded module in one chunk: its moments, counts and gradient pieces."""

    name: str
    count: int
    mean: float
    m2: float  # Σ (h − mean)²
    saturated: int
    near_zero: int
    grad_sq: float | None = None  # ‖∂L/∂h‖² of the full-batch loss, restricted to this chunk
    weight: Tensor | None = None
    versions: tuple[int, ...] = ()  # of the kept tensors when recorded (in-place changes show)


@dataclass
class _Slot:
    """The k-th recorded call, pooled over chunks (Chan et al.'s parallel variance update)."""

    name: str
    call: int  # how many earlier slots have the same name (calls of one module or function)
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    saturated: int = 0
    near_zero: int = 0
    grad_sq: float | None = None
    weight: Tensor | None = None

    def add(self, c: _Call) -> None:
        total = self.count + c.count
        delta = c.mean - self.mean
        self.mean += delta * c.count / total
        self.m2 += c.m2 + delta * delta * self.count * c.count / total
        self.count = total
        self.saturated += c.saturated
        self.near_zero += c.near_zero
        if c.grad_sq is not None:
            self.grad_sq = (self.grad_sq or 0.0) + c.grad_sq

    def stats(self, index: int, name: str, weight_grads: dict[int, Tensor]) -> LayerStats:
        weight_grad = None if self.weight is None else weight_grads.get(id(self.weight))
        return LayerStats(
            name=name,
            index=index,
            mean=self.mean,
            std=math.sqrt(self.m2 / self.count),
            frac_saturated=self.saturated / self.count,
            frac_near_zero=self.near_zero / self.count,
            grad_norm=None if self.grad_sq is None else math.sqrt(self.grad_sq),
            weight_grad_norm=None if weight_grad is None else float(torch.linalg.vector_norm(weight_grad)),
        )


def _merge(slots: list[_Slot], calls: list[tuple[_Call, tuple[Tensor, ...] | None]], *, first: bool) -> None:
    if first:
        for c, _ in calls:
            slots.append(_Slot(c.name, sum(s.name == c.name for s in slots), weight=c.weight))
    elif [c.name for c, _ in calls] != [s.name for s in slots]:
        raise RuntimeError(
            "the forward pass called the recorded layers differently for different chunks; "
            "use chunk_size=None"
        )
    for slot, (c, _) in zip(slots, calls, strict=True):
        slot.add(c)


class _Recorder:
    """Per-call statistics of everything :class:`~specinit.nn.recording.ActivationRecorder` records."""

    def __init__(
        self, model: nn.Module, targets: list[nn.Module] | None, saturation: float, near_zero: float
    ) -> None:
        self.model = model
        self.tap = ActivationRecorder(model, self._record, layers=targets)
        self.saturation = saturation
        self.near_zero = near_zero
        self._calls: list[tuple[_Call, tuple[Tensor, ...] | None]] = []

    def __enter__(self) -> _Recorder:
        self.tap.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.tap.__exit__()

    def _record(self, rec: Recorded) -> None:
        output = rec.output
        # Statistics now, before any later in-place operation can change the output.
        h = output.detach().to(torch.float64)
        bad = int((~torch.isfinite(h)).sum())
        if bad:
            raise ValueError(
                f"layer {rec.name!r} (recorded call {len(self._calls)}) output contains "
                f"{bad} NaN/inf value(s) out of {h.numel()}: the signal overflowed"
            )
        if h.numel() == 0:
            raise ValueError(f"layer {rec.name!r} produced an empty output")
        mean = h.mean()
        magnitude = h.abs()
        act = rec.activation
        bound = self.saturation * act.sup if act is not None and act.bounded else math.inf
        call = _Call(
            name=rec.name,
            count=h.numel(),
            mean=float(mean),
            m2=float(((h - mean) ** 2).sum()),
            saturated=int((magnitude >= bound).sum()),
            near_zero=int((magnitude < self.near_zero).sum()),
            weight=rec.weight,
        )
        # The output (or the parts it was computed from) is kept only for the backward pass.
        kept = (rec.parts or (output,)) if torch.is_grad_enabled() else None
        call.versions = tuple(t._version for t in kept or ())
        self._calls.append((call, kept))

    def run(
        self,
        x: Tensor,
        y: Tensor | None,
        loss_fn: LossFn | None,
        weight_grads: dict[int, Tensor],
        scale: float,
    ) -> list[tuple[_Call, tuple[Tensor, ...] | None]]:
        """Forward one chunk (and backward when ``y`` is given); the chunk's recorded calls."""
        self._calls = []
        self.tap.start(x.shape[0])
        if y is None:
            with torch.no_grad():
                self.model(x)
            return self._calls
        if x.is_floating_point():
            x = x.detach().requires_grad_(True)  # gradients reach h even with frozen weights
        assert loss_fn is not None, "propagation() resolves a loss whenever there are targets"
        with torch.enable_grad():
            value = loss_fn(self.model(x), y)
        if not isinstance(value, Tensor) or value.ndim != 0:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"loss must return a scalar tensor, got {shape}")
        if not value.requires_grad:
            raise ValueError("the loss does not depend differentiably on x or the parameters")
        _backprop(value * scale, self._calls, weight_grads)
        return self._calls


def _backprop(
    value: Tensor, calls: list[tuple[_Call, tuple[Tensor, ...] | None]], weight_grads: dict[int, Tensor]
) -> None:
    """Fill each call's ``grad_sq`` and add ``∂value/∂W`` into ``weight_grads``; ``.grad`` untouched.

    An output the model changed in place after it was recorded has no gradient of its own left in
    the graph: its ``grad_sq`` is NaN (not measured), never the gradient of the changed tensor.
    """
    changed = {
        id(t)
        for call, parts in calls
        for t, version in zip(parts or (), call.versions, strict=True)
        if t._version != version
    }
    outputs = list(
        {
            id(t): t for _, parts in calls for t in parts or () if t.requires_grad and id(t) not in changed
        }.values()
    )
    weights: list[Tensor] = list(
        {id(c.weight): c.weight for c, _ in calls if c.weight is not None and c.weight.requires_grad}.values()
    )
    if not outputs and not weights:  # nothing recorded: the caller reports it
        return
    grads = torch.autograd.grad(value, outputs + weights, allow_unused=True)
    by_output = dict(zip(map(id, outputs), grads[: len(outputs)], strict=True))
    for call, parts in calls:
        if any(id(t) in changed for t in parts or ()):
            call.grad_sq = math.nan
            continue
        found = [by_output.get(id(t)) for t in parts or ()]
        call.grad_sq = float(
            sum(float(torch.linalg.vector_norm(g.double())) ** 2 for g in found if g is not None)
        )
    for weight, g in zip(weights, grads[len(outputs) :], strict=True):
        if g is not None:
            weight_grads[id(weight)] = weight_grads.get(id(weight), 0) + g.detach()
