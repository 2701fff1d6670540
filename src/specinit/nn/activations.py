"""Activation registry: each activation knows the properties initializers rely on.

An :class:`Activation` wraps a tensor function ``f`` together with the facts about it that
initializers and diagnostics need: whether it is odd, bounded and increasing, its supremum
``sup |f|`` and its slope at zero ``f'(0)``.  The odd-sigmoid family of arXiv 2509.23085
(odd, bounded, strictly increasing) and the implicit-network activations of arXiv 2206.08558
(Gaussian, sine) are all here.

>>> from specinit.nn import activations
>>> act = activations.get("tanh")
>>> act.odd, act.bounded, act.sup, act.slope0
(True, True, 1.0, 1.0)
>>> activations.get("erf").scaled(2.0).slope0  # f(2x) has slope 2 f'(0)
2.256758334191025
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from specinit._core.checks import check_float

__all__ = [
    "Activation",
    "ActivationModule",
    "ActivationLike",
    "available",
    "get",
    "from_callable",
    "from_module",
    "is_activation",
    "TORCH_ACTIVATIONS",
    "from_function",
    "TORCH_FUNCTIONS",
]

TensorFn = Callable[[Tensor], Tensor]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Activation:
    """A pointwise non-linearity ``f`` with the properties initializers use.

    ``sup`` is ``sup_x |f(x)|`` (``math.inf`` when unbounded); ``slope0`` is ``f'(0)``.
    ``params`` records the parameters the activation was built with (e.g. ``omega0``), so it
    can be rebuilt by :func:`get` and written into experiment configs.  Registry activations
    and their scaled versions use module-level functions or small callable classes as ``fn``,
    so they compare equal when built alike and can be pickled (``torch.save`` of a model).
    """

    name: str
    fn: TensorFn = field(repr=False)
    odd: bool
    bounded: bool
    increasing: bool
    sup: float
    slope0: float
    params: tuple[tuple[str, float], ...] = ()

    def __call__(self, x: Tensor) -> Tensor:
        """Apply the activation elementwise."""
        return self.fn(x)

    @property
    def is_odd_sigmoid(self) -> bool:
        """Odd, bounded and strictly increasing: the class of arXiv 2509.23085."""
        return self.odd and self.bounded and self.increasing

    def scaled(self, k: float) -> Activation:
        """The activation ``x ↦ f(k x)``; slope at zero becomes ``k f'(0)``, the supremum is kept."""
        k = check_float(k, "activation scale k")
        if k <= 0:
            raise ValueError(f"activation scale k must be a positive finite number, got {k}")
        if k == 1.0:
            return self
        params = dict(self.params)
        params["k"] = params.get("k", 1.0) * k
        # f(k2 (k1 x)) is stored as f((k1 k2) x), the form get(describe()) rebuilds.
        base = self.fn
        fn = _Scaled(base.fn, base.k * k) if isinstance(base, _Scaled) else _Scaled(base, k)
        return replace(self, fn=fn, slope0=k * self.slope0, params=tuple(sorted(params.items())))

    def module(self) -> ActivationModule:
        """A ``torch.nn.Module`` that computes this activation."""
        return ActivationModule(self)

    def describe(self) -> str:
        """Name with parameters, e.g. ``sine(omega0=30)``; ``get(a.describe())`` rebuilds ``a``.

        Values are written with ``repr`` (shortest round-trip form), dropping a trailing ``.0``.
        """
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={_number(v)}" for k, v in self.params)
        return f"{self.name}({inner})"


class ActivationModule(nn.Module):
    """``nn.Module`` wrapper around an :class:`Activation` (keeps the properties reachable)."""

    def __init__(self, activation: Activation) -> None:
        super().__init__()
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        """Apply the activation elementwise."""
        return self.activation.fn(x)

    def extra_repr(self) -> str:
        """The activation's description, as in :meth:`Activation.describe`."""
        return self.activation.describe()


def _number(value: float) -> str:
    """``repr(float(value))`` without a trailing ``.0``: ``30.0 → "30"``, ``0.1 → "0.1"``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


# Parametrised activation functions are small frozen dataclasses (not closures), so they pickle
# and two built with the same parameters compare equal.


@dataclass(frozen=True)
class _Scaled:
    """``x ↦ fn(k x)``."""

    fn: TensorFn
    k: float

    def __call__(self, x: Tensor) -> Tensor:
        return self.fn(self.k * x)


@dataclass(frozen=True)
class _Gaussian:
    """``exp(-x²/(2σ²))`` of Ramasinghe & Lucey (2021), used in arXiv 2206.08558."""

    sigma: float

    def __call__(self, x: Tensor) -> Tensor:
        return torch.exp(-(x * x) / (2.0 * self.sigma * self.sigma))


@dataclass(frozen=True)
class _Sine:
    """SIREN's ``sin(ω0 x)`` (Sitzmann et al. 2020, arXiv 2006.09661)."""

    omega0: float

    def __call__(self, x: Tensor) -> Tensor:
        return torch.sin(self.omega0 * x)


@dataclass(frozen=True)
class _LeakyReLU:
    """``max(x, a x)`` with ``negative_slope`` ``a``."""

    negative_slope: float

    def __call__(self, x: Tensor) -> Tensor:
        return nn.functional.leaky_relu(x, self.negative_slope)


def _isru(x: Tensor) -> Tensor:
    return x * torch.rsqrt(1.0 + x * x)


def _tanh_half(x: Tensor) -> Tensor:
    return torch.tanh(0.5 * x)


def _gelu_tanh(x: Tensor) -> Tensor:
    return nn.functional.gelu(x, approximate="tanh")


@dataclass(frozen=True)
class _ELU:
    """``x`` for ``x > 0``, ``α (eˣ − 1)`` otherwise (Clevert et al., arXiv 1511.07289)."""

    alpha: float

    def __call__(self, x: Tensor) -> Tensor:
        return nn.functional.elu(x, self.alpha)


@dataclass(frozen=True)
class _CELU:
    """``max(0, x) + min(0, α (e^{x/α} − 1))`` (Barron, arXiv 1704.07483)."""

    alpha: float

    def __call__(self, x: Tensor) -> Tensor:
        return nn.functional.celu(x, self.alpha)


@dataclass(frozen=True)
class _Softplus:
    """``log(1 + e^{βx}) / β``."""

    beta: float

    def __call__(self, x: Tensor) -> Tensor:
        return nn.functional.softplus(x, self.beta)


@dataclass(frozen=True)
class _Softshrink:
    """``x − λ sign(x)`` for ``|x| > λ``, else 0."""

    lambd: float

    def __call__(self, x: Tensor) -> Tensor:
        return nn.functional.softshrink(x, self.lambd)


@dataclass(frozen=True)
class _Hardshrink:
    """``x`` for ``|x| > λ``, else 0."""

    lambd: float

    def __call__(self, x: Tensor) -> Tensor:
        return nn.functional.hardshrink(x, self.lambd)


#: SELU's constants (Klambauer et al., arXiv 1706.02515).
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)  # erf'(0)

_Builder = Callable[..., TensorFn]


@dataclass(frozen=True)
class _Spec:
    build: _Builder
    odd: bool
    bounded: bool
    increasing: bool
    sup: Callable[..., float]
    slope0: Callable[..., float]
    defaults: dict[str, float] = field(default_factory=dict)
    # Open interval of valid values per parameter (default (0, inf)); the declared properties
    # (e.g. leaky ReLU strictly increasing) hold on it.
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


def _const(value: _T) -> Callable[..., _T]:
    """A builder that ignores its parameters, e.g. ``_const(torch.tanh)`` or ``_const(1.0)``."""
    return lambda **_: value


_REGISTRY: dict[str, _Spec] = {
    "relu": _Spec(_const(torch.relu), False, False, False, _const(math.inf), _const(0.5)),
    "leaky_relu": _Spec(
        _LeakyReLU,
        False,
        False,
        True,
        _const(math.inf),
        lambda negative_slope: 0.5 * (1.0 + negative_slope),
        {"negative_slope": 0.01},
        {"negative_slope": (0.0, 1.0)},
    ),
    "gelu": _Spec(_const(nn.functional.gelu), False, False, False, _const(math.inf), _const(0.5)),
    "silu": _Spec(_const(nn.functional.silu), False, False, False, _const(math.inf), _const(0.5)),
    "sigmoid": _Spec(_const(torch.sigmoid), False, True, True, _const(1.0), _const(0.25)),
    "sine": _Spec(_Sine, True, True, False, _const(1.0), lambda omega0: omega0, {"omega0": 30.0}),
    "gaussian": _Spec(_Gaussian, False, True, False, _const(1.0), _const(0.0), {"sigma": 0.1}),
    # The odd-sigmoid family (arXiv 2509.23085): odd, bounded, strictly increasing.
    "tanh": _Spec(_const(torch.tanh), True, True, True, _const(1.0), _const(1.0)),
    "arctan": _Spec(_const(torch.atan), True, True, True, _const(math.pi / 2), _const(1.0)),
    "softsign": _Spec(_const(nn.functional.softsign), True, True, True, _const(1.0), _const(1.0)),
    "erf": _Spec(_const(torch.erf), True, True, True, _const(1.0), _const(TWO_OVER_SQRT_PI)),
    "isru": _Spec(_const(_isru), True, True, True, _const(1.0), _const(1.0)),
    "tanh_half": _Spec(_const(_tanh_half), True, True, True, _const(1.0), _const(0.5)),
    # The rest of torch.nn's activation modules, so any model's non-linearities are known
    # (:func:`from_module`).  At a kink ``slope0`` is the mean of the one-sided slopes (relu: 0.5).
    "gelu_tanh": _Spec(_const(_gelu_tanh), False, False, False, _const(math.inf), _const(0.5)),
    "elu": _Spec(
        _ELU, False, False, True, _const(math.inf), lambda alpha: 0.5 * (1.0 + alpha), {"alpha": 1.0}
    ),
    "selu": _Spec(
        _const(nn.functional.selu),
        False,
        False,
        True,
        _const(math.inf),
        _const(0.5 * SELU_SCALE * (1.0 + SELU_ALPHA)),
    ),
    "celu": _Spec(_CELU, False, False, True, _const(math.inf), _const(1.0), {"alpha": 1.0}),
    "softplus": _Spec(_Softplus, False, False, True, _const(math.inf), _const(0.5), {"beta": 1.0}),
    "mish": _Spec(_const(nn.functional.mish), False, False, False, _const(math.inf), _const(0.6)),
    "hardtanh": _Spec(_const(nn.functional.hardtanh), True, True, False, _const(1.0), _const(1.0)),
    "relu6": _Spec(_const(nn.functional.relu6), False, True, False, _const(6.0), _const(0.5)),
    "hardsigmoid": _Spec(
        _const(nn.functional.hardsigmoid), False, True, False, _const(1.0), _const(1.0 / 6.0)
    ),
    "hardswish": _Spec(_const(nn.functional.hardswish), False, False, False, _const(math.inf), _const(0.5)),
    "logsigmoid": _Spec(_const(nn.functional.logsigmoid), False, False, True, _const(math.inf), _const(0.5)),
    "tanhshrink": _Spec(_const(nn.functional.tanhshrink), True, False, True, _const(math.inf), _const(0.0)),
    "softshrink": _Spec(_Softshrink, True, False, False, _const(math.inf), _const(0.0), {"lambd": 0.5}),
    "hardshrink": _Spec(_Hardshrink, True, False, False, _const(math.inf), _const(0.0), {"lambd": 0.5}),
}
_ALIASES = {"swish": "silu", "sin": "sine", "siren": "sine", "atan": "arctan"}

ActivationLike = str | Activation | TensorFn


def available() -> list[str]:
    """Names accepted by :func:`get` (aliases not included)."""
    return sorted(_REGISTRY)


def get(activation: ActivationLike, *, k: float = 1.0, **params: float) -> Activation:
    """Look up an activation by name (``"tanh"``, ``"sine(omega0=10)"``) or wrap a callable.

    ``k`` returns the scaled activation ``f(k x)``.  Named parameters: ``omega0`` for ``sine``
    (default 30, SIREN), ``sigma`` for ``gaussian`` (default 0.1), ``negative_slope`` for
    ``leaky_relu``.  A user callable's properties are measured numerically on a grid (see
    :func:`from_callable`).
    """
    if isinstance(activation, Activation):
        if params:
            raise ValueError(
                f"parameters {sorted(params)} cannot be applied to an already built activation "
                f"{activation.describe()!r}; pass its name instead"
            )
        return activation.scaled(k)
    if isinstance(activation, str):
        name, parsed = _parse(activation)
        k *= parsed.pop("k", 1.0)
        params = {**parsed, **params}
        name = _ALIASES.get(name, name)
        if name not in _REGISTRY:
            raise ValueError(
                f"unknown activation {activation!r}; available: {', '.join(available())} (or pass a callable)"
            )
        spec = _REGISTRY[name]
        unknown = set(params) - set(spec.defaults)
        if unknown:
            allowed = ", ".join(spec.defaults) or "none"
            raise ValueError(
                f"activation {name!r} takes no parameter(s) {sorted(unknown)}; allowed: {allowed}"
            )
        values = {**spec.defaults, **{key: check_float(v, key) for key, v in params.items()}}
        for key, value in values.items():
            lo, hi = spec.ranges.get(key, (0.0, math.inf))
            if not lo < value < hi:
                raise ValueError(
                    f"activation parameter {key}={value} of {name!r} must lie in ({lo:g}, {hi:g})"
                )
        act = Activation(
            name=name,
            fn=spec.build(**values),
            odd=spec.odd,
            bounded=spec.bounded,
            increasing=spec.increasing,
            sup=spec.sup(**values),
            slope0=spec.slope0(**values),
            params=tuple(sorted(values.items())),
        )
        return act.scaled(k)
    if callable(activation):
        if params:
            raise ValueError("named parameters apply only to registry activations")
        return from_callable(activation).scaled(k)
    raise TypeError(
        f"activation must be a name, an Activation or a callable, got {type(activation).__name__}"
    )


def _strictly_increasing(y: Tensor, tol: float) -> bool:
    """Increasing on the grid, where equal neighbours are allowed only as float saturation.

    ``tanh`` rounds to exactly 1 beyond x ≈ 19 in float64, but it approaches that plateau in
    steps of at most an ulp; a genuinely flat piece (ReLU's left half, hardtanh's ends) lies
    next to steps much larger than ``tol``.
    """
    d = y.diff()
    if (d < 0).any() or not (d > 0).any():
        return False
    # A grid point just short of a kink makes one tiny step, so look three steps either way.
    near_big = nn.functional.max_pool1d((d > tol).double()[None, None], 7, 1, 3)[0, 0] > 0
    return not bool(((d == 0) & near_big).any())


def _parse(text: str) -> tuple[str, dict[str, float]]:
    """Split ``"name(key=value, ...)"`` (the form :meth:`Activation.describe` writes)."""
    text = text.strip().lower()
    if "(" not in text:
        return text, {}
    name, _, inner = text.partition("(")
    if not inner.endswith(")"):
        raise ValueError(f"cannot parse activation {text!r}; expected name(key=value, ...)")
    params: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in inner[:-1].split(","))):
        key, eq, value = item.partition("=")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            eq = ""
        if not eq:
            raise ValueError(f"cannot parse {item!r} in activation {text!r}; expected key=number")
    return name.strip(), params


def from_callable(fn: TensorFn, name: str | None = None, *, span: float = 50.0) -> Activation:
    """Wrap a user callable, measuring its properties numerically in float64.

    Oddness and monotonicity are checked on a grid over ``[-span, span]`` (monotonicity up to
    float saturation, so ``torch.tanh`` counts as strictly increasing); boundedness by the
    growth of ``max |f|`` over intervals of radius span/10, span and 10·span (a bounded
    function's growth shrinks, an unbounded one's does not), and ``sup`` is then ``max |f|``
    on the widest interval (a lower estimate, e.g. 1.5688 for arctan); ``f'(0)`` by a central
    difference.  Build an :class:`Activation` yourself to state the properties exactly.
    """
    x = torch.linspace(-span, span, 20001, dtype=torch.float64)
    with torch.no_grad():
        y = fn(x)
        if not isinstance(y, Tensor) or y.shape != x.shape:
            raise ValueError("a user activation must map a tensor to a tensor of the same shape")
        if not torch.isfinite(y).all():
            raise ValueError(f"a user activation returned NaN or inf on [-{span}, {span}]")
        peaks = [float(fn(r * x / span).abs().max()) for r in (span / 10, span, 10 * span)]
        h = torch.tensor([-1e-4, 1e-4], dtype=torch.float64)
        d0 = fn(h).diff()[0] / 2e-4
    scale = max(peaks[1], 1e-12)
    odd = bool(torch.allclose(y, -y.flip(0), atol=1e-9 * scale, rtol=1e-7))
    increasing = _strictly_increasing(y, 1e-9 * scale)
    bounded = peaks[2] - peaks[1] <= 0.5 * (peaks[1] - peaks[0]) + 1e-9 * scale
    return Activation(
        name=name or str(getattr(fn, "__name__", "custom")),
        fn=fn,
        odd=odd,
        bounded=bounded,
        increasing=increasing,
        sup=peaks[2] if bounded else math.inf,
        slope0=float(d0),
    )


# --------------------------------------------------------------------------------------------
# The one map from torch.nn activation modules to activations.


def _leaky(slope: float, name: str, module: nn.Module) -> Activation:
    if 0.0 < slope < 1.0:
        return get("leaky_relu", negative_slope=slope)
    return from_callable(module, name=name)


def _hardtanh(module: nn.Hardtanh) -> Activation:
    if (module.min_val, module.max_val) == (-1.0, 1.0):
        return get("hardtanh")
    return from_callable(module, name=f"hardtanh(min_val={module.min_val:g}, max_val={module.max_val:g})")


def _prelu(module: nn.PReLU) -> Activation:
    # Several channels: their mean slope stands for all (the properties do not depend on it).
    return _leaky(float(module.weight.detach().double().mean()), "prelu", module)


_TORCH_MAP: dict[type[nn.Module], Callable[[Any], Activation]] = {
    nn.ReLU: lambda m: get("relu"),
    nn.ReLU6: lambda m: get("relu6"),
    nn.LeakyReLU: lambda m: _leaky(float(m.negative_slope), "leaky_relu", m),
    nn.PReLU: _prelu,
    nn.RReLU: lambda m: _leaky(0.5 * (m.lower + m.upper), "rrelu", m),  # its eval-mode slope
    nn.ELU: lambda m: get("elu", alpha=m.alpha),
    nn.SELU: lambda m: get("selu"),
    nn.CELU: lambda m: get("celu", alpha=m.alpha),
    nn.GELU: lambda m: get("gelu_tanh" if m.approximate == "tanh" else "gelu"),
    nn.SiLU: lambda m: get("silu"),
    nn.Mish: lambda m: get("mish"),
    nn.Softplus: lambda m: get("softplus", beta=m.beta),
    nn.Tanh: lambda m: get("tanh"),
    nn.Sigmoid: lambda m: get("sigmoid"),
    nn.Hardtanh: _hardtanh,
    nn.Hardsigmoid: lambda m: get("hardsigmoid"),
    nn.Hardswish: lambda m: get("hardswish"),
    nn.Softsign: lambda m: get("softsign"),
    nn.Tanhshrink: lambda m: get("tanhshrink"),
    nn.LogSigmoid: lambda m: get("logsigmoid"),
    nn.Softshrink: lambda m: get("softshrink", lambd=m.lambd),
    nn.Hardshrink: lambda m: get("hardshrink", lambd=m.lambd),
}

#: ``torch.nn`` modules that :func:`from_module` recognizes as pointwise activations.
TORCH_ACTIVATIONS: tuple[type[nn.Module], ...] = tuple(_TORCH_MAP)


def _builder(module: nn.Module) -> Callable[[Any], Activation] | None:
    for cls in type(module).__mro__:  # the most derived known class (ReLU6 before Hardtanh)
        if cls in _TORCH_MAP:
            return _TORCH_MAP[cls]
    return None


def is_activation(module: nn.Module) -> bool:
    """Whether ``module`` is a pointwise activation: a specinit :class:`ActivationModule` or one
    of :data:`TORCH_ACTIVATIONS` (subclasses included).
    """
    return isinstance(module, ActivationModule) or _builder(module) is not None


def from_module(module: nn.Module) -> Activation | None:
    """The :class:`Activation` a module computes, or ``None`` if it is not a known activation.

    A specinit :class:`ActivationModule` gives its own activation; ``torch.nn`` modules map to the
    registry with their parameters (``nn.LeakyReLU(0.2)`` → ``leaky_relu(negative_slope=0.2)``,
    ``nn.GELU(approximate="tanh")`` → ``gelu_tanh``); modules outside the registry's laws
    (an asymmetric ``nn.Hardtanh``) are measured by :func:`from_callable`.

    >>> from_module(nn.LeakyReLU(0.2)).describe()
    'leaky_relu(negative_slope=0.2)'
    >>> from_module(nn.ReLU6()).sup, from_module(nn.Linear(2, 2)) is None
    (6.0, True)
    """
    if isinstance(module, ActivationModule):
        return module.activation
    build = _builder(module)
    return None if build is None else build(module)


# --------------------------------------------------------------------------------------------
# The one map from torch *functions* to activations (non-linearities called functionally:
# ``F.relu(x)`` in a forward, ``self.activation = F.relu`` in ``nn.TransformerEncoderLayer``).


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: float) -> float:
    """The float parameter ``name`` of a functional call: positional ``index`` or keyword."""
    value = args[index] if len(args) > index else kwargs.get(name, default)
    return float(value)


def _functional_leaky(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Activation:
    slope = _arg(args, kwargs, 1, "negative_slope", 0.01)
    if 0.0 < slope < 1.0:
        return get("leaky_relu", negative_slope=slope)
    return from_callable(_LeakyReLU(slope), name=f"leaky_relu(negative_slope={_number(slope)})")


def _functional_hardtanh(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Activation:
    lo, hi = _arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)
    if (lo, hi) == (-1.0, 1.0):
        return get("hardtanh")
    return from_callable(nn.Hardtanh(lo, hi), name=f"hardtanh(min_val={lo:g}, max_val={hi:g})")


def _functional_gelu(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Activation:
    approximate = args[1] if len(args) > 1 else kwargs.get("approximate", "none")
    return get("gelu_tanh" if approximate == "tanh" else "gelu")


def _named(name: str, **params: float) -> Callable[[tuple[Any, ...], dict[str, Any]], Activation]:
    return lambda args, kwargs: get(name, **params)


_F = nn.functional
_FUNCTIONAL_MAP: dict[Callable[..., Any], Callable[[tuple[Any, ...], dict[str, Any]], Activation]] = {
    **dict.fromkeys((torch.relu, torch.relu_, _F.relu, _F.relu_, Tensor.relu, Tensor.relu_), _named("relu")),
    _F.relu6: _named("relu6"),
    **dict.fromkeys((_F.leaky_relu, _F.leaky_relu_), _functional_leaky),
    **dict.fromkeys(
        (_F.elu, _F.elu_), lambda args, kwargs: get("elu", alpha=_arg(args, kwargs, 1, "alpha", 1.0))
    ),
    **dict.fromkeys((torch.selu, torch.selu_, _F.selu), _named("selu")),
    **dict.fromkeys(
        (torch.celu, torch.celu_, _F.celu),
        lambda args, kwargs: get("celu", alpha=_arg(args, kwargs, 1, "alpha", 1.0)),
    ),
    _F.gelu: _functional_gelu,
    _F.silu: _named("silu"),
    _F.mish: _named("mish"),
    _F.softplus: lambda args, kwargs: get("softplus", beta=_arg(args, kwargs, 1, "beta", 1.0)),
    **dict.fromkeys((torch.tanh, torch.tanh_, _F.tanh, Tensor.tanh, Tensor.tanh_), _named("tanh")),
    **dict.fromkeys(
        (torch.sigmoid, torch.sigmoid_, _F.sigmoid, Tensor.sigmoid, Tensor.sigmoid_), _named("sigmoid")
    ),
    **dict.fromkeys((_F.hardtanh, _F.hardtanh_), _functional_hardtanh),
    _F.hardsigmoid: _named("hardsigmoid"),
    _F.hardswish: _named("hardswish"),
    _F.softsign: _named("softsign"),
    # sin(x) is SIREN's sine with ω0 = 1 (a SIREN layer scales its pre-activation itself).
    **dict.fromkeys((torch.sin, torch.sin_, Tensor.sin, Tensor.sin_), _named("sine", omega0=1.0)),
}

#: Torch functions (and ``Tensor`` methods) that :func:`from_function` recognizes as pointwise
#: activations, called functionally (``torch.relu(x)``, ``F.gelu(x)``, ``x.tanh()``).
TORCH_FUNCTIONS: tuple[Callable[..., Any], ...] = tuple(_FUNCTIONAL_MAP)


def from_function(
    func: Callable[..., Any], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> Activation | None:
    """The :class:`Activation` a functional call ``func(*args, **kwargs)`` computes, or ``None``.

    The functional twin of :func:`from_module`: ``F.leaky_relu(x, 0.2)`` →
    ``leaky_relu(negative_slope=0.2)``, ``F.gelu(x, approximate="tanh")`` → ``gelu_tanh``,
    ``torch.sin`` → ``sine(omega0=1)``; parameters are read from the call's arguments.

    >>> from_function(nn.functional.leaky_relu, (None, 0.2)).describe()
    'leaky_relu(negative_slope=0.2)'
    >>> from_function(torch.tanh).sup, from_function(torch.matmul) is None
    (1.0, True)
    """
    build = _FUNCTIONAL_MAP.get(func)
    return None if build is None else build(args, kwargs or {})
