"""SWIM: hidden weights sampled from pairs of training points, readout by least squares.

"Sampling where it matters" (Bolager et al., arXiv 2306.16830), with the per-layer scale
schedules of spectral SWIM (Homma & Ohkubo, arXiv 2511.02244).  For hidden layer ``l`` with
inputs ``x̃ = Φ^{(l-1)}(x)`` (the training points pushed through the layers built so far):

1. draw candidate pairs ``(i, j)``: ``i ~ U{0..N-1}``, ``j = (i + U{1..N-1}) mod N``;
2. weight each pair by ``q(i, j) = ‖y_j − y_i‖_∞ / max(‖x̃_j − x̃_i‖, ε)`` (one-hot targets for
   classifiers, so a pair counts 1 when its labels differ and 0 otherwise); a pair of identical
   points gets ``q = 0``; if every ``q`` is 0 (constant targets) the pairs are drawn uniformly;
3. draw ``width`` pairs with replacement, ``P ∝ q``, and set each neuron to
   ``w = s1 (x̃_j − x̃_i) / ‖x̃_j − x̃_i‖²``, ``b = −⟨w, x̃_i⟩ − s2``, so its pre-activation is
   ``−s2`` at ``x̃_i`` and ``s1 − s2`` at ``x̃_j``.

Default ``(s1, s2)`` per activation (:func:`default_scales`): odd sigmoids (tanh, arctan, erf,
softsign, ...) ``s2 = f⁻¹(sup f / 2)``, ``s1 = 2 s2``, so the pair lands where ``f = ∓ sup/2``
(tanh: ``s1 = ln 3``, ``s2 = ½ ln 3``, the reference's values); ReLU-like activations (relu,
leaky_relu, gelu, silu) ``s1 = 1``, ``s2 = 0``.  Other activations are refused.  A schedule
(:func:`scale_schedule`) replaces ``s1`` per layer and keeps the ratio ``s2 / s1`` (½ for odd
sigmoids, as in arXiv 2511.02244; 0 for ReLU-like).

Samplers: ``"swim"`` (the above), ``"uniform"`` (pairs uniformly among the non-duplicate
candidates, same weight formula) and ``"random_feature"`` (data-free: ``W_ij ~ N(0, s1²/d)``,
``b ~ U(−s1, s1)``; the reference's random features use ``N(0, 1)`` and ``U(−π, π)``, which do
not follow the layer's scale).  Each layer draws from its own generator
(:func:`layer_generators`), unlike the reference, which reuses one seed in every layer.

Memory: candidate statistics and layer outputs are computed in row chunks; hidden layers before
the last are held in memory (``N × width``), the last one is never materialized — its features
stream into the float64 normal equations of :func:`specinit.initializers.readout.fit_readout`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_float, check_int, check_positive, check_same_length
from specinit._core.rng import GeneratorLike, as_generator, independent_generators
from specinit.initializers.readout import DEFAULT_L2, NormalEquations
from specinit.initializers.registry import register_model_method
from specinit.nn import activations
from specinit.nn.activations import Activation, ActivationLike
from specinit.nn.layers import mlp_chain

__all__ = [
    "SAMPLERS",
    "SCHEDULES",
    "SPECTRAL_LOW",
    "SPECTRAL_HIGH",
    "default_scales",
    "scale_schedule",
    "layer_generators",
    "swim_layer",
    "swim_",
]

SAMPLERS = ("swim", "uniform", "random_feature")
SCHEDULES = ("constant", "spectral", "reversed")
SPECTRAL_LOW = 0.125
"""``s1`` of the first hidden layer in the ``"spectral"`` schedule, as a multiple of the
activation's default ``s1`` (arXiv 2511.02244 does not publish its values; chosen by
bench/swim_schedule_sweep.py: best mean log validation-error ratio to the constant schedule over
a 1D mixed-frequency regression, MNIST-train and digits-train validation splits, depths 2-4, 3
seeds; see docs/concepts/swim.md)."""
SPECTRAL_HIGH = 2.0
"""``s1`` of the last hidden layer in the ``"spectral"`` schedule, as a multiple of the default
(same sweep: high 3, 4 or 8 did worse than 2 on every task; 1.5 halved the 1D gain)."""
DIST_MIN = 1e-10
"""``ε`` of the pair density: distances are clipped below at ``ε`` (the reference's ``dist_min``)."""
CHUNK_ELEMENTS = 2**22
"""Default chunk budget: rows per chunk ≈ ``CHUNK_ELEMENTS / row length`` (16 MiB in float32:
below glibc's 32 MiB mmap threshold, so chunk buffers are reused instead of page-faulted anew;
measured 10-15% faster than 64 MiB chunks on MNIST)."""
MIN_ROWS = 2048
"""Fewest rows per default chunk: each chunk adds an ``M × M`` product to the float64 Gram
matrix, so thin chunks at large widths spend their time converting and adding (width 8192:
512-row chunks made the MNIST fit 1.5x slower: 55 s instead of 37 s)."""
MAX_CANDIDATES = 2**24
"""Most candidate pairs per layer (the category limit of ``torch.multinomial``)."""
_RAMPS = ("relu", "leaky_relu", "gelu", "silu")

ScalesLike = str | Sequence[float]


# --------------------------------------------------------------------------- scales


def default_scales(activation: ActivationLike) -> tuple[float, float]:
    """SWIM's ``(s1, s2)`` for ``activation`` (see the module docstring).

    >>> s1, s2 = default_scales("tanh")
    >>> s1 == math.log(3), s2 == math.log(3) / 2
    (True, True)
    >>> [round(s, 4) for s in default_scales("erf")]  # erf(±0.4769) = ±1/2
    [0.9539, 0.4769]
    >>> default_scales("relu")
    (1.0, 0.0)
    """
    act = activations.get(activation)
    if act.describe() == "tanh":  # closed form: atanh(1/2) = ½ ln 3
        return math.log(3), math.log(3) / 2
    if act.name in _RAMPS:
        return 1.0, 0.0
    if act.is_odd_sigmoid and math.isfinite(act.sup):
        half = _inverse(act, act.sup / 2)
        return 2 * half, half
    raise ValueError(
        f"SWIM has no scales for activation {act.describe()!r}: it supports odd sigmoids "
        f"(tanh, arctan, erf, softsign, ...) and ReLU-like activations ({', '.join(_RAMPS)})"
    )


def _inverse(act: Activation, value: float) -> float:
    """``t ≥ 0`` with ``f(t) = value`` for an increasing ``f``, by bisection in float64."""

    def f(t: float) -> float:
        return float(act(torch.tensor(t, dtype=torch.float64)))

    lo, hi = 0.0, 1.0
    while f(hi) < value:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if f(mid) < value else (lo, mid)
    return 0.5 * (lo + hi)


def scale_schedule(
    schedule: ScalesLike,
    n_layers: int,
    activation: ActivationLike = "tanh",
    *,
    low: float = SPECTRAL_LOW,
    high: float = SPECTRAL_HIGH,
) -> list[float]:
    """``s1`` of each of ``n_layers`` hidden layers (arXiv 2511.02244).

    ``"constant"``: the activation's default ``s1`` in every layer (original SWIM);
    ``"spectral"``: geometric from ``low·s1`` to ``high·s1``, ``s1_l = s1 · low · (high/low)^{l/(L−1)}``
    for ``l = 0..L−1`` (small early, large late; one layer gets ``s1 √(low·high)``);
    ``"reversed"``: the spectral list backwards; a sequence: one positive ``s1`` per layer.

    >>> [round(s, 3) for s in scale_schedule("spectral", 3, "relu")]
    [0.125, 0.5, 2.0]
    """
    n_layers = check_int(n_layers, "n_layers")
    base = default_scales(activation)[0]
    if isinstance(schedule, str):
        if schedule == "constant":
            return [base] * n_layers
        if schedule in ("spectral", "reversed"):
            check_positive(low, "low")
            check_positive(high, "high")
            if n_layers == 1:
                return [base * math.sqrt(low * high)]
            values = [base * low * (high / low) ** (i / (n_layers - 1)) for i in range(n_layers)]
            return values if schedule == "spectral" else values[::-1]
        raise ValueError(f"unknown scale schedule {schedule!r}; options: {', '.join(SCHEDULES)} or a list")
    if not isinstance(schedule, (Sequence, np.ndarray)):
        raise TypeError(f"scales must be a schedule name or a sequence of numbers, got {schedule!r}")
    if len(schedule) != n_layers:
        raise ValueError(f"scales has {len(schedule)} value(s) for {n_layers} hidden layer(s)")
    for i, value in enumerate(schedule):
        check_positive(value, f"scales[{i}]")
    return [float(v) for v in schedule]


# --------------------------------------------------------------------------- sampling


def layer_generators(generator: GeneratorLike, n_layers: int) -> list[torch.Generator]:
    """One independent CPU generator per layer, derived deterministically from ``generator``
    (:func:`specinit._core.rng.independent_generators`: a base seed drawn once, layer ``l``
    seeded with ``SeedSequence([base, l])``, so layers never share a stream).
    """
    return independent_generators(generator, n_layers)


def _rows(chunk_size: int | None, row_length: int) -> int:
    if chunk_size is not None:
        return check_int(chunk_size, "chunk_size")
    return max(MIN_ROWS, CHUNK_ELEMENTS // max(row_length, 1))


def _check_sampler(sampler: str) -> None:
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; options: {', '.join(SAMPLERS)}")


def _check_candidates(n_candidates: int | None) -> int | None:
    if n_candidates is not None and check_int(n_candidates, "n_candidates") > MAX_CANDIDATES:
        raise ValueError(f"n_candidates must be at most {MAX_CANDIDATES}, got {n_candidates}")
    return n_candidates


def _check_distinct(x: Tensor) -> None:
    if x.shape[0] < 2:
        raise ValueError(f"SWIM needs at least 2 samples, got n_samples={x.shape[0]}")
    low, high = torch.aminmax(x, dim=0)
    if not bool((high > low).any()):
        raise ValueError(f"all {x.shape[0]} samples are the same point; SWIM needs two distinct points")


def _sample_layer(
    x: Tensor,
    y: Tensor,
    width: int,
    s1: float,
    s2: float,
    sampler: str,
    n_candidates: int | None,
    gen: torch.Generator | None,
    rows: int,
) -> tuple[Tensor, Tensor]:
    """Weight ``(width, d)`` and bias ``(width,)`` of one layer; inputs already validated."""
    n, d = x.shape
    if sampler == "random_feature":
        weight = torch.randn(width, d, generator=gen, dtype=torch.float64) * (s1 / math.sqrt(d))
        bias = (2 * torch.rand(width, generator=gen, dtype=torch.float64) - 1) * s1
        return weight.to(x), bias.to(x)
    count = min(max(n, width), MAX_CANDIDATES) if n_candidates is None else n_candidates
    first = torch.randint(n, (count,), generator=gen)
    second = (first + torch.randint(1, n, (count,), generator=gen)) % n
    first, second = first.to(x.device), second.to(x.device)
    dist = torch.empty(count, dtype=x.dtype, device=x.device)
    jump = torch.empty_like(dist)
    for s in range(0, count, rows):
        i, j = first[s : s + rows], second[s : s + rows]
        dist[s : s + rows] = torch.linalg.vector_norm(x[j] - x[i], dim=1)
        jump[s : s + rows] = (y[j] - y[i]).abs().amax(1)
    valid = dist > 0  # identical points never make a neuron
    if not bool(valid.any()):
        raise ValueError(f"all {count} candidate pairs join identical points; raise n_candidates")
    density = valid.to(dist.dtype)
    if sampler == "swim":
        swim = torch.where(valid, jump / dist.clamp_min(DIST_MIN), 0.0)
        density = swim if float(swim.sum()) > 0 else density  # constant targets: uniform fallback
    pick = torch.multinomial(density.cpu(), width, replacement=True, generator=gen).to(x.device)
    xi = x[first[pick]]
    diff = x[second[pick]] - xi
    weight = s1 * diff / diff.square().sum(1, keepdim=True)
    bias = -(weight * xi).sum(1) - s2
    return weight, bias


def swim_layer(
    x: Tensor | np.ndarray,
    targets: Tensor | np.ndarray,
    width: int,
    *,
    activation: ActivationLike = "tanh",
    s1: float | None = None,
    s2: float | None = None,
    sampler: str = "swim",
    n_candidates: int | None = None,
    generator: GeneratorLike = None,
    chunk_size: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Sample one hidden layer: ``(weight, bias)`` of shapes ``(width, d)`` and ``(width,)``.

    ``x`` ``(N, d)`` are the layer's inputs, ``targets`` ``(N,)`` or ``(N, k)`` (one-hot for
    classification); the weights come out in ``x``'s floating dtype.  ``s1``/``s2`` default to
    :func:`default_scales` (``s2`` to ``s1`` times the activation's default ratio);
    ``n_candidates`` defaults to ``max(N, width)`` (at most ``MAX_CANDIDATES`` = 2²⁴);
    ``chunk_size`` bounds the rows processed at once.  Formulas and samplers: see the module
    docstring (arXiv 2306.16830).
    """
    _check_sampler(sampler)
    width = check_int(width, "width")
    x = as_tensor(x, "x")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if x.dim() != 2:
        raise ValueError(f"x must have shape (N, d), got {tuple(x.shape)}")
    y = as_tensor(targets, "targets", dtype=x.dtype).to(x.device)
    y = y[:, None] if y.dim() == 1 else y
    check_same_length(x, y, "x", "targets")
    _check_distinct(x)
    n_candidates = _check_candidates(n_candidates)
    base1, base2 = default_scales(activation)
    s1 = base1 if s1 is None else s1
    check_positive(s1, "s1")
    s2 = s1 * base2 / base1 if s2 is None else check_float(s2, "s2")
    gen, rows = as_generator(generator), _rows(chunk_size, x.shape[1])
    return _sample_layer(x, y, width, s1, s2, sampler, n_candidates, gen, rows)


# --------------------------------------------------------------------------- whole networks


def _mlp_parts(model: nn.Module) -> tuple[list[nn.Linear], Activation | None]:
    """The Linear layers of a ``Linear → f → ... → Linear`` MLP with biases, and its activation."""
    linears, act = mlp_chain(model, who="SWIM")
    for index, layer in enumerate(linears):
        if layer.bias is None:
            raise TypeError(f"SWIM needs biases; Linear layer {2 * index} has bias=False")
    return linears, act


def _prepare(
    data: Any,
    targets: Any,
    layers: list[nn.Linear],
    classification: bool | None,
) -> tuple[Tensor, Tensor]:
    """Inputs ``(N, d)`` and float targets ``(N, k)`` (one-hot labels for classification), in the
    dtype and on the device of the model's weights.
    """
    dtype, device = layers[0].weight.dtype, layers[0].weight.device
    in_features, out_features = layers[0].in_features, layers[-1].out_features
    if targets is None:
        raise ValueError("SWIM is supervised: pass targets= along with data=")
    x = as_tensor(data, "data", dtype=dtype).to(device)
    if x.dim() == 1 and in_features == 1:
        x = x[:, None]
    if x.dim() != 2 or x.shape[1] != in_features:
        raise ValueError(f"data must have shape (N, {in_features}), got {tuple(x.shape)}")
    y = as_tensor(targets, "targets").to(x.device)
    check_same_length(x, y, "data", "targets")
    if classification is None:
        classification = y.dim() == 1 and not y.is_floating_point()
    if classification:
        if y.dim() != 1 or y.is_floating_point() or y.min() < 0 or y.max() >= out_features:
            raise ValueError(
                f"classification targets must be integer labels 0..{out_features - 1} of shape (N,)"
            )
        return x, nn.functional.one_hot(y.long(), out_features).to(dtype)
    y = y.to(dtype)
    y = y[:, None] if y.dim() == 1 else y
    if y.dim() != 2 or y.shape[1] != out_features:
        raise ValueError(f"targets must have shape (N, {out_features}) for this model, got {tuple(y.shape)}")
    return x, y


def _apply(
    x: Tensor, weight: Tensor, bias: Tensor, act: Activation, rows: int
) -> Iterator[tuple[int, Tensor]]:
    """``(start, f(x[start:start+rows] Wᵀ + b))`` for each row chunk of ``x``."""
    for s in range(0, x.shape[0], rows):
        yield s, act(torch.addmm(bias, x[s : s + rows], weight.T))


@register_model_method("swim")
def swim_(
    model: nn.Module,
    data: Tensor | np.ndarray,
    targets: Tensor | np.ndarray,
    *,
    scales: ScalesLike = "constant",
    sampler: str = "swim",
    classification: bool | None = None,
    generator: GeneratorLike = None,
    l2: float = DEFAULT_L2,
    n_candidates: int | None = None,
    chunk_size: int | None = None,
) -> nn.Module:
    """SWIM-initialize an MLP in place (arXiv 2306.16830; per-layer scales arXiv 2511.02244).

    Hidden layers are sampled one after another from ``data`` pushed through the layers before
    them (:func:`swim_layer`, scales from :func:`scale_schedule`), each from its own
    generator; the last ``Linear`` is the ridge readout of :func:`specinit.initializers.readout.fit_readout`
    (one-hot labels for classification).  ``classification`` defaults to ``True`` for 1-D integer
    targets, which must then be labels ``0..out_features-1``.  Gradient training can continue
    from the result.  Returns ``model``.

    >>> import torch, specinit
    >>> x = torch.linspace(-1, 1, 200)[:, None]
    >>> net = specinit.init_(specinit.models.mlp(1, [64], 1, "tanh"), "swim", data=x,
    ...                      targets=torch.sin(3 * x), generator=0)
    >>> bool((net(x) - torch.sin(3 * x)).abs().max() < 1e-2)
    True
    """
    _check_sampler(sampler)
    check_positive(l2, "l2")
    linears, act = _mlp_parts(model)
    x, y = _prepare(data, targets, linears, classification)
    n_candidates = _check_candidates(n_candidates)
    hidden, readout = linears[:-1], linears[-1]
    gens = layer_generators(generator, len(hidden))
    equations = NormalEquations()
    if hidden:
        assert act is not None, "mlp_chain returns the activation of a chain with hidden layers"
        _check_distinct(x)
        base1, base2 = default_scales(act)
        s1s = scale_schedule(scales, len(hidden), act)
    else:
        equations.add(x, y)
    with torch.no_grad():
        for index, layer in enumerate(hidden):
            assert act is not None  # as above: there are hidden layers
            weight, bias = _sample_layer(
                x,
                y,
                layer.out_features,
                s1s[index],
                s1s[index] * base2 / base1,
                sampler,
                n_candidates,
                gens[index],
                _rows(chunk_size, x.shape[1]),
            )
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
            rows = _rows(chunk_size, max(x.shape[1], layer.out_features))
            if index < len(hidden) - 1:  # an inner layer: keep its outputs, the next layer samples on them
                out = x.new_empty(x.shape[0], layer.out_features)
                for s, phi in _apply(x, weight, bias, act, rows):
                    out[s : s + len(phi)] = phi
                x = out
            else:  # the last hidden layer streams into the readout's normal equations
                for s, phi in _apply(x, weight, bias, act, rows):
                    equations.add(phi, y[s : s + len(phi)], owned=True)
        weight, bias = equations.solve(l2)
        readout.weight.copy_(weight)
        readout.bias.copy_(bias)
    return model
