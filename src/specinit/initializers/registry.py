"""The ``init_`` dispatcher: apply an initialization method to every layer of a model.

Two kinds of methods are registered here:

* **layer methods** – a ``torch.nn.init``-shaped function ``fn(weight, *, index, n_layers,
  generator, **options)`` applied to the weight of every ``Linear`` / ``Conv`` layer in
  registration order (``index`` 0 is the first layer, so SIREN can treat it differently),
  followed by a bias rule; a method that also takes ``shapes`` gets every layer's weight shape;
* **model methods** – a function ``fn(model, *, data, targets, generator, **options)`` that
  initializes the whole model at once (data-driven methods such as SWIM or pre-training).

Bias rule of layer methods (``bias=`` option; the default is chosen at registration and is
``"zeros"`` unless stated): ``"zeros"`` sets every bias to 0 (the convention of Xavier, He and
Tanh-Init); ``"uniform"`` draws ``U(-1/√fan_in, 1/√fan_in)`` (PyTorch's default, kept by SIREN);
a float sets a constant.  The rule is checked before any parameter is touched.
Normalization layers are reset to weight 1, bias 0; parameter-free modules are skipped; any
other module that owns parameters is an error, never silently left as it was.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from specinit._core.rng import GeneratorLike, as_generator
from specinit.nn.activations import Activation, from_module
from specinit.nn.layers import activation_layers, init_layers, norm_layers, weight_and_bias

__all__ = [
    "init_",
    "methods",
    "register_layer_method",
    "register_model_method",
    "supported_layers",
    "fan_in_out",
    "fill_random_",
    "model_activation",
    "GeneratorLike",
]

#: The layers :func:`init_` fills, in order (:func:`specinit.nn.layers.init_layers`).
supported_layers = init_layers


@dataclass(frozen=True)
class _Method:
    name: str
    kind: str  # "layer" or "model"
    fn: Callable[..., Any]
    required: tuple[str, ...]
    allowed: tuple[str, ...] | None  # None: the function takes **options
    needs_data: bool
    summary: str
    default_bias: Any = "zeros"  # layer methods only


_METHODS: dict[str, _Method] = {}


def _register(
    name: str, kind: str, fn: Callable[..., Any], needs_data: bool, default_bias: Any = "zeros"
) -> None:
    if name in _METHODS:
        raise ValueError(f"initialization method {name!r} is already registered")
    if kind == "layer":
        _check_bias_rule(default_bias)
    params = list(inspect.signature(fn).parameters.values())
    skip = {"index", "n_layers", "shapes", "generator", "data", "targets"}
    # Options: every parameter after the weight/model one that can be passed by keyword.
    options = [
        p for p in params[1:] if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in skip
    ]
    required = tuple(p.name for p in options if p.default is inspect.Parameter.empty)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    deprecated = tuple(getattr(fn, "__deprecated_kwargs__", {}))  # old names, still accepted
    allowed = None if takes_any else tuple(p.name for p in options) + deprecated
    # The summary is the docstring's first paragraph, on one line.
    summary = " ".join((inspect.getdoc(fn) or "").split("\n\n", 1)[0].splitlines())
    _METHODS[name] = _Method(name, kind, fn, required, allowed, needs_data, summary, default_bias)


def set_signature(fn: Callable[..., Any], signature: inspect.Signature) -> None:
    """Give ``fn`` the ``signature`` that :func:`inspect.signature` (and so the registry) reports:
    a method built around ``**options`` lists its real options this way.
    """
    fn.__dict__["__signature__"] = signature


def register_layer_method(
    name: str, *, bias: Any = "zeros"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn(weight, *, index, n_layers, generator, **options)`` as ``name``.

    ``bias`` is the method's default bias rule (``"zeros"``, ``"uniform"`` or a number).
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        _register(name, "layer", fn, needs_data=False, default_bias=bias)
        return fn

    return decorate


def register_model_method(
    name: str, *, needs_data: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn(model, *, data, targets, generator, **options)`` as ``name``."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        _register(name, "model", fn, needs_data=needs_data)
        return fn

    return decorate


def methods() -> dict[str, str]:
    """Registered method names with their one-line summaries."""
    return {name: m.summary for name, m in sorted(_METHODS.items())}


def fan_in_out(weight: Tensor) -> tuple[int, int]:
    """Fan-in and fan-out of a Linear ``(out, in)`` or Conv ``(out, in, *kernel)`` weight."""
    if weight.dim() < 2:
        raise ValueError(
            f"fan-in/fan-out need a weight with at least 2 dimensions, got shape {tuple(weight.shape)}"
        )
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
    if fan_in == 0 or fan_out == 0:
        raise ValueError(f"weight of shape {tuple(weight.shape)} has a zero fan-in or fan-out")
    return fan_in, fan_out


def fill_random_(
    tensor: Tensor,
    draw: Callable[[Tensor, torch.Generator | None], Tensor],
    generator: GeneratorLike,
    *,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Fill ``tensor`` in place with ``draw(buffer, generator)``; returns ``tensor``.

    ``buffer`` is an empty tensor of ``tensor``'s shape on the generator's device (the
    tensor's own device when ``generator`` is None), in ``dtype`` (default: the tensor's dtype,
    at least float32).  So a seeded CPU generator initializes CUDA weights too, with the same
    values as on CPU, and half-precision weights get float32 draws rounded once.
    """
    gen = as_generator(generator)
    device = tensor.device if gen is None else gen.device
    work = dtype or torch.promote_types(tensor.dtype, torch.float32)
    with torch.no_grad():
        if tensor.dtype == work and tensor.device == device and tensor.is_contiguous():
            out = draw(tensor, gen)  # draw in place: no buffer, no copy (bench: 2-3x faster init_)
            return tensor if out is tensor else tensor.copy_(out)
        buffer = torch.empty(tensor.shape, dtype=work, device=device)
        return tensor.copy_(draw(buffer, gen))


def _check_bias_rule(rule: Any) -> None:
    is_number = isinstance(rule, numbers.Real) and not isinstance(rule, bool)
    if not (rule in ("zeros", "uniform") or (is_number and math.isfinite(rule))):
        raise ValueError(f"bias rule must be 'zeros', 'uniform' or a finite number, got {rule!r}")


@torch.no_grad()
def _init_bias(bias: Tensor, weight: Tensor, rule: Any, generator: torch.Generator | None) -> None:
    if rule == "zeros":
        bias.zero_()
    elif rule == "uniform":
        bound = 1.0 / math.sqrt(fan_in_out(weight)[0])
        fill_random_(bias, lambda buf, gen: buf.uniform_(-bound, bound, generator=gen), generator)
    else:
        bias.fill_(float(rule))


def model_activation(model: nn.Module) -> Activation | None:
    """The one activation every activation module of ``model`` computes (specinit's or
    ``torch.nn``'s, :func:`specinit.nn.activations.from_module`), else ``None``.
    """
    found: dict[str, Activation] = {}
    for _, module in activation_layers(model):
        act = from_module(module)
        if act is not None:
            found[act.describe()] = act
    return next(iter(found.values())) if len(found) == 1 else None


def _with_activation_options(
    model: nn.Module, method: str, spec: _Method, options: dict[str, Any]
) -> dict[str, Any]:
    """Fill a method's ``activation`` option and its activation parameters (``omega0``,
    ``sigma``, ...) from the model's own activation, so SIREN gets the network's ω0; an
    explicit value that contradicts the model is an error, not a silent mismatch.
    """
    act = model_activation(model)
    if act is None or spec.allowed is None:
        return options
    filled = dict(options)
    if "activation" in spec.allowed:
        filled.setdefault("activation", act)
    for key, value in act.params:
        if key not in spec.allowed:
            continue
        if key in filled and not math.isclose(float(filled[key]), value):
            raise ValueError(
                f"method {method!r}: {key}={filled[key]} contradicts the model's activation "
                f"{act.describe()}; drop {key}= to use the model's value"
            )
        filled[key] = value
    return filled


def init_(
    model: nn.Module,
    method: str,
    *,
    data: Tensor | None = None,
    targets: Tensor | None = None,
    generator: GeneratorLike = None,
    **options: Any,
) -> nn.Module:
    """Initialize every supported layer of ``model`` in place with ``method``; returns ``model``.

    Options a method shares with the model's activation (``omega0`` of a sine network for
    ``"siren"``, ``sigma`` of a Gaussian one for ``"gaussian_small"``, ``activation`` itself)
    default to the model's values.  ``generator`` may be a ``torch.Generator`` or an int seed;
    ``None`` falls back to PyTorch's global RNG, as ``torch.nn.init`` does.

    >>> import specinit, torch
    >>> net = specinit.models.mlp(1, [64, 64], 1, "tanh")
    >>> _ = specinit.init_(net, "xavier_normal", generator=0)
    """
    if method not in _METHODS:
        raise ValueError(
            f"unknown initialization method {method!r}; available: {', '.join(sorted(_METHODS))}"
        )
    spec = _METHODS[method]
    options = _with_activation_options(model, method, spec, options)
    missing = [name for name in spec.required if name not in options]
    if missing:
        raise TypeError(f"method {method!r} needs option(s): {', '.join(missing)}")
    if spec.allowed is not None:
        allowed = set(spec.allowed) | ({"bias"} if spec.kind == "layer" else set())
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise TypeError(
                f"method {method!r} takes no option(s) {unknown}; its options: "
                f"{', '.join(sorted(allowed)) or 'none'}"
            )
    gen = as_generator(generator)
    if spec.kind == "model":
        if spec.needs_data and data is None:
            raise ValueError(f"method {method!r} is data-driven: pass data= (and targets=)")
        if not spec.needs_data and (data is not None or targets is not None):
            raise ValueError(f"method {method!r} does not use data; drop data=/targets=")
        spec.fn(model, data=data, targets=targets, generator=gen, **options)
        return model
    if data is not None or targets is not None:
        raise ValueError(f"method {method!r} does not use data; drop data=/targets=")
    bias_rule = options.pop("bias", spec.default_bias)
    _check_bias_rule(bias_rule)
    layers = [weight_and_bias(layer) for _, layer in supported_layers(model)]
    if "shapes" in inspect.signature(spec.fn).parameters:  # methods that look at the whole net
        options["shapes"] = [tuple(weight.shape) for weight, _ in layers]
    with torch.no_grad():
        for index, (weight, bias) in enumerate(layers):
            spec.fn(weight, index=index, n_layers=len(layers), generator=gen, **options)
            if bias is not None:
                _init_bias(bias, weight, bias_rule, gen)
        for norm in norm_layers(model):
            norm.reset_parameters()
    return model
