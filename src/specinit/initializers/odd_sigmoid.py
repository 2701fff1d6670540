"""Signal-preserving initialization for odd-sigmoid activations: ``W = ω D + Z``.

For an activation ``f`` of the odd-sigmoid class (odd, bounded, strictly increasing: tanh,
arctan, softsign, erf, ...; arXiv 2509.23085) every layer starts as a scaled identity-like
matrix plus Gaussian noise.  ``D`` is the Tanh-Init diagonal (arXiv 2410.02242): input ``j``
feeds output ``j mod fan_out``; ``ω = 1/f'(0)`` is the critical gain, so the diagonal path
``x ↦ f(ω x)`` has slope exactly 1 at 0 for every member of the class; ``Z_ij ~ N(0, σ_z²)``.

The noise scale has three rules (:func:`noise_scale`):

* ``"closed_form"`` (ours; the paper's formula was not reachable):
  ``σ_z = ω √(2^{1/L} − 1) / √fan_in``.  In the small-signal (linearized) network this makes
  the energy the noise path carries at the target layer ``L`` equal to the energy of the
  identity path, ``(1 + β²)^L = 2`` with ``β = σ_z √fan_in / ω``; at ``L = 100`` it gives
  ``α = σ_z √fan_in = 0.0834`` for tanh, Tanh-Init's empirically tuned 0.085.
* ``"tanh_init"``: Tanh-Init's constant ``σ_z = 0.085 / √fan_in``.
* ``"calibrated"``: the same criterion (noise energy = identity-path energy at layer ``L``)
  measured on a simulated finite-width network with the real ``f`` and unit pre-activations,
  where the non-linearity damps part of the noise; solved for ``σ_z`` by root finding.

The derivation, its assumptions and the verification against simulation are in
``docs/concepts/odd_sigmoid.md``.  Both methods register with :func:`~specinit.initializers.registry.init_`:
``init_(net, "odd_sigmoid", target_layer=100)`` (activation taken from the model) and
``init_(net, "tanh_init")``.

>>> import torch
>>> w = odd_sigmoid_(torch.empty(64, 64), "tanh_half", target_layer=100, generator=0)
>>> round(float(w.diagonal().mean()), 1)  # ω = 1/f'(0) = 2 for tanh(x/2)
2.0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import brentq
from torch import Tensor

from specinit._core.checks import check_int, check_positive
from specinit._core.rng import GeneratorLike, as_generator
from specinit.initializers.classic import _fans, _layer_method, _normal_
from specinit.initializers.registry import register_layer_method
from specinit.nn import activations
from specinit.nn.activations import Activation, ActivationLike

__all__ = [
    "odd_sigmoid_class",
    "critical_gain",
    "fixed_point",
    "DecayLaw",
    "decay_law",
    "diagonal_",
    "noise_scale",
    "predicted_std",
    "odd_sigmoid_",
    "tanh_init_",
    "entry_std",
    "diagonal_gains",
    "first_layer_std",
    "readout_std",
    "RULES",
    "ENDS",
]

RULES = ("closed_form", "tanh_init", "calibrated")
ENDS = ("diagonal", "scaled")
TANH_INIT_ALPHA = 0.085  # Tanh-Init (arXiv 2410.02242): σ_z = 0.085/√fan_in, tuned empirically
# The criterion of the closed form and the calibrator: at the target layer the noise path
# carries as much energy as the identity path (noise-to-signal ratio 1).
TARGET_NSR = 1.0
# Calibrator: particles (batch × width) simulated per noise level, and its fixed seed.
CALIBRATION_PARTICLES = 2**14
CALIBRATION_SEED = 0
# Decay law: smallest probe x (in units of the linear range) whose deviation 1 − G(x)/x is
# resolved well above float64 rounding.
_PROBES = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
_RESOLVED = 1e-9
# Gauss–Hermite nodes for E f(ω u)², u ~ N(0, 1).
_HERMITE = 64


# ---------------------------------------------------------------------------------------------
# The odd-sigmoid class and its scalar maps.


def odd_sigmoid_class(activation: ActivationLike) -> Activation:
    """``activation`` as an :class:`Activation`, checked to be odd, bounded and strictly increasing.

    The class of arXiv 2509.23085; a registry name, an ``Activation`` or a tensor callable
    (whose properties are then measured numerically) is accepted.  Raises ``ValueError``
    naming every failed property (``relu``: not odd, not bounded, not increasing; ``sigmoid``:
    not odd; ``sine``: not increasing), or a zero slope at 0 (no finite critical gain).

    >>> odd_sigmoid_class("erf").name
    'erf'
    """
    act = activations.get(activation)
    properties = {"odd": act.odd, "bounded": act.bounded, "increasing": act.increasing}
    failed = [name for name, holds in properties.items() if not holds]
    if failed:
        reasons = ", ".join(f"not {name}" for name in failed)
        raise ValueError(
            f"activation {act.describe()!r} is not in the odd-sigmoid class (odd, bounded, "
            f"strictly increasing; arXiv 2509.23085): it is {reasons}"
        )
    if not (math.isfinite(act.slope0) and act.slope0 > 0):
        raise ValueError(
            f"activation {act.describe()!r} has slope f'(0) = {act.slope0}; the odd-sigmoid "
            "initializer needs a finite positive slope at 0"
        )
    return act


def critical_gain(activation: ActivationLike) -> float:
    """Critical gain ``ω = 1/f'(0)``: ``x ↦ f(a x)`` has the single fixed point 0 for ``a ≤ ω``
    and three, ``0, ±ξ_a``, for ``a > ω`` (arXiv 2509.23085).

    >>> critical_gain("erf")  # √π / 2
    0.886226925452758
    """
    return 1.0 / odd_sigmoid_class(activation).slope0


def _scalar(act: Activation, x: float) -> float:
    return float(act.fn(torch.tensor(x, dtype=torch.float64)))


def fixed_point(activation: ActivationLike, a: float) -> float:
    """Positive fixed point ``ξ_a`` of ``x ↦ f(a x)`` (``ξ_a = f(a ξ_a)``); 0.0 when ``a ≤ ω``.

    Solved with Brent's method on ``f(a x) − x`` over ``(0, hi]``, ``hi`` doubled from
    ``sup f`` until the sign changes (so an under-estimated ``sup`` of a user callable is
    harmless).  Assumes, as the class does, that ``f(a x) − x`` changes sign once on
    ``(0, ∞)``.  arXiv 2509.23085.

    >>> round(fixed_point("tanh", 2.0), 6)
    0.957504
    """
    act = odd_sigmoid_class(activation)
    check_positive(a, "gain a")
    a = float(a)
    omega = 1.0 / act.slope0
    if a <= omega:
        return 0.0

    def excess(x: float) -> float:
        return _scalar(act, a * x) - x

    # Just above 0, f(a x) − x ≈ (a/ω − 1) x > 0, resolved in float64 unless a/ω − 1 ≲ 1e-15.
    lo = 1e-12 * act.sup
    if excess(lo) <= 0:
        raise ValueError(f"gain a={a} is too close to the critical gain ω={omega} to resolve ξ_a in float64")
    hi = act.sup
    for _ in range(64):
        if excess(hi) < 0:
            return float(brentq(excess, lo, hi, xtol=1e-14, rtol=1e-12))
        hi *= 2.0
    raise ValueError(f"no sign change of f(a x) − x found for {act.describe()!r} with a={a}")


@dataclass(frozen=True)
class DecayLaw:
    """Small-signal shape of ``G(x) = f(ω x)``: ``G(x) = x − κ sign(x) |x|^{1+γ} + …``.

    Iterating ``G`` alone (the diagonal path) shrinks ``x`` by
    ``x_l^{-γ} ≈ x_0^{-γ} + γ κ l``.  Smooth odd activations have ``γ = 2`` (tanh, arctan:
    ``κ = 1/3``; erf: ``π/12``; x/√(1+x²): ``1/2``); softsign's kink gives ``γ = 1, κ = 1``.
    """

    kappa: float
    gamma: float


def decay_law(activation: ActivationLike) -> DecayLaw:
    """Estimate ``κ, γ`` of :class:`DecayLaw` from ``r(x) = G(x)/x`` at ``x, 2x, 4x`` in float64.

    ``r(x) − r(2x) = κ x^γ (2^γ − 1)`` and ``(r(2x) − r(4x)) / (r(x) − r(2x)) = 2^γ``; ``x``
    is the smallest probe in ``1e-5 … 1e-1`` where the differences are resolved.  Raises
    ``ValueError`` when ``G`` is not below the identity near 0 (``κ ≤ 0``).

    >>> law = decay_law("tanh")
    >>> round(law.kappa, 4), round(law.gamma, 4)
    (0.3333, 2.0)
    """
    act = odd_sigmoid_class(activation)
    omega = 1.0 / act.slope0

    def ratio(x: float) -> float:
        return _scalar(act, omega * x) / x

    for x in _PROBES:
        d1, d2 = ratio(x) - ratio(2 * x), ratio(2 * x) - ratio(4 * x)
        if abs(d1) >= _RESOLVED:
            break
    if not (d1 > 0 and d2 > d1):
        raise ValueError(
            f"activation {act.describe()!r} is not contracting near 0 (f(ωx) ≥ x for small x); "
            "the decay law needs f(ωx) = x − κ|x|^(1+γ) sign(x) + … with κ > 0"
        )
    gamma = math.log2(d2 / d1)
    return DecayLaw(kappa=d1 / (x**gamma * (2.0**gamma - 1.0)), gamma=gamma)


# ---------------------------------------------------------------------------------------------
# Noise scale: closed form, Tanh-Init's constant, and the numerical calibrator.


def _closed_form_beta(target_layer: int) -> float:
    # (1 + β²)^L = 2  ⇔  β² = 2^{1/L} − 1 = expm1(ln 2 / L)
    return math.sqrt(math.expm1(math.log(2.0) / target_layer))


@functools.lru_cache(maxsize=256)
def _calibrated_beta(act: Activation, target_layer: int, width: int) -> float:
    """Relative noise ``β`` at which a simulated width-``width`` network has NSR 1 at layer L.

    Particles ``h`` of shape ``(batch, width)``, ``batch · width ≈ 2^14`` (fewer for very
    deep targets, so the stored noise stays under 2^24 draws), start at ``f(ω u)``,
    ``u ~ N(0, 1)``.  One layer of ``W = ω(I + Z̃)``, ``Z̃_ij ~ N(0, β²/width)`` is, exactly
    in law for each input, ``h ← f(ω (h + β ‖h‖/√width · ε))`` with fresh ``ε ~ N(0, I)``.
    The noiseless twin runs ``h ← f(ω h)``; the noise-to-signal ratio is
    ``E‖h_L − h̄_L‖² / E‖h̄_L‖²``.  The same draws ``ε`` serve every ``β`` (common random
    numbers), so the ratio is a smooth increasing function of ``β``, solved by Brent's method
    in ``log β``.
    """
    omega = 1.0 / act.slope0
    particles = max(2**10, min(CALIBRATION_PARTICLES, 2**24 // target_layer))
    batch = max(1, particles // width)
    gen = as_generator(CALIBRATION_SEED)
    h0 = act.fn(omega * torch.randn(batch, width, dtype=torch.float64, generator=gen))
    noise = torch.randn(target_layer, batch, width, generator=gen)  # float32 storage
    clean = h0
    for _ in range(target_layer):
        clean = act.fn(omega * clean)
    signal = float(clean.pow(2).mean())

    def log_nsr(log_beta: float) -> float:
        h = h0
        for eps in noise:
            scale = math.exp(log_beta) * h.pow(2).mean(dim=1, keepdim=True).sqrt()
            h = act.fn(omega * torch.addcmul(h, scale, eps.double()))
        return math.log(float((h - clean).pow(2).mean()) / signal / TARGET_NSR)

    centre = math.log(_closed_form_beta(target_layer))
    lo, hi = centre - math.log(16.0), centre + math.log(16.0)
    if not log_nsr(lo) < 0 < log_nsr(hi):
        raise RuntimeError(
            f"calibration failed for {act.describe()!r} at target_layer={target_layer}: the "
            "noise-to-signal ratio does not cross 1 within 1/16..16 times the closed form"
        )
    return math.exp(brentq(log_nsr, lo, hi, xtol=1e-3))


def noise_scale(
    activation: ActivationLike, target_layer: int, fan_in: int, *, rule: str = "closed_form"
) -> float:
    """Noise std ``σ_z`` of ``W = ω D + Z`` for target layer ``L``.

    * ``"closed_form"``: ``σ_z = ω √(2^{1/L} − 1) / √fan_in`` (ours, ``docs/concepts/odd_sigmoid.md``);
    * ``"tanh_init"``: ``σ_z = 0.085 / √fan_in`` (arXiv 2410.02242, whatever ``f``);
    * ``"calibrated"``: ``σ_z = ω β / √fan_in`` with ``β`` found numerically so that a
      simulated width-``fan_in`` network with the real ``f`` has noise-to-signal ratio 1 at
      layer ``L`` (seeded and cached; costs ``O(L · 2^14)`` per trial ``β``).

    >>> round(noise_scale("tanh", 100, 1), 4)  # α for tanh at L = 100 (Tanh-Init: 0.085)
    0.0834
    """
    act = odd_sigmoid_class(activation)
    target_layer = check_int(target_layer, "target_layer")
    fan_in = check_int(fan_in, "fan_in")
    omega = 1.0 / act.slope0
    if rule == "closed_form":
        beta = _closed_form_beta(target_layer)
    elif rule == "tanh_init":
        return TANH_INIT_ALPHA / math.sqrt(fan_in)
    elif rule == "calibrated":
        beta = _calibrated_beta(act, target_layer, fan_in)
    else:
        raise ValueError(f"unknown noise rule {rule!r}; choose from {', '.join(RULES)}")
    return omega * beta / math.sqrt(fan_in)


def predicted_std(activation: ActivationLike, layers: int, input_std: float) -> float:
    """Activation std after ``layers`` diagonal-plus-noise layers (closed-form noise), from
    activations of std ``s_0 = input_std``: ``s_L = (s_0^{-γ} + γ κ L)^{-1/γ}``.

    The diagonal path's decay law (:class:`DecayLaw`); at the closed-form noise level the
    noise changes the std at layer ``L`` by a few percent only (``docs/concepts/odd_sigmoid.md``
    states the tolerance measured against simulation).

    >>> round(predicted_std("tanh", 100, 1.0), 4)  # (1 + 2·100/3)^(-1/2)
    0.1216
    """
    law = decay_law(activation)
    layers = check_int(layers, "layers")
    check_positive(input_std, "input_std")
    return (input_std ** (-law.gamma) + law.gamma * law.kappa * layers) ** (-1.0 / law.gamma)


def entry_std(activation: ActivationLike, hidden_layers: int) -> float:
    """Chain-entry amplitude ``a = min(1, (γ κ (H − 1))^{−1/γ})`` for ``H`` hidden layers.

    After ``H − 1`` further ``ω D + Z`` layers the decay law gives
    ``s_H = (a^{−γ} + γ κ (H − 1))^{−1/γ}``: with this ``a`` the chain shrinks its input by at
    most ``2^{1/γ}`` (√2 for tanh) and stays in its near-linear range, where it keeps amplitude
    differences; a larger entry is squashed to ``≈ (γ κ H)^{−1/γ}`` whatever its size
    (docs/concepts/odd_sigmoid.md, the 16/4 × 101 study).  Ours, from the decay law of arXiv 2509.23085's
    class; ``a ≤ 1`` keeps short nets at LeCun's unit pre-activations.

    >>> round(entry_std("tanh", 101), 4)  # (2/3 · 100)^(−1/2)
    0.1225
    """
    law = decay_law(activation)
    hidden_layers = check_int(hidden_layers, "hidden_layers")
    if hidden_layers == 1:
        return 1.0
    return min(1.0, (law.gamma * law.kappa * (hidden_layers - 1)) ** (-1.0 / law.gamma))


def diagonal_gains(shapes: Sequence[Sequence[int]]) -> tuple[float, float]:
    """Amplitude gains ``(g, r)`` of the diagonal path through a net's hidden layers.

    ``shapes`` are the weight shapes ``(out, in, *kernel)`` of every layer; the first layer's
    outputs start with unit variance each, and each middle layer's ``D`` sends
    ``v_out[i] = Σ_{j ≡ i mod out} v_in[j]`` (a wrapping layer sums inputs, an expanding one
    leaves new units empty).  ``g = max_l max_i √v_l[i]`` is the largest unit amplitude
    anywhere, ``r = √mean(v_last)`` the last hidden layer's rms amplitude.  Square nets give
    ``(1, 1)``; Tanh-Init's 16/4 design ``(2, 2)`` (each 16→4 layer sums four live units).

    >>> diagonal_gains([(16, 784), (16, 16), (4, 16), (16, 4), (4, 16), (10, 4)])
    (2.0, 2.0)
    """
    if len(shapes) < 2:
        return 1.0, 1.0
    v = torch.ones(int(shapes[0][0]), dtype=torch.float64)
    peak = 1.0
    for shape in shapes[1:-1]:
        out, fan_in = int(shape[0]), int(shape[1])
        if fan_in != v.numel():
            raise ValueError(f"layer shapes do not chain: {fan_in} inputs after {v.numel()} units")
        v = torch.zeros(out, dtype=torch.float64).index_add_(0, torch.arange(fan_in) % out, v)
        peak = max(peak, float(v.max()))
    return math.sqrt(peak), math.sqrt(float(v.mean()))


def first_layer_std(activation: ActivationLike, hidden_layers: int, fan_in: int, gain: float = 1.0) -> float:
    """First-layer std ``ω a/(g √fan_in)``, ``a = entry_std(f, H)``, ``g`` the diagonal path's
    peak gain (:func:`diagonal_gains`): unit-variance inputs give pre-activations
    ``ω (a/g) u``, so ``f(ω (a/g) u) ≈ (a/g) u`` and no unit of the chain exceeds amplitude
    ``a`` (LeCun's rule times ``ω a/g``; ours).

    >>> round(first_layer_std("erf", 1, 4), 4)  # √π/2 / 2
    0.4431
    """
    check_positive(gain, "gain")
    return (
        critical_gain(activation)
        * entry_std(activation, hidden_layers)
        / (gain * math.sqrt(check_int(fan_in, "fan_in")))
    )


def readout_std(
    activation: ActivationLike, hidden_layers: int, fan_in: int, gains: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Readout std ``1/(s_H √fan_in)`` that starts the logits at unit variance.

    ``s_1 = (E f(ω (a/g) u)²)^{1/2}``, ``u ~ N(0, 1)`` (Gauss–Hermite), is the std after a
    :func:`first_layer_std` layer; the chain's peak units start at ``g s_1`` and end at
    ``predicted_std(f, H − 1, g s_1)`` (our decay law, ``docs/concepts/odd_sigmoid.md``), and the last
    layer's rms is that times ``r/g``, with ``(g, r)`` from :func:`diagonal_gains`.  With O(1)
    readout weights a deep net's logits would start at ``s_H ≪ 1``.

    >>> round(readout_std("tanh", 1, 1), 4)  # 1 / (E tanh(u)²)^{1/2}
    1.5925
    """
    act = odd_sigmoid_class(activation)
    fan_in = check_int(fan_in, "fan_in")
    peak, last = gains
    check_positive(peak, "peak gain")
    check_positive(last, "last-layer gain")
    scale = entry_std(act, hidden_layers) / (peak * act.slope0)
    nodes, weights = np.polynomial.hermite_e.hermegauss(_HERMITE)
    values = act.fn(torch.as_tensor(scale * nodes, dtype=torch.float64)).numpy()
    s1 = math.sqrt(float(weights @ values**2 / weights.sum()))
    s_peak = peak * s1 if hidden_layers == 1 else predicted_std(act, hidden_layers - 1, peak * s1)
    return 1.0 / (s_peak * last / peak * math.sqrt(fan_in))


# ---------------------------------------------------------------------------------------------
# The initializers.


def diagonal_(weight: Tensor, gain: float = 1.0) -> Tensor:
    """Tanh-Init's diagonal ``D`` times ``gain``: ``D[j mod fan_out, j] = 1``, else 0.

    Every input ``j`` feeds exactly one output, ``j mod out``: ``eye(out, in)`` when
    ``out ≥ in``, and wrapped rows (output ``i`` sums inputs ``i, i + out, …``) when
    ``out < in`` (arXiv 2410.02242).  A Conv weight ``(out, in, *kernel)`` gets ``D`` on the
    kernel's centre tap ``k // 2`` of every spatial axis and zeros elsewhere (like
    ``torch.nn.init.dirac_``), so with stride 1 and "same" padding the diagonal path passes
    each channel through unchanged.

    >>> diagonal_(torch.empty(2, 4))
    tensor([[1., 0., 1., 0.],
            [0., 1., 0., 1.]])
    """
    _fans(weight)  # validates dtype and shape
    check_positive(gain, "gain")
    rows, cols = weight.shape[:2]
    inputs = torch.arange(cols, device=weight.device)
    index: tuple[Tensor | int, ...] = (inputs % rows, inputs, *(k // 2 for k in weight.shape[2:]))  # centre
    with torch.no_grad():
        weight.zero_()
        weight[index] = gain
    return weight


def _diagonal_plus_noise_(weight: Tensor, gain: float, std: float, generator: GeneratorLike) -> Tensor:
    _normal_(weight, std, generator)
    with torch.no_grad():
        return weight.add_(diagonal_(torch.empty_like(weight), gain))


def odd_sigmoid_(
    weight: Tensor,
    activation: ActivationLike,
    target_layer: int,
    generator: GeneratorLike = None,
    rule: str = "closed_form",
    noise_multiplier: float = 1.0,
) -> Tensor:
    """Signal-preserving start for odd-sigmoid ``f``: ``W = ω D + Z``, ``Z_ij ~ N(0, σ_z²)``.

    ``ω = 1/f'(0)`` (so the diagonal path ``f(ω x)`` has unit slope at 0), ``D`` from
    :func:`diagonal_`, ``σ_z = m · noise_scale(f, target_layer, fan_in, rule=rule)`` with
    ``m = noise_multiplier`` (1 by default; other values are for sensitivity studies); closed
    form ``σ_z = ω √(2^{1/L} − 1)/√fan_in``.  arXiv 2509.23085 (W = D + Z; our σ_z).

    >>> w = odd_sigmoid_(torch.empty(16, 16), "tanh", target_layer=100, generator=0)
    """
    act = odd_sigmoid_class(activation)
    check_positive(noise_multiplier, "noise_multiplier", allow_zero=True)
    fan_in, _ = _fans(weight)
    std = noise_multiplier * noise_scale(act, target_layer, fan_in, rule=rule)
    return _diagonal_plus_noise_(weight, 1.0 / act.slope0, std, generator)


def tanh_init_(weight: Tensor, generator: GeneratorLike = None) -> Tensor:
    """Tanh-Init: ``W = D + Z``, ``Z_ij ~ N(0, (0.085/√fan_in)²)``, ``D`` from :func:`diagonal_`.

    Lee, Choi & Kim, ICLR 2025, arXiv 2410.02242 (for tanh; biases 0).

    >>> w = tanh_init_(torch.empty(4, 16), generator=0)  # wide: output i sums inputs i, i+4, …
    """
    fan_in, _ = _fans(weight)
    return _diagonal_plus_noise_(weight, 1.0, TANH_INIT_ALPHA / math.sqrt(fan_in), generator)


# ---------------------------------------------------------------------------------------------
# Registration with init_.


@register_layer_method("odd_sigmoid", activations=("odd_sigmoid",))
def _odd_sigmoid_layer(
    weight: Tensor,
    *,
    index: int,
    n_layers: int,
    generator: Any,
    activation: ActivationLike,
    target_layer: int | None = None,
    rule: str = "closed_form",
    noise_multiplier: float = 1.0,
    ends: str = "diagonal",
    shapes: Sequence[Sequence[int]] = (),
) -> Tensor:
    """Odd-sigmoid diagonal plus noise, W = ω D + Z; target_layer defaults to the layer count.

    ``ends="scaled"`` replaces ``ω D + Z`` on the first layer by ``N(0, first_layer_std²)``
    and on the last by ``N(0, readout_std²)`` (docs/concepts/odd_sigmoid.md: a wrapping ``D`` on a
    784-wide input saturates, a large entry is squashed by a deep chain, and an O(1) readout
    after 100 layers starts with tiny logits).
    """
    if ends not in ENDS:
        raise ValueError(f"unknown ends {ends!r}; choose from {', '.join(ENDS)}")
    layer = n_layers if target_layer is None else target_layer
    if ends == "scaled" and n_layers >= 2 and index in (0, n_layers - 1):
        fan_in, _ = _fans(weight)
        gains = diagonal_gains(shapes or [weight.shape] * n_layers)
        std = (
            first_layer_std(activation, n_layers - 1, fan_in, gains[0])
            if index == 0
            else readout_std(activation, n_layers - 1, fan_in, gains)
        )
        return _normal_(weight, std, generator)
    return odd_sigmoid_(
        weight, activation, layer, generator=generator, rule=rule, noise_multiplier=noise_multiplier
    )


register_layer_method("tanh_init", activations=("tanh",))(_layer_method(tanh_init_))
