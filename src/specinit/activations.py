"""Activation registry: each activation knows the properties initializers rely on.

An :class:`Activation` wraps a tensor function ``f`` together with the facts about it that
initializers and diagnostics need: whether it is odd, bounded and increasing, its supremum
``sup |f|`` and its slope at zero ``f'(0)``.  The odd-sigmoid family of arXiv 2509.23085
(odd, bounded, strictly increasing) and the implicit-network activations of arXiv 2206.08558
(Gaussian, sine) are all here.

>>> from specinit import activations
>>> act = activations.get("tanh")
>>> act.odd, act.bounded, act.sup, act.slope0
(True, True, 1.0, 1.0)
>>> activations.get("erf").scaled(2.0).slope0  # f(2x) has slope 2 f'(0)
2.256758334191025
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, TypeVar, Union

import torch
from torch import Tensor, nn

from specinit._checks import check_float

__all__ = ["Activation", "ActivationModule", "available", "get", "from_callable", "ActivationLike"]

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
        return self.fn(x)

    @property
    def is_odd_sigmoid(self) -> bool:
        """Odd, bounded and strictly increasing: the class of arXiv 2509.23085."""
        return self.odd and self.bounded and self.increasing

    def scaled(self, k: float) -> "Activation":
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

    def module(self) -> "ActivationModule":
        """This activation as a ``torch.nn.Module``."""
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
        return self.activation.fn(x)

    def extra_repr(self) -> str:
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
        False, False, True, _const(math.inf),
        lambda negative_slope: 0.5 * (1.0 + negative_slope),
        {"negative_slope": 0.01},
        {"negative_slope": (0.0, 1.0)},
    ),
    "gelu": _Spec(_const(nn.functional.gelu), False, False, False, _const(math.inf), _const(0.5)),
    "silu": _Spec(_const(nn.functional.silu), False, False, False, _const(math.inf), _const(0.5)),
    "sigmoid": _Spec(_const(torch.sigmoid), False, True, True, _const(1.0), _const(0.25)),
    "sine": _Spec(
        _Sine, True, True, False, _const(1.0), lambda omega0: omega0, {"omega0": 30.0}
    ),
    "gaussian": _Spec(
        _Gaussian, False, True, False, _const(1.0), _const(0.0), {"sigma": 0.1}
    ),
    # The odd-sigmoid family (arXiv 2509.23085): odd, bounded, strictly increasing.
    "tanh": _Spec(_const(torch.tanh), True, True, True, _const(1.0), _const(1.0)),
    "arctan": _Spec(_const(torch.atan), True, True, True, _const(math.pi / 2), _const(1.0)),
    "softsign": _Spec(
        _const(nn.functional.softsign), True, True, True, _const(1.0), _const(1.0)
    ),
    "erf": _Spec(_const(torch.erf), True, True, True, _const(1.0), _const(TWO_OVER_SQRT_PI)),
    "isru": _Spec(_const(_isru), True, True, True, _const(1.0), _const(1.0)),
    "tanh_half": _Spec(_const(_tanh_half), True, True, True, _const(1.0), _const(0.5)),
}
_ALIASES = {"swish": "silu", "sin": "sine", "siren": "sine", "atan": "arctan"}

ActivationLike = Union[str, Activation, TensorFn]


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
                f"unknown activation {activation!r}; available: {', '.join(available())} "
                "(or pass a callable)"
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
        name=name or getattr(fn, "__name__", "custom"),
        fn=fn,
        odd=odd,
        bounded=bounded,
        increasing=increasing,
        sup=peaks[2] if bounded else math.inf,
        slope0=float(d0),
    )
