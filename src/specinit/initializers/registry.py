"""The ``init_`` dispatcher: apply an initialization method to every layer of a model.

Two kinds of methods are registered here:

* **layer methods** – a ``torch.nn.init``-shaped function ``fn(weight, *, index, n_layers,
  generator, **options)`` applied to every weight a layer rule names
  (:mod:`~specinit.initializers.layer_rules`: Linear, Conv, ConvTranspose, Embedding,
  MultiheadAttention, RNN/LSTM/GRU, HuggingFace Conv1D, and any type a user registers with
  :func:`~specinit.initializers.layer_rules.register_layer_type`), in the order of
  ``model.named_modules()`` (``index`` 0 is the first weight, so SIREN can treat it
  differently), followed by a bias rule; a method that also takes ``shapes`` gets every
  weight's canonical block shape.  The method always draws the canonical ``(out, in, *kernel)``
  layout, one block at a time (q, k, v; LSTM gates), with that block's fans;
* **model methods** – a function ``fn(model, *, data, targets, generator, **options)`` that
  initializes the whole model at once (data-driven methods such as SWIM or pre-training).

Bias rule of layer methods (``bias=`` option; the default is chosen at registration and is
``"zeros"`` unless stated): ``"zeros"`` sets every bias to 0 (the convention of Xavier, He and
Tanh-Init); ``"uniform"`` draws ``U(-1/√fan_in, 1/√fan_in)`` (PyTorch's default, kept by SIREN);
a float sets a constant.  The rule is checked before any parameter is touched.

What else ``init_`` decides, per tensor (:func:`init_plan` shows it without touching the model):

* ``recurrent="orthogonal"`` (default): hidden-to-hidden RNN weights get an orthogonal block
  per gate (Saxe et al., arXiv 1312.6120; Keras' LSTM default), ``"method"``: the method's draw;
* ``forget_bias=1.0`` (default): an LSTM's forget-gate bias starts at 1 (Jozefowicz, Zaremba &
  Sutskever 2015, ICML; Keras' ``unit_forget_bias``), ``None`` leaves it to the bias rule;
* ``embedding="normal"`` (default): embedding tables get ``N(0, 1)``, as ``nn.Embedding`` does
  (a lookup has no fan-in to scale by), ``"method"``: the method's draw on the ``(num, dim)``
  table read as ``(out, in)`` (``fan_in = dim``, the view of a tied readout); the padding row
  stays zero either way;
* ``norms="keep"`` (default): normalization layers (their weights, biases and running
  statistics) and PReLU slopes are left as they are; ``"reset"``: weight 1, bias 0, statistics
  cleared, slopes back to their constructor value — never a random draw;
* ``only=`` / ``skip=``: globs over qualified names (``"encoder.*"``), module types or
  predicates ``(name, module) -> bool``; a module is selected with its whole subtree;
* parameters no rule names are left alone with an :class:`~specinit.initializers.plan.InitWarning`,
  as is a method whose declared activations (``register_layer_method(..., activations=...)``)
  the model's activation modules contradict.

Every tensor is drawn before any is written, so an error leaves the model as it was (at the
cost of memory for one copy of the initialized tensors).
"""

from __future__ import annotations

import importlib.metadata
import inspect
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, overload

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from specinit._core.rng import GeneratorLike, as_generator
from specinit.initializers.layer_rules import block_shape, shape_fans, to_stored
from specinit.initializers.plan import InitPlan, InitWarning, Selector, Task, build_plan
from specinit.nn.activations import Activation, from_module
from specinit.nn.layers import activation_layers, activations_used, init_layers

__all__ = [
    "init_",
    "init_plan",
    "methods",
    "register_layer_method",
    "register_model_method",
    "supported_layers",
    "fan_in_out",
    "fill_random_",
    "model_activation",
    "GeneratorLike",
    "ENTRY_POINT_GROUP",
]

#: The entry-point group through which a package adds methods to :func:`init_` (the module an
#: entry point names registers them when imported).  specinit's own methods that measure the
#: model — ``"spectral_target"``, which lives above this layer — arrive the same way, so the
#: registry never imports upward.
ENTRY_POINT_GROUP = "specinit.init_methods"

#: The ``Linear`` / ``Conv`` layers of a model in order, strictly: a ``TypeError`` for any other
#: module with parameters (:func:`specinit.nn.layers.init_layers`).  :func:`init_` handles more
#: layer types than these; :func:`init_plan` lists what it does with each tensor.
supported_layers = init_layers


@dataclass(frozen=True)
class _Method:
    name: str
    kind: str  # "layer" or "model"
    fn: Callable[..., Any]
    required: tuple[str, ...]
    allowed: tuple[str, ...] | None  # None: the function takes **options
    needs_data: bool | None  # None: data is optional
    summary: str
    default_bias: Any = "zeros"  # layer methods only
    activations: tuple[str, ...] = ()  # layer methods only: the activations the method assumes


_METHODS: dict[str, _Method] = {}


def _register(
    name: str,
    kind: str,
    fn: Callable[..., Any],
    needs_data: bool | None,
    default_bias: Any = "zeros",
    activations: Sequence[str] = (),
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
    if isinstance(activations, str) or not all(isinstance(a, str) for a in activations):
        raise TypeError(f"activations must be a sequence of activation names, got {activations!r}")
    _METHODS[name] = _Method(
        name, kind, fn, required, allowed, needs_data, summary, default_bias, tuple(activations)
    )


def set_signature(fn: Callable[..., Any], signature: inspect.Signature) -> None:
    """Give ``fn`` the ``signature`` that :func:`inspect.signature` (and so the registry) reports:
    a method built around ``**options`` lists its real options this way.
    """
    fn.__dict__["__signature__"] = signature


def register_layer_method(
    name: str, *, bias: Any = "zeros", activations: Sequence[str] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn(weight, *, index, n_layers, generator, **options)`` as ``name``.

    ``bias`` is the method's default bias rule (``"zeros"``, ``"uniform"`` or a number).
    ``activations`` names the activations the method's law assumes (``("sine",)`` for SIREN;
    ``"odd_sigmoid"`` stands for the whole odd-sigmoid class); :func:`init_` warns
    (:class:`~specinit.initializers.plan.InitWarning`) when the model computes another one.
    Empty: no assumption (the gain is an option).
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        _register(name, "layer", fn, needs_data=False, default_bias=bias, activations=activations)
        return fn

    return decorate


def register_model_method(
    name: str, *, needs_data: bool | None = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn(model, *, data, targets, generator, **options)`` as ``name``.

    ``needs_data``: ``True`` (``init_`` refuses a call without ``data=``), ``False`` (it refuses
    one with data) or ``None`` (data is optional; the method decides).
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        _register(name, "model", fn, needs_data=needs_data)
        return fn

    return decorate


_PLUGINS: dict[str, bool] = {"loaded": False}


def _load_plugins() -> None:
    """Import, once, the modules named in the :data:`ENTRY_POINT_GROUP` entry points; one that
    fails to import is skipped with an :class:`~specinit.initializers.plan.InitWarning`.
    """
    if _PLUGINS["loaded"]:
        return
    _PLUGINS["loaded"] = True
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if point.name in _METHODS:
            continue
        try:
            point.load()
        except Exception as exc:  # a broken third-party plugin must not break init_
            warnings.warn(
                f"initialization method {point.name!r} ({point.value}) failed to load: "
                f"{type(exc).__name__}: {exc}",
                InitWarning,
                stacklevel=3,
            )


def methods() -> dict[str, str]:
    """Registered method names with their one-line summaries (entry-point methods included)."""
    _load_plugins()
    return {name: m.summary for name, m in sorted(_METHODS.items())}


def fan_in_out(weight: Tensor) -> tuple[int, int]:
    """Fan-in and fan-out of a Linear ``(out, in)`` or Conv ``(out, in, *kernel)`` weight
    (:func:`~specinit.initializers.layer_rules.shape_fans` of its shape).
    """
    return shape_fans(weight.shape)


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
def _init_bias(bias: Tensor, fan_in: int, rule: Any, generator: torch.Generator | None) -> None:
    if rule == "zeros":
        bias.zero_()
    elif rule == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
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


def _fits(act: Activation, names: tuple[str, ...]) -> bool:
    return act.name in names or ("odd_sigmoid" in names and act.is_odd_sigmoid)


def _activation_warning(model: nn.Module, method: str, spec: _Method) -> str | None:
    """The warning text when the model computes an activation the method does not assume."""
    if not spec.activations:
        return None
    other: dict[str, str] = {}
    for name, act in activations_used(model):
        if not _fits(act, spec.activations):
            other.setdefault(act.describe(), name)
    if not other:
        return None
    found = ", ".join(f"{desc} (layer {name!r})" for desc, name in other.items())
    return (
        f"method {method!r} assumes {' or '.join(spec.activations)} activations, but the model "
        f"computes {found}: its weights are scaled for an activation the model does not use"
    )


def _checked(model: nn.Module, method: str, options: dict[str, Any]) -> tuple[_Method, dict[str, Any]]:
    """The method's spec and its options, filled from the model's activation and checked."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if method not in _METHODS:
        _load_plugins()
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
    return spec, options


def _plan(
    model: nn.Module, method: str, spec: _Method, options: dict[str, Any], layout: dict[str, Any]
) -> tuple[InitPlan, list[Task]]:
    """The plan of a layer method (its bias rule popped from ``options``), with its warnings."""
    bias_rule = options.pop("bias", spec.default_bias)
    _check_bias_rule(bias_rule)
    forget = layout["forget_bias"]
    if forget is not None and not (isinstance(forget, numbers.Real) and math.isfinite(forget)):
        raise ValueError(f"forget_bias must be a finite number or None, got {forget!r}")
    plan, tasks = build_plan(model, method, bias_rule=bias_rule, **layout)
    mismatch = _activation_warning(model, method, spec)
    if mismatch is not None:
        plan = replace(plan, warnings=(*plan.warnings, mismatch))
    options["bias"] = bias_rule
    return plan, tasks


@torch.no_grad()
def _draw(
    tasks: list[Task],
    spec: _Method,
    options: dict[str, Any],
    forget_bias: float | None,
    gen: torch.Generator | None,
) -> list[Tensor | None]:
    """Every new tensor in the stored layout, in task order (nothing is written yet)."""
    options = dict(options)
    bias_rule = options.pop("bias")
    methods = [task for task in tasks if task.kind == "method"]
    n_layers = len(methods)
    if "shapes" in inspect.signature(spec.fn).parameters:  # methods that look at the whole net
        assert all(task.weight is not None for task in methods)
        options["shapes"] = [
            block_shape(getattr(t.module, t.attr).shape, t.weight)  # type: ignore[arg-type]
            for t in methods
        ]
    orthogonal = _METHODS["orthogonal"].fn
    values: list[Tensor | None] = []
    for task in tasks:
        if task.kind == "norm":
            values.append(None)
            continue
        current = getattr(task.module, task.attr).detach()
        if task.kind == "constant":
            values.append(torch.full_like(current, task.value))
        elif task.kind == "bias":
            assert task.bias is not None
            value = torch.empty_like(current)
            _init_bias(value, task.fan_in, bias_rule, gen)
            if task.bias.forget_gate is not None and forget_bias is not None:
                start, stop = task.bias.forget_gate
                value[start:stop] = forget_bias * task.bias.forget_share
            values.append(value)
        else:
            weight = task.weight
            assert weight is not None
            shape = block_shape(current.shape, weight)
            blocks = []
            for _ in range(weight.blocks):
                buf = torch.empty(shape, dtype=current.dtype, device=current.device)
                if task.kind == "method":
                    spec.fn(buf, index=task.index, n_layers=n_layers, generator=gen, **options)
                elif task.kind == "orthogonal":
                    orthogonal(buf, index=0, n_layers=1, generator=gen)
                else:
                    fill_random_(buf, lambda b, g: b.normal_(0.0, 1.0, generator=g), gen)
                blocks.append(buf)
            value = to_stored(torch.cat(blocks) if len(blocks) > 1 else blocks[0], weight).contiguous()
            if weight.zero_rows:
                value[list(weight.zero_rows)] = 0.0
            values.append(value)
    return values


@torch.no_grad()
def _commit(tasks: list[Task], values: list[Tensor | None]) -> None:
    for task, value in zip(tasks, values, strict=True):
        if value is None:
            task.module.reset_parameters()  # type: ignore[operator]  # a normalization layer
        elif parametrize.is_parametrized(task.module, task.attr):
            setattr(task.module, task.attr, value)  # through the parametrization's right_inverse
        else:
            getattr(task.module, task.attr).copy_(value)


@overload
def init_(
    model: nn.Module,
    method: str,
    *,
    data: Tensor | None = ...,
    targets: Tensor | None = ...,
    generator: GeneratorLike = ...,
    only: Selector | Sequence[Selector] | None = ...,
    skip: Selector | Sequence[Selector] | None = ...,
    norms: Literal["keep", "reset"] = ...,
    recurrent: Literal["orthogonal", "method"] = ...,
    embedding: Literal["normal", "method"] = ...,
    forget_bias: float | None = ...,
    dry_run: Literal[False] = ...,
    **options: Any,
) -> nn.Module: ...


@overload
def init_(
    model: nn.Module,
    method: str,
    *,
    data: Tensor | None = ...,
    targets: Tensor | None = ...,
    generator: GeneratorLike = ...,
    only: Selector | Sequence[Selector] | None = ...,
    skip: Selector | Sequence[Selector] | None = ...,
    norms: Literal["keep", "reset"] = ...,
    recurrent: Literal["orthogonal", "method"] = ...,
    embedding: Literal["normal", "method"] = ...,
    forget_bias: float | None = ...,
    dry_run: Literal[True],
    **options: Any,
) -> InitPlan: ...


def init_(
    model: nn.Module,
    method: str,
    *,
    data: Tensor | None = None,
    targets: Tensor | None = None,
    generator: GeneratorLike = None,
    only: Selector | Sequence[Selector] | None = None,
    skip: Selector | Sequence[Selector] | None = None,
    norms: Literal["keep", "reset"] = "keep",
    recurrent: Literal["orthogonal", "method"] = "orthogonal",
    embedding: Literal["normal", "method"] = "normal",
    forget_bias: float | None = 1.0,
    dry_run: bool = False,
    **options: Any,
) -> nn.Module | InitPlan:
    """Initialize the layers of ``model`` in place with ``method``; returns ``model`` (with
    ``dry_run=True``: its :class:`~specinit.initializers.plan.InitPlan`, touching nothing).

    Layer methods fill every weight a layer rule names (module docstring; ``only=`` / ``skip=``
    choose layers; ``norms``, ``recurrent``, ``embedding`` and ``forget_bias`` as described
    there) and warn (:class:`~specinit.initializers.plan.InitWarning`) about parameters they
    leave alone.  Options a method shares with the model's activation (``omega0`` of a sine
    network for ``"siren"``, ``sigma`` of a Gaussian one for ``"gaussian_small"``,
    ``activation`` itself) default to the model's values.  ``generator`` may be a
    ``torch.Generator`` or an int seed; ``None`` falls back to PyTorch's global RNG, as
    ``torch.nn.init`` does.

    >>> import specinit, torch
    >>> net = specinit.models.mlp(1, [64, 64], 1, "tanh")
    >>> _ = specinit.init_(net, "xavier_normal", generator=0)
    >>> specinit.init_(net, "xavier_normal", dry_run=True)
    InitPlan('xavier_normal': 6 initialized)
    """
    spec, options = _checked(model, method, options)
    layout: dict[str, Any] = {"only": only, "skip": skip, "norms": norms, "recurrent": recurrent}
    layout |= {"embedding": embedding, "forget_bias": forget_bias}
    if spec.kind == "model":
        defaults = inspect.signature(init_plan).parameters  # init_plan has init_'s layer options
        changed = [k for k, v in layout.items() if v != defaults[k].default] + ["dry_run"] * dry_run
        if changed:
            raise ValueError(
                f"method {method!r} initializes the whole model: {', '.join(changed)}= do not apply"
            )
        if spec.needs_data and data is None:
            raise ValueError(f"method {method!r} is data-driven: pass data= (and targets=)")
        if spec.needs_data is False and (data is not None or targets is not None):
            raise ValueError(f"method {method!r} does not use data; drop data=/targets=")
        spec.fn(model, data=data, targets=targets, generator=as_generator(generator), **options)
        return model
    if data is not None or targets is not None:
        raise ValueError(f"method {method!r} does not use data; drop data=/targets=")
    gen = as_generator(generator)
    plan, tasks = _plan(model, method, spec, options, layout)
    if dry_run:
        return plan
    values = _draw(tasks, spec, options, forget_bias, gen)
    _commit(tasks, values)
    for message in plan.warnings:
        warnings.warn(message, InitWarning, stacklevel=2)
    return model


def init_plan(
    model: nn.Module,
    method: str,
    *,
    only: Selector | Sequence[Selector] | None = None,
    skip: Selector | Sequence[Selector] | None = None,
    norms: Literal["keep", "reset"] = "keep",
    recurrent: Literal["orthogonal", "method"] = "orthogonal",
    embedding: Literal["normal", "method"] = "normal",
    forget_bias: float | None = 1.0,
    **options: Any,
) -> InitPlan:
    """What ``init_(model, method, ...)`` would do to every parameter, touching nothing: the
    same as ``init_(..., dry_run=True)``.  Layer methods only.

    >>> import specinit
    >>> from torch import nn
    >>> plan = init_plan(nn.LSTM(4, 8), "xavier_normal")
    >>> plan.row("weight_hh_l0").rule
    'orthogonal (gain 1) ×4 blocks (i, f, g, o)'
    """
    spec, options = _checked(model, method, options)
    if spec.kind == "model":
        raise ValueError(f"method {method!r} initializes the whole model: it has no per-layer plan")
    layout: dict[str, Any] = {"only": only, "skip": skip, "norms": norms, "recurrent": recurrent}
    layout |= {"embedding": embedding, "forget_bias": forget_bias}
    return _plan(model, method, spec, options, layout)[0]
