"""Classical initializers in the ``torch.nn.init`` call shape.

Every function fills its tensor in place under ``torch.no_grad()`` and returns it.  Randomness
comes from ``generator``: a ``torch.Generator``, an int seed, or ``None`` for PyTorch's global
RNG (the only case that touches global state).  Fans follow
:func:`~specinit.initializers.registry.fan_in_out`: for a Linear ``(out, in)`` or Conv
``(out, in, *kernel)`` weight, ``fan_in = in · prod(kernel)``, ``fan_out = out · prod(kernel)``.

Each function is also registered with :func:`~specinit.initializers.registry.init_` under its
name without the trailing underscore (plus ``he_uniform``/``he_normal`` and PyTorch's own
``default``), so ``init_(net, "xavier_normal", gain=2.0, generator=0)`` works on whole models.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor

from specinit._core.checks import check_float, check_positive
from specinit._core.deprecation import mark_deprecated_kwargs, warn_deprecated
from specinit._core.rng import GeneratorLike
from specinit.initializers.registry import (
    fan_in_out,
    fill_random_,
    register_layer_method,
    set_signature,
)

__all__ = [
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "lecun_uniform_",
    "lecun_normal_",
    "orthogonal_",
    "trunc_normal_",
    "variance_scaled_trunc_normal_",
    "siren_",
    "gaussian_small_",
    "truncated_variance",
    "calculate_gain",
]

RELU_GAIN = math.sqrt(2.0)  # He et al. 2015 (arXiv 1502.01852): Var W = 2 / fan for ReLU
# nn.Linear / nn.Conv reset_parameters: kaiming_uniform_(a=√5), gain √(2/(1+a²)) = √(1/3), so
# the bound gain·√(3/fan_in) is 1/√fan_in.
TORCH_DEFAULT_A = math.sqrt(5.0)
SIREN_OMEGA0 = 30.0  # ω0 of Sitzmann et al. 2020 (arXiv 2006.09661), Sec. 3.2
TRUNC_BOUND = 2.0  # ±2σ0, the cut of Keras/JAX "truncated_normal" variance scaling
MODES = ("fan_in", "fan_out")
SQRT3 = math.sqrt(3.0)  # U(-√3 s, √3 s) has standard deviation s

#: The ``nonlinearity`` names of ``torch.nn.init.calculate_gain``.
Nonlinearity = Literal[
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
]

# ---------------------------------------------------------------------------------------------
# Shared pieces: input checks, the two base laws, the scale of each family.


def _check_weight(tensor: Tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected a torch.Tensor to initialize, got {type(tensor).__name__}")
    if not tensor.is_floating_point():
        raise TypeError(f"cannot initialize a tensor of dtype {tensor.dtype}; need floating point")


def _fans(tensor: Tensor) -> tuple[int, int]:
    _check_weight(tensor)
    return fan_in_out(tensor)


def _uniform_(tensor: Tensor, bound: float, generator: GeneratorLike) -> Tensor:
    return fill_random_(tensor, lambda buf, gen: buf.uniform_(-bound, bound, generator=gen), generator)


def _normal_(tensor: Tensor, std: float, generator: GeneratorLike) -> Tensor:
    return fill_random_(tensor, lambda buf, gen: buf.normal_(0.0, std, generator=gen), generator)


def _xavier_std(tensor: Tensor, gain: float) -> float:
    check_positive(gain, "gain")
    fan_in, fan_out = _fans(tensor)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def _kaiming_std(tensor: Tensor, gain: float, mode: str) -> float:
    check_positive(gain, "gain")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    return gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)


# ---------------------------------------------------------------------------------------------
# Variance scaling: Glorot, He, LeCun.


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Glorot uniform: ``W ~ U(-a, a)``, ``a = gain · √(6 / (fan_in + fan_out))``.

    Glorot & Bengio 2010, "Understanding the difficulty of training deep feedforward neural
    networks" (AISTATS); ``Var W = gain² · 2 / (fan_in + fan_out)``.

    >>> w = xavier_uniform_(torch.empty(30, 50), generator=0)  # |w| ≤ √(6/80)
    """
    return _uniform_(tensor, SQRT3 * _xavier_std(tensor, gain), generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Glorot normal: ``W ~ N(0, σ²)``, ``σ = gain · √(2 / (fan_in + fan_out))``.

    Glorot & Bengio 2010, "Understanding the difficulty of training deep feedforward neural
    networks" (AISTATS).

    >>> w = xavier_normal_(torch.empty(30, 50), gain=5 / 3, generator=0)  # gain for tanh
    """
    return _normal_(tensor, _xavier_std(tensor, gain), generator)


def calculate_gain(nonlinearity: Nonlinearity, param: float | None = None) -> float:
    """The gain ``torch.nn.init.calculate_gain`` recommends for ``nonlinearity`` (``"relu"``: √2,
    ``"tanh"``: 5/3, ``"leaky_relu"`` with slope ``a``: ``√(2/(1 + a²))``, linear layers: 1, ...).

    >>> calculate_gain("leaky_relu", 0.0) == math.sqrt(2.0)
    True
    """
    return float(torch.nn.init.calculate_gain(nonlinearity, param))


def _with_deprecated_gain(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Accept the old ``gain=`` of ``kaiming_*_`` for one release (DeprecationWarning): the gain
    then replaces ``calculate_gain(nonlinearity, a)``.
    """

    @functools.wraps(fn)
    def wrapper(tensor: Tensor, *args: Any, gain: float | None = None, **kwargs: Any) -> Tensor:
        if gain is None:
            return fn(tensor, *args, **kwargs)
        if args or {"a", "nonlinearity"} & set(kwargs):
            raise TypeError(
                f"{fn.__name__}(gain=...) is deprecated and cannot be combined with a= or nonlinearity="
            )
        warn_deprecated(
            f"{fn.__name__}(gain=...) is deprecated and will be removed in the next "
            "release: the signature is torch.nn.init's (a, mode, nonlinearity); use "
            "nonlinearity='linear' for gain 1 or scale the weights yourself"
        )
        return fn(tensor, _gain=check_float(gain, "gain"), **kwargs)

    mark_deprecated_kwargs(wrapper, {"gain": "a/nonlinearity"})
    return wrapper


@_with_deprecated_gain
def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: Nonlinearity = "leaky_relu",
    generator: GeneratorLike = None,
    *,
    _gain: float | None = None,
) -> Tensor:
    """He uniform: ``W ~ U(-b, b)``, ``b = gain · √(3 / fan)``, ``fan`` = fan_in or fan_out.

    ``gain = calculate_gain(nonlinearity, a)``, as in ``torch.nn.init.kaiming_uniform_`` (the same
    parameters): the default leaky ReLU with ``a = 0`` gives ``√2`` and ``Var W = 2 / fan``.
    He et al. 2015, arXiv 1502.01852.

    >>> w = kaiming_uniform_(torch.empty(30, 50), mode="fan_out", generator=0)
    """
    gain = calculate_gain(nonlinearity, a) if _gain is None else _gain
    return _uniform_(tensor, SQRT3 * _kaiming_std(tensor, gain, mode), generator)


@_with_deprecated_gain
def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: Nonlinearity = "leaky_relu",
    generator: GeneratorLike = None,
    *,
    _gain: float | None = None,
) -> Tensor:
    """He normal: ``W ~ N(0, σ²)``, ``σ = gain / √fan``, ``fan`` = fan_in or fan_out.

    ``gain = calculate_gain(nonlinearity, a)``, as in ``torch.nn.init.kaiming_normal_`` (the same
    parameters): the default gives ``√2`` and ``Var W = 2 / fan``.  He et al. 2015,
    arXiv 1502.01852.

    >>> w = kaiming_normal_(torch.empty(16, 3, 3, 3), generator=0)  # fan_in = 27
    """
    gain = calculate_gain(nonlinearity, a) if _gain is None else _gain
    return _normal_(tensor, _kaiming_std(tensor, gain, mode), generator)


def lecun_uniform_(tensor: Tensor, generator: GeneratorLike = None) -> Tensor:
    """LeCun uniform: ``W ~ U(-a, a)``, ``a = √(3 / fan_in)``, so ``Var W = 1 / fan_in``.

    LeCun, Bottou, Orr & Müller 1998, "Efficient BackProp" (Neural Networks: Tricks of the Trade).

    >>> w = lecun_uniform_(torch.empty(30, 50), generator=0)  # |w| ≤ √(3/50)
    """
    return kaiming_uniform_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


def lecun_normal_(tensor: Tensor, generator: GeneratorLike = None) -> Tensor:
    """LeCun normal: ``W ~ N(0, 1 / fan_in)``.

    LeCun, Bottou, Orr & Müller 1998, "Efficient BackProp" (Neural Networks: Tricks of the Trade).

    >>> w = lecun_normal_(torch.empty(30, 50), generator=0)
    """
    return kaiming_normal_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


# ---------------------------------------------------------------------------------------------
# Orthogonal and truncated normal.


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Haar-random (semi-)orthogonal matrix times ``gain``, on ``W.reshape(rows, -1)``.

    ``A ~ N(0, 1)^{max×min}``, ``A = QR``, ``W = gain · Q · diag(sign(diag R))`` (transposed
    when rows < cols), so ``W Wᵀ = gain² I`` if rows ≤ cols and ``Wᵀ W = gain² I`` otherwise;
    the sign correction makes ``Q`` Haar-distributed (Mezzadri 2007, arXiv math-ph/0609050).
    Saxe, McClelland & Ganguli 2013, arXiv 1312.6120.  Conv weights ``(out, in, *kernel)``
    are flattened to ``(out, in · prod(kernel))``.

    >>> w = orthogonal_(torch.empty(30, 50), generator=0)  # w @ w.T ≈ I₃₀
    """
    check_positive(gain, "gain")
    _fans(tensor)  # same shape checks as the fan-based laws
    rows = tensor.shape[0]
    cols = tensor.numel() // rows

    def draw(buf: Tensor, gen: torch.Generator | None) -> Tensor:
        tall = buf.new_empty(max(rows, cols), min(rows, cols)).normal_(generator=gen)
        q, r = torch.linalg.qr(tall)
        signs = torch.where(r.diagonal() < 0, -1.0, 1.0).to(q.dtype)
        q = q * signs
        return (gain * (q if rows >= cols else q.T)).reshape(buf.shape)

    # QR in the weight's precision (at least float32): orthogonal to ~1e-6 in float32, and
    # as fast as torch.nn.init.orthogonal_ (bench/initializers_vs_torch.py).
    return fill_random_(tensor, draw, generator)


def truncated_variance(bound: float) -> float:
    """Variance of a standard normal truncated to ``[-b, b]``: ``1 − 2 b φ(b) / (2Φ(b) − 1)``."""
    check_positive(bound, "bound")
    density = math.exp(-0.5 * bound * bound) / math.sqrt(2.0 * math.pi)
    return 1.0 - 2.0 * bound * density / math.erf(bound / math.sqrt(2.0))


def variance_scaled_trunc_normal_(
    tensor: Tensor,
    std: float | None = None,
    bound: float = TRUNC_BOUND,
    generator: GeneratorLike = None,
) -> Tensor:
    """Normal truncated at ``±b σ0`` whose variance *after* truncation is ``std²``.

    ``W = σ0 · Φ⁻¹(U)``, ``U ~ U(Φ(−b), Φ(b))`` (inverse-CDF sampling, computed as
    ``√2 σ0 erf⁻¹(V)``, ``V ~ U(−erf(b/√2), erf(b/√2))``), with
    ``σ0 = std / √(1 − 2bφ(b)/(2Φ(b) − 1))``, so ``Var W = std²`` and ``|W| ≤ b σ0``.
    Default ``std = 1/√fan_in``: the variance-corrected LeCun truncated normal (LeCun et al.
    1998, "Efficient BackProp"; the correction is the one Keras/JAX variance scaling uses).
    Unlike :func:`trunc_normal_` (torch's law) the bound is relative and ``std`` is the std
    after truncation.

    >>> w = variance_scaled_trunc_normal_(torch.empty(30, 50), generator=0)  # std 1/√50, |w| ≤ 2σ0
    """
    if std is None:
        std = 1.0 / math.sqrt(_fans(tensor)[0])
    else:
        _check_weight(tensor)
        check_positive(std, "std")
    sigma0 = std / math.sqrt(truncated_variance(bound))
    cut = bound * sigma0
    edge = math.erf(bound / math.sqrt(2.0))

    def draw(buf: Tensor, gen: torch.Generator | None) -> Tensor:
        v = buf.uniform_(-edge, edge, generator=gen)
        # The clamp only guards erfinv(±1) = ±inf when erf(b/√2) rounds to 1 (large b).
        return torch.special.erfinv(v).mul_(math.sqrt(2.0) * sigma0).clamp_(-cut, cut)

    return fill_random_(tensor, draw, generator, dtype=torch.float64)


def _with_deprecated_bound(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Route the old ``trunc_normal_(tensor, std=…, bound=…)`` (a relative bound, ``std`` after
    truncation) to :func:`variance_scaled_trunc_normal_` for one release (DeprecationWarning).
    """

    @functools.wraps(fn)
    def wrapper(tensor: Tensor, *args: Any, bound: float | None = None, **kwargs: Any) -> Tensor:
        if bound is None:
            return fn(tensor, *args, **kwargs)
        if args or {"mean", "a", "b"} & set(kwargs):
            raise TypeError(
                "trunc_normal_(bound=...) is deprecated and cannot be combined with mean=, a= or b="
            )
        warn_deprecated(
            "trunc_normal_(..., bound=...) is deprecated: trunc_normal_ now follows "
            "torch.nn.init.trunc_normal_(tensor, mean, std, a, b); the old law is "
            "variance_scaled_trunc_normal_(tensor, std, bound)"
        )
        return variance_scaled_trunc_normal_(tensor, kwargs.get("std"), bound, kwargs.get("generator"))

    mark_deprecated_kwargs(wrapper, {"bound": "variance_scaled_trunc_normal_"})
    return wrapper


@_with_deprecated_bound
def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: GeneratorLike = None,
) -> Tensor:
    """``N(mean, std²)`` truncated to the absolute interval ``[a, b]``: the law and the parameters
    of ``torch.nn.init.trunc_normal_``.

    ``W = mean + std · Φ⁻¹(U)``, ``U ~ U(Φ(α), Φ(β))``, ``α = (a − mean)/std``,
    ``β = (b − mean)/std`` (inverse-CDF sampling in float64).  The variance after truncation is
    below ``std²``; :func:`variance_scaled_trunc_normal_` is the law whose variance is ``std²``.

    >>> w = trunc_normal_(torch.empty(30, 50), std=0.02, a=-0.04, b=0.04, generator=0)
    >>> bool(w.abs().max() <= 0.04)
    True
    """
    _check_weight(tensor)
    mean = check_float(mean, "mean")
    check_positive(std, "std")
    a, b = check_float(a, "a"), check_float(b, "b")
    if not a < b:
        raise ValueError(f"trunc_normal_ needs a < b, got a={a}, b={b}")
    lo = math.erf((a - mean) / (std * math.sqrt(2.0)))
    hi = math.erf((b - mean) / (std * math.sqrt(2.0)))
    if not lo < hi:
        raise ValueError(f"[a, b] = [{a}, {b}] holds no mass of N({mean}, {std}²) in float64")

    def draw(buf: Tensor, gen: torch.Generator | None) -> Tensor:
        v = buf.uniform_(lo, hi, generator=gen)
        return torch.special.erfinv(v).mul_(math.sqrt(2.0) * std).add_(mean).clamp_(a, b)

    return fill_random_(tensor, draw, generator, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# Implicit networks: SIREN and small-variance starts for Gaussian activations.


def siren_(
    tensor: Tensor,
    omega0: float = SIREN_OMEGA0,
    first: bool = False,
    generator: GeneratorLike = None,
) -> Tensor:
    """SIREN: first layer ``U(−1/fan_in, 1/fan_in)``, hidden ``U(−√(6/fan_in)/ω0, √(6/fan_in)/ω0)``.

    For the activation ``sin(ω0 x)``: hidden pre-activations ``ω0 W x`` then have unit-scale
    arcsine-distributed outputs at every depth.  Sitzmann et al. 2020, arXiv 2006.09661 (Sec. 3.2).

    >>> w = siren_(torch.empty(256, 2), first=True, generator=0)  # |w| ≤ 1/2
    """
    check_positive(omega0, "omega0")
    fan_in, _ = _fans(tensor)
    bound = 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / omega0
    return _uniform_(tensor, bound, generator)


def gaussian_small_(
    tensor: Tensor, sigma: float, alpha: float = 2.0, generator: GeneratorLike = None
) -> Tensor:
    """Small-variance start for Gaussian-activation networks: ``W ~ N(0, (α σ)² / fan_in)``.

    With the activation ``exp(−z²/(2σ²))`` (Ramasinghe & Lucey, arXiv 2111.15135) the network's
    frequency content grows with ``|z|/σ``.  Since ``z = Σ w_i x_i`` has standard deviation
    ``α σ · rms(x)`` under this law, pre-activations stay within a few ``σ`` — the smooth
    "low-bandwidth" start of arXiv 2206.08558 (Exp. 3d, App. A.3) — while Xavier weights put
    them far outside and give a high-bandwidth one.  The paper's numeric value did not survive;
    ``α = 2`` is ours (``bandwidth-1d`` measures it).

    >>> w = gaussian_small_(torch.empty(64, 64), sigma=0.1, generator=0)  # std = 0.2/8
    """
    check_positive(sigma, "sigma")
    check_positive(alpha, "alpha")
    fan_in, _ = _fans(tensor)
    return _normal_(tensor, alpha * sigma / math.sqrt(fan_in), generator)


# ---------------------------------------------------------------------------------------------
# Registration with init_: thin adapters generated from each function's own signature.

_Keyword = inspect.Parameter.KEYWORD_ONLY
_LAYER_PARAMS = [
    inspect.Parameter("weight", inspect.Parameter.POSITIONAL_ONLY),
    *(inspect.Parameter(name, _Keyword) for name in ("index", "n_layers", "generator")),
]


def _layer_method(
    fn: Callable[..., Tensor],
    *,
    fixed: dict[str, Any] | None = None,
    from_index: dict[str, Callable[[int, int], Any]] | None = None,
    summary: str | None = None,
) -> Callable[..., Tensor]:
    """``fn(tensor, ..., generator)`` as a layer method ``(weight, *, index, n_layers, generator)``.

    ``fixed`` pins options; ``from_index`` derives options from ``(index, n_layers)``; the other
    parameters of ``fn`` become the method's keyword options with ``fn``'s defaults, so the
    registry knows which options exist and which are required.
    """
    fixed = fixed or {}
    from_index = from_index or {}
    hidden = {"generator", *fixed, *from_index}
    options = [
        p.replace(kind=_Keyword)
        for p in list(inspect.signature(fn).parameters.values())[1:]
        if p.name not in hidden and not p.name.startswith("_") and p.kind is not p.VAR_KEYWORD
    ]

    def method(weight: Tensor, *, index: int, n_layers: int, generator: Any, **opts: Any) -> Tensor:
        derived = {name: rule(index, n_layers) for name, rule in from_index.items()}
        return fn(weight, generator=generator, **fixed, **derived, **opts)

    set_signature(method, inspect.Signature([*_LAYER_PARAMS, *options]))
    method.__doc__ = summary or inspect.getdoc(fn)
    method.__name__ = method.__qualname__ = fn.__name__.rstrip("_") + "_layer"
    # Old argument names stay accepted for one release, unless the method pins the new ones.
    deprecated = {} if fixed else getattr(fn, "__deprecated_kwargs__", {})
    mark_deprecated_kwargs(method, deprecated)
    return method


def _trunc_normal_method(
    tensor: Tensor,
    mean: float = 0.0,
    std: float | None = None,
    a: float = -2.0,
    b: float = 2.0,
    generator: GeneratorLike = None,
    **deprecated: Any,
) -> Tensor:
    """N(mean, std²) truncated to [a, b] (torch.nn.init.trunc_normal_'s law); give std (without it
    this release still draws the old variance-scaled law, std 1/√fan_in, with a DeprecationWarning).
    """
    if "bound" in deprecated or std is None:
        warn_deprecated(
            "init_(model, 'trunc_normal') without std= (or with bound=) is deprecated: "
            "the method now follows torch.nn.init.trunc_normal_ (mean, std, absolute "
            "a, b); this release still draws the old variance-scaled law: pass std=, "
            "or use 'variance_scaled_trunc_normal'",
            stacklevel=5,
        )
        return variance_scaled_trunc_normal_(tensor, std, deprecated.pop("bound", TRUNC_BOUND), generator)
    return trunc_normal_(tensor, mean, std, a, b, generator)


mark_deprecated_kwargs(_trunc_normal_method, {"bound": "variance_scaled_trunc_normal"})


def _register_all() -> None:
    plain: list[tuple[str, Callable[..., Tensor]]] = [
        ("xavier_uniform", xavier_uniform_),
        ("xavier_normal", xavier_normal_),
        ("kaiming_uniform", kaiming_uniform_),
        ("kaiming_normal", kaiming_normal_),
        ("he_uniform", kaiming_uniform_),
        ("he_normal", kaiming_normal_),
        ("lecun_uniform", lecun_uniform_),
        ("lecun_normal", lecun_normal_),
        ("orthogonal", orthogonal_),
        ("trunc_normal", _trunc_normal_method),
        ("variance_scaled_trunc_normal", variance_scaled_trunc_normal_),
        ("gaussian_small", gaussian_small_),
    ]
    for name, fn in plain:
        # Small Gaussian weights assume the Gaussian activation of arXiv 2111.15135.
        register_layer_method(name, activations=("gaussian",) if name == "gaussian_small" else ())(
            _layer_method(fn)
        )
    # SIREN keeps PyTorch's default bias U(−1/√fan_in, 1/√fan_in), as its reference code does.
    register_layer_method("siren", bias="uniform", activations=("sine",))(
        _layer_method(siren_, from_index={"first": lambda index, n_layers: index == 0})
    )
    register_layer_method("default", bias="uniform")(
        _layer_method(
            kaiming_uniform_,
            fixed={"a": TORCH_DEFAULT_A, "mode": "fan_in", "nonlinearity": "leaky_relu"},
            summary="PyTorch's own reset_parameters: W, b ~ U(−1/√fan_in, 1/√fan_in).",
        )
    )


_register_all()
