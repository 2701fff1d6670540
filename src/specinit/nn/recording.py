"""Record the non-linearities a model actually computes, whoever wrote it.

:class:`ActivationRecorder` watches forward passes and hands each recorded output to a
callback, in the order the model computes them, as a :class:`Recorded` (name, activation,
output tensor, feature axis, the weight that ran before).  By default it records:

* **activation modules** — specinit's :class:`~specinit.nn.activations.ActivationModule` and the
  ``torch.nn`` activations (:data:`~specinit.nn.activations.TORCH_ACTIVATIONS`), by forward hooks;
* **activation modules of other libraries** — a parameter-free leaf module (e.g. HuggingFace's
  ``GELUActivation``) whose forward calls a known non-linearity: its output, with that
  non-linearity when the module returns the call's result (else with no known activation);
* **functional calls** — the functions of :data:`~specinit.nn.activations.TORCH_FUNCTIONS`
  (``torch.relu``, ``F.gelu``, ``x.tanh()``, …) called in any forward, including torch's own
  layers (the ``F.relu`` of ``nn.TransformerEncoderLayer``), seen through a
  :class:`torch.overrides.TorchFunctionMode`; each call is named by the innermost module running
  it plus the function (``encoder.layers.0.relu``).  Calls inside a recorded activation module are
  not counted twice, and only outputs with an axis of the batch's size count (a ``sigmoid`` of a
  scalar gate parameter is no layer);
* **recurrent gates** — ``nn.RNN``/``nn.LSTM``/``nn.GRU`` run in one fused kernel, so their gates
  are replayed from the module's weights (:func:`specinit.nn.recurrent.replay_recurrent`) and
  recorded per layer (``lstm.layer0.forget_gate``, …, ``lstm.layer0.hidden``); when gradients are
  on, the replay (equal to the module's output to rounding) stands in for the fused output, so
  gradients reach the gates.

With explicit ``layers`` exactly those modules are recorded (by their outputs).  What could not be
seen (a ``PackedSequence`` into an LSTM, a TorchScript submodule) is listed in
:attr:`ActivationRecorder.not_seen`.

**Feature axis.**  Per recorded output: the last axis when the layer that ran last before it
with a layout of its own was a ``Linear``/``Embedding``/``LayerNorm``/attention/recurrent layer
(or any layer with a weight matrix) — ``(N, L, D)`` sequences; axis 1 after a convolution or a
batch/instance/group norm — ``(N, C, H, W)`` channels (:func:`layout_of`); axis 1 for ``(N, F)``.

**Reference signal.**  :attr:`ActivationRecorder.reference` is the first floating-point input to
reach a layer with a weight matrix other than an embedding: ``x`` itself for a float model, the
embedded tokens for a token model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd
from torch.overrides import TorchFunctionMode

from specinit.nn.activations import Activation, ActivationModule, from_function, from_module, get
from specinit.nn.layers import activation_layers, chosen_layers
from specinit.nn.recurrent import GATE_ACTIVATIONS, replay_recurrent

__all__ = ["Recorded", "ActivationRecorder", "layout_of", "FeatureAxis"]

#: ``"auto"`` (decided per output by :func:`layout_of`) or a fixed axis such as ``1`` or ``-1``.
FeatureAxis = str | int

_EMBEDDINGS = (nn.Embedding, nn.EmbeddingBag)
_FEATURES_LAST = (
    nn.Linear,
    nn.Bilinear,
    *_EMBEDDINGS,
    nn.LayerNorm,
    nn.RMSNorm,
    nn.MultiheadAttention,
    nn.RNNBase,
)
_CHANNELS_FIRST = (_ConvNd, _NormBase, nn.GroupNorm)


def layout_of(module: nn.Module) -> int | None:
    """The feature axis of what ``module`` outputs: ``-1`` (features last: Linear, Embedding,
    LayerNorm, RMSNorm, attention, recurrent layers, any module with a 2-D ``weight``), ``1``
    (channels: convolutions, batch/instance/group norms) or ``None`` (no layout of its own).

    >>> layout_of(nn.Linear(2, 3)), layout_of(nn.Conv2d(1, 2, 3)), layout_of(nn.ReLU())
    (-1, 1, None)
    """
    if isinstance(module, _CHANNELS_FIRST):
        return 1
    if isinstance(module, _FEATURES_LAST):
        return -1
    weight = getattr(module, "weight", None)
    return -1 if isinstance(weight, Tensor) and weight.ndim == 2 else None


def _has_weight_matrix(module: nn.Module) -> bool:
    return not isinstance(module, _EMBEDDINGS) and any(p.ndim >= 2 for p in module.parameters(recurse=False))


@dataclass(frozen=True, eq=False)
class Recorded:
    """One recorded output.

    ``name``: the module's qualified name (``encoder.layers.0.activation``), the innermost
    module's name plus the function for a functional call (``encoder.layers.0.relu``), or the
    recurrent module's name plus layer and gate (``lstm.layer1.forget_gate``); ``kind``:
    ``"module"``, ``"function"`` or ``"gate"``; ``activation``: the non-linearity when known (its
    ``sup`` bounds saturation); ``label``: its description, or the module's class name;
    ``feature_axis``: the axis holding the features (``1`` for ``(N, F)``); ``weight``: the weight
    matrix of the layer that ran last before (for ``‖∂L/∂W‖``), or ``None``; ``parts``: the
    tensors the model computed with whose gradients make up ``output``'s (the per-step gates of a
    recurrent layer; empty when ``output`` itself is in the graph).
    """

    name: str
    kind: str
    activation: Activation | None
    label: str
    output: Tensor = field(repr=False)
    feature_axis: int
    weight: Tensor | None = field(default=None, repr=False)
    parts: tuple[Tensor, ...] = field(default=(), repr=False)


class _FunctionTap(TorchFunctionMode):
    """Sees every torch function call; hands the known non-linearities to the recorder."""

    def __init__(self, recorder: ActivationRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.recorder._function_ran(func, args, kwargs, out)
        return out


class ActivationRecorder:
    """Context manager recording a model's non-linearities during forward passes (module docstring).

    Args:
        model: any module.
        on_output: called with each :class:`Recorded`, in forward order, while the pass runs
            (compute statistics then: a later in-place operation may change the tensor).
        layers: record exactly these modules (or qualified names) instead of the default.
        feature_axis: ``"auto"`` or an int axis applied to every recorded output.

    Call :meth:`start` before each forward pass with its batch size.  Hooks and the function mode
    are removed on exit, also on error.

    """

    def __init__(
        self,
        model: nn.Module,
        on_output: Callable[[Recorded], None],
        *,
        layers: Sequence[nn.Module | str] | None = None,
        feature_axis: FeatureAxis = "auto",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not (
            feature_axis == "auto" or (isinstance(feature_axis, int) and not isinstance(feature_axis, bool))
        ):
            raise ValueError(
                f"feature_axis must be 'auto' or an int axis such as 1 or -1, got {feature_axis!r}"
            )
        self.model = model
        self.on_output = on_output
        self.explicit = layers is not None
        self.targets = (
            chosen_layers(model, layers) if layers is not None else [m for _, m in activation_layers(model)]
        )
        self._target_ids = {id(m) for m in self.targets}
        self.feature_axis = feature_axis
        self.names = {id(m): name for name, m in model.named_modules()}
        for m in self.targets:
            self.names.setdefault(id(m), type(m).__name__)
        self._activations = {id(m): from_module(m) for m in self.targets}
        #: Parts of the model that were not seen, each with the reason (filled during passes).
        self.not_seen: dict[str, str] = {}
        #: The reference signal of the last pass (see the module docstring) and its source.
        self.reference: Tensor | None = None
        self.reference_name: str | None = None
        self._handles: list[Any] = []
        self._mode: _FunctionTap | None = None
        self._batch = 0
        self._reset()
        for name, m in model.named_modules():
            if isinstance(m, torch.jit.ScriptModule):
                self.not_seen[name or type(m).__name__] = (
                    "TorchScript: hooks and functions inside are invisible"
                )

    def _reset(self) -> None:
        self._stack: list[nn.Module] = []
        self._inside = 0  # depth of recorded activation modules now running
        self._busy = False  # recording: torch calls made now are specinit's own
        self._layout: int | None = None
        self._width: int | None = None  # the size of the layout module's output on its feature axis
        self._weight: Tensor | None = None
        self._pending: dict[int, list[tuple[Tensor, Activation]]] = {}
        self.reference, self.reference_name = None, None

    def start(self, batch_size: int) -> None:
        """Begin a forward pass of ``batch_size`` rows (resets the per-pass state)."""
        self._reset()
        self._batch = batch_size

    # ------------------------------------------------------------------ context

    def __enter__(self) -> ActivationRecorder:
        try:
            for module in self.model.modules():
                self._handles.append(module.register_forward_pre_hook(self._pre, with_kwargs=True))
                self._handles.append(module.register_forward_hook(self._post, with_kwargs=True))
            if not self.explicit:
                self._mode = _FunctionTap(self)
                self._mode.__enter__()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # ------------------------------------------------------------------ hooks

    def _pre(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._busy:
            return
        self._stack.append(module)
        if id(module) in self._target_ids:
            self._inside += 1
        if self.reference is None and _has_weight_matrix(module):
            first = next(
                (a for a in (*args, *kwargs.values()) if isinstance(a, Tensor) and a.is_floating_point()),
                None,
            )
            if first is not None:
                self.reference = first.detach()
                self.reference_name = self._name(module)

    def _post(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> Any:
        if self._busy:
            return None
        if self._stack and self._stack[-1] is module:
            self._stack.pop()
        replaced = None
        # The module's own layout and weight first: a recorded Linear or Conv is described by itself.
        layout = layout_of(module)
        if layout is not None:
            self._layout = layout
            shaped = isinstance(output, Tensor) and output.ndim >= 2
            self._width = int(output.shape[layout]) if shaped else None
        weight = getattr(module, "weight", None)
        if isinstance(weight, Tensor) and weight.ndim >= 2 and not isinstance(module, _EMBEDDINGS):
            self._weight = weight
        if id(module) in self._target_ids:
            self._inside -= 1
            self._record_module(module, output)
        elif not self.explicit and isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
            replaced = self._record_recurrent(module, args, kwargs, output)
        pending = self._pending.pop(id(module), None)
        if pending and isinstance(output, Tensor) and output.is_floating_point():
            act = next((a for out, a in pending if out is output), None)
            label = act.describe() if act is not None else type(module).__name__
            self._emit(self._name(module), "module", act, label, output)
        return replaced

    def _function_ran(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
    ) -> None:
        if self._busy or self._inside or not isinstance(out, Tensor) or not out.is_floating_point():
            return
        try:
            act = from_function(func, args, kwargs)
        except TypeError:  # an unhashable callable is no activation
            return
        if act is None or self._batch not in out.shape:
            return
        here = self._stack[-1] if self._stack else self.model
        if here is not self.model and _foreign_activation(here):
            self._pending.setdefault(id(here), []).append((out, act))
            return
        prefix = self.names.get(id(here), "") if here is not self.model else ""
        short = getattr(func, "__name__", "fn").rstrip("_")
        self._busy = True
        try:
            self._emit(f"{prefix}.{short}" if prefix else short, "function", act, act.describe(), out)
        finally:
            self._busy = False

    # ------------------------------------------------------------------ recording

    def _name(self, module: nn.Module) -> str:
        return self.names.get(id(module)) or type(module).__name__

    def _record_module(self, module: nn.Module, output: Any) -> None:
        if isinstance(module, nn.RNNBase) and isinstance(output, tuple) and isinstance(output[0], Tensor):
            output = output[0]
        if not isinstance(output, Tensor):
            raise TypeError(
                f"recorded layer {self._name(module)!r} returned {type(output).__name__}, "
                "not a tensor; pass layers= with modules that return tensors"
            )
        act = self._activations.get(id(module))
        label = act.describe() if act is not None else type(module).__name__
        self._emit(self._name(module), "module", act, label, output)

    def _record_recurrent(
        self, module: nn.RNNBase, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> Any:
        """Replay the gates; when gradients are on, return the replayed output to stand in."""
        name = self._name(module)
        x = args[0] if args else kwargs.get("input")
        hx = args[1] if len(args) > 1 else kwargs.get("hx")
        self._busy = True
        try:
            if not isinstance(x, Tensor):
                raise TypeError(f"a {type(x).__name__} input cannot be replayed")
            replay = replay_recurrent(module, x, hx)
        except (TypeError, ValueError) as exc:
            self.not_seen[name] = f"{type(module).__name__} gates ({exc})"
            return None
        finally:
            self._busy = False
        fused = output[0]
        scale = float(fused.detach().abs().max()) if fused.numel() else 0.0
        gap = float((replay.output.detach() - fused.detach()).abs().max()) if fused.numel() else 0.0
        if not gap <= 1e-4 * max(scale, 1.0):
            self.not_seen[name] = (
                f"{type(module).__name__} gates (the replay differs from the module's output by {gap:.2g})"
            )
            return None
        weights = [getattr(module, f"weight_ih_l{k}") for k in range(module.num_layers)]
        for k, (gates, steps) in enumerate(zip(replay.layers, replay.steps, strict=True)):
            self._weight = weights[k]
            for gate, value in gates.items():
                act_name = GATE_ACTIVATIONS[gate]
                if gate == "hidden" and isinstance(module, nn.RNN):
                    act_name = module.nonlinearity
                act = None if act_name is None else get(act_name)
                label = act.describe() if act is not None else f"{type(module).__name__} state"
                self._emit(f"{name}.layer{k}.{gate}", "gate", act, label, value, axis=-1, parts=steps[gate])
        if not torch.is_grad_enabled():
            return None
        state = replay.h_n if replay.c_n is None else (replay.h_n, replay.c_n)
        return (replay.output, state)

    def _emit(
        self,
        name: str,
        kind: str,
        act: Activation | None,
        label: str,
        output: Tensor,
        axis: int | None = None,
        parts: tuple[Tensor, ...] = (),
    ) -> None:
        busy, self._busy = self._busy, True
        try:
            axis = self._axis(name, output, axis)
            self.on_output(Recorded(name, kind, act, label, output, axis, self._weight, parts))
        finally:
            self._busy = busy

    def _axis(self, name: str, output: Tensor, natural: int | None) -> int:
        if self.feature_axis != "auto":
            assert isinstance(self.feature_axis, int), "checked in __init__"
            if not -output.ndim <= self.feature_axis < max(output.ndim, 1):
                raise ValueError(
                    f"feature_axis={self.feature_axis} is out of range for {name!r}, "
                    f"whose output has shape {tuple(output.shape)}"
                )
            return 1 if output.ndim <= 2 and self.feature_axis in (1, -1) else self.feature_axis
        if output.ndim <= 2:
            return 1
        axis = natural if natural is not None else self._layout
        axis = 1 if axis is None else axis
        if natural is None and self._width is not None and output.shape[axis] != self._width:
            # Transposed since the layer that set the layout ((N, C, L) → LayerNorm over C → back):
            # the features are on the other axis when only that one has the layer's width.
            other = -1 if axis == 1 else 1
            if output.shape[other] == self._width:
                return other
        return axis


def _foreign_activation(module: nn.Module) -> bool:
    """A parameter-free leaf module of any library (its known calls stand for its output)."""
    return (
        next(module.children(), None) is None
        and next(module.parameters(recurse=False), None) is None
        and not isinstance(module, ActivationModule)
    )
