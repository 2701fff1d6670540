"""Shallow networks as sets of hyperplanes: reparameterization, ReLU splines, clustering, pinning.

A shallow net ``f(x) = Σ_k v_k σ(⟨w_k, x⟩ + b_k) + c`` (an ``nn.Sequential`` ``Linear → σ →
Linear``) is rewritten per neuron as a hyperplane ``{x : ⟨ŵ_k, x⟩ = β_k}`` with unit normal
``ŵ_k = w_k/‖w_k‖``, signed offset ``β_k = −b_k/‖w_k‖`` and an amplitude ``a_k`` (arXiv
2503.10587, whose "Radon spline" reparameterization removes the rescaling symmetry; its exact
formulas were not reachable, so the ones here are our derivation — see docs/concepts/shallow.md):

* positively homogeneous ``σ`` of degree 1 (ReLU, leaky ReLU, any ``σ(t z) = t σ(z)`` for
  ``t > 0``): ``a_k = v_k ‖w_k‖`` and ``f(x) = Σ_k a_k σ(⟨ŵ_k, x⟩ − β_k) + c``.  The record
  ``(ŵ, β, a)`` is exactly invariant under ``(v, w, b) → (v/α, αw, αb)``, ``α > 0``;
  ``scale = ‖w‖`` is kept only as the gauge that restores the original weights.
* any other ``σ`` (tanh, GELU, sine, Gaussian, ...): there is no such symmetry, ``‖w_k‖`` is a
  real *sharpness* parameter, kept as ``scale`` = ``s_k``, and ``a_k = v_k``:
  ``f(x) = Σ_k a_k σ(s_k (⟨ŵ_k, x⟩ − β_k)) + c``.  The zero set of the pre-activation is
  still the hyperplane ``(ŵ_k, β_k)``.

In 1D a ReLU net is a linear spline: neuron ``k`` has its breakpoint at ``x_k = −b_k/w_k`` and
changes the slope there by the delta-slope ``μ_k = v_k |w_k|`` (Sahs et al., arXiv 2008.01772).

In the adaptive (rich) regime — small initialization — the hyperplanes of many neurons gather
into a few clusters that sit on training points ("datapoint pinning", arXiv 2503.10587; the
ReLU case is Maennel et al., arXiv 1803.08367); in the lazy regime they barely move.
:func:`cluster_hyperplanes` measures the clusters, :meth:`HyperplaneClusters.pinning` their
distance to the data and :class:`HyperplaneTracker` records the hyperplanes during
:func:`specinit.training.train`.

>>> import torch
>>> from specinit.initializers import shallow_init_
>>> from specinit.nn.models import mlp
>>> net = shallow_init_(mlp(1, [8], 1, "relu"), generator=0)
>>> neurons = to_neurons(net)
>>> x = torch.linspace(-2, 2, 9).unsqueeze(1)
>>> bool(torch.allclose(neurons(x), net(x), atol=1e-6))
True
>>> bool(torch.allclose(relu_spline(net)(x), net(x), atol=1e-6))
True
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_finite, check_int, check_positive
from specinit._core.records import compact_repr
from specinit.nn import activations
from specinit.nn.activations import Activation
from specinit.nn.layers import shallow_parts
from specinit.training import TrainState

__all__ = [
    "Neurons",
    "ReluSpline",
    "HyperplaneClusters",
    "HyperplaneTracker",
    "to_neurons",
    "to_network",
    "rescale_neurons",
    "is_homogeneous",
    "relu_spline",
    "cluster_hyperplanes",
    "hyperplane_movement",
    "pinning_distances",
]

ModelOrNeurons = Union[nn.Module, "Neurons"]


# --------------------------------------------------------------------------- structure


def is_homogeneous(activation: Activation | str) -> bool:
    """Whether ``σ`` is positively homogeneous of degree 1: ``σ(t z) = t σ(z)`` for all ``t > 0``.

    Such a ``σ`` is fixed by ``σ(±1)``: ``σ(z) = σ(1) relu(z) + σ(−1) relu(−z)``; that identity
    is checked in float64 on a grid of ``|z|`` from ``10⁻⁶`` to ``10⁶`` (ReLU, leaky ReLU and
    their scaled versions pass; tanh, GELU, sine, Gaussian fail).
    """
    act = activations.get(activation)
    mags = torch.logspace(-6, 6, 61, dtype=torch.float64)
    z = torch.cat([-mags, torch.zeros(1, dtype=torch.float64), mags])
    try:
        values = act(z)
        ends = act(torch.tensor([1.0, -1.0], dtype=torch.float64))
    except (RuntimeError, TypeError):  # a custom callable that does not take float64
        return False
    expected = ends[0] * torch.relu(z) + ends[1] * torch.relu(-z)
    return bool(torch.allclose(values, expected, rtol=1e-9, atol=1e-12))


def _ramp_coefficients(activation: Activation) -> tuple[float, float]:
    """``(σ(1), σ(−1))`` of a homogeneous ``σ``: ``σ(z) = σ(1) relu(z) + σ(−1) relu(−z)``."""
    ends = activation(torch.tensor([1.0, -1.0], dtype=torch.float64))
    return float(ends[0]), float(ends[1])


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Neurons:
    """A shallow network as ``K`` hyperplanes with amplitudes (see the module docstring).

    ``normals (K, d)`` unit normals ŵ; ``offsets (K,)`` β; ``amplitudes (K, m)`` a;
    ``scales (K,)`` ‖w‖ (a gauge when ``homogeneous``, the sharpness otherwise);
    ``output_bias (m,)`` c.  Calling the record evaluates
    ``Σ_k a_k σ(⟨ŵ_k, x⟩ − β_k) + c`` (homogeneous) or ``Σ_k a_k σ(s_k(⟨ŵ_k, x⟩ − β_k)) + c``.
    """

    normals: Tensor
    offsets: Tensor
    amplitudes: Tensor
    scales: Tensor
    output_bias: Tensor
    activation: Activation
    homogeneous: bool

    __repr__ = compact_repr

    @property
    def width(self) -> int:
        """``K``, the number of hidden neurons."""
        return int(self.normals.shape[0])

    @property
    def in_features(self) -> int:
        """``d``, the input dimension."""
        return int(self.normals.shape[1])

    @property
    def out_features(self) -> int:
        """``m``, the output dimension."""
        return int(self.amplitudes.shape[1])

    @property
    def amplitude_norms(self) -> Tensor:
        """``‖a_k‖₂`` per neuron, ``(K,)``: how much each neuron contributes to the output."""
        return self.amplitudes.norm(dim=1)

    @property
    def breakpoints(self) -> Tensor:
        """1D only: ``x_k = β_k / ŵ_k = −b_k / w_k``, ``(K,)``."""
        if self.in_features != 1:
            raise ValueError(f"breakpoints need 1 input feature, the network has {self.in_features}")
        return self.offsets * self.normals[:, 0]  # ŵ = ±1, so β/ŵ = β ŵ

    def _check_input(self, x: Any) -> Tensor:
        x = as_tensor(x, "x", dtype=self.normals.dtype)
        if x.ndim == 1 and self.in_features == 1:
            x = x.unsqueeze(1)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"x must have shape (N, {self.in_features}), got {tuple(x.shape)} (mismatched feature sizes)"
            )
        return x

    def preactivations(self, x: Any) -> Tensor:
        """Signed distances ``⟨ŵ_k, x_i⟩ − β_k`` of the points to the hyperplanes, ``(N, K)``."""
        x = self._check_input(x)
        return x @ self.normals.T - self.offsets

    def __call__(self, x: Any) -> Tensor:
        """The network's output at ``x``, ``(N, m)``: ``σ(z) A + c``, ``z`` the preactivations
        (times the scales for a non-homogeneous ``σ``).
        """
        z = self.preactivations(x)
        if not self.homogeneous:
            z = z * self.scales
        return self.activation(z) @ self.amplitudes + self.output_bias


def to_neurons(model: nn.Module) -> Neurons:
    """The :class:`Neurons` record of a shallow network (detached copies of its parameters).

    ``ŵ = w/‖w‖``, ``β = −b/‖w‖``; ``a = v‖w‖`` for homogeneous ``σ`` (:func:`is_homogeneous`),
    else ``a = v`` and ``scale = ‖w‖``.  A missing bias counts as zero.  Raises ``ValueError``
    for NaN/inf parameters or a neuron with ``w = 0`` (its hyperplane is undefined).
    """
    hidden, act, out = shallow_parts(model)
    with torch.no_grad():
        w = hidden.weight.detach().clone()
        b = hidden.bias.detach().clone() if hidden.bias is not None else torch.zeros_like(w[:, 0])
        v = out.weight.detach().clone()
        c = out.bias.detach().clone() if out.bias is not None else torch.zeros_like(v[:, 0])
    for tensor, name in ((w, "hidden weight"), (b, "hidden bias"), (v, "output weight"), (c, "output bias")):
        check_finite(tensor, name)
    scales = w.norm(dim=1)
    dead = torch.nonzero(scales == 0).flatten().tolist()
    if dead:
        raise ValueError(
            f"neuron(s) {dead[:10]} have zero incoming weight w = 0: their "
            "hyperplane ⟨w, x⟩ + b = 0 is undefined"
        )
    homogeneous = is_homogeneous(act)
    amplitudes = (v * scales).T if homogeneous else v.T.clone()
    return Neurons(w / scales[:, None], -b / scales, amplitudes.contiguous(), scales, c, act, homogeneous)


def to_network(neurons: Neurons) -> nn.Sequential:
    """The ``Linear → σ → Linear`` network of a record: ``w = s ŵ``, ``b = −s β``, ``v = a/s``
    (homogeneous) or ``v = a``; the inverse of :func:`to_neurons` up to float rounding.
    """
    if not isinstance(neurons, Neurons):
        raise TypeError(f"neurons must be a Neurons record, got {type(neurons).__name__}")
    k, d, m = neurons.width, neurons.in_features, neurons.out_features
    s = neurons.scales
    hidden, readout = nn.Linear(d, k), nn.Linear(k, m)
    net = nn.Sequential(hidden, neurons.activation.module(), readout).to(neurons.normals.dtype)
    with torch.no_grad():
        hidden.weight.copy_(neurons.normals * s[:, None])
        hidden.bias.copy_(-neurons.offsets * s)
        v = neurons.amplitudes / s[:, None] if neurons.homogeneous else neurons.amplitudes
        readout.weight.copy_(v.T)
        readout.bias.copy_(neurons.output_bias)
    return net


def rescale_neurons(model: nn.Module, alpha: float | Tensor) -> nn.Module:
    """A copy of ``model`` with neuron ``k`` rescaled ``(v_k, w_k, b_k) → (v_k/α_k, α_k w_k, α_k b_k)``.

    ``alpha`` is a positive number or a ``(K,)`` tensor of positive numbers.  For homogeneous
    ``σ`` the function (and the :class:`Neurons` record up to ``scales``) is unchanged; for other
    ``σ`` it changes.  The input model is not modified.
    """
    hidden, _, out = shallow_parts(model)
    if isinstance(alpha, Tensor):
        alpha = alpha.detach().to(hidden.weight.dtype)
        check_finite(alpha, "alpha")
        if alpha.shape not in ((), (hidden.out_features,)):
            raise ValueError(
                f"alpha must be a number or have shape ({hidden.out_features},), got {tuple(alpha.shape)}"
            )
        if bool((alpha <= 0).any()):
            raise ValueError("alpha must be positive (the symmetry needs α > 0)")
    else:
        check_positive(alpha, "alpha")
    result = copy.deepcopy(model)
    new_hidden, _, new_out = shallow_parts(result)
    with torch.no_grad():
        new_hidden.weight.mul_(torch.as_tensor(alpha).reshape(-1, 1))
        if new_hidden.bias is not None:
            new_hidden.bias.mul_(alpha)
        new_out.weight.div_(torch.as_tensor(alpha).reshape(1, -1))
    return result


def _as_neurons(model: ModelOrNeurons) -> Neurons:
    return model if isinstance(model, Neurons) else to_neurons(model)


# --------------------------------------------------------------------------- 1D splines


@dataclass(frozen=True)
class ReluSpline:
    """A 1D homogeneous-activation net as a linear spline:
    ``f(x) = intercept + slope·x + Σ_k μ_k (x − x_k)_+``.

    ``breakpoints (K,)`` x_k; ``delta_slopes (K, m)`` μ_k, the jump in slope at x_k
    (``v_k |w_k|`` for ReLU); ``orientations (K,)`` sign(w_k); ``intercept``, ``slope`` ``(m,)``.
    """

    breakpoints: Tensor
    delta_slopes: Tensor
    orientations: Tensor
    intercept: Tensor
    slope: Tensor

    __repr__ = compact_repr

    def __call__(self, x: Any) -> Tensor:
        """The spline at ``x`` of shape ``(N,)`` or ``(N, 1)``, ``(N,)``."""
        x = as_tensor(x, "x", dtype=self.breakpoints.dtype)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise ValueError(f"x must have shape (N,) or (N, 1), got {tuple(x.shape)}")
        ramps = torch.relu(x[:, None] - self.breakpoints)
        return self.intercept + x[:, None] * self.slope + ramps @ self.delta_slopes


def relu_spline(model: ModelOrNeurons) -> ReluSpline:
    """Breakpoints and delta-slopes of a 1D shallow net with homogeneous ``σ`` (ReLU, leaky ReLU).

    With ``σ(z) = σ₊ relu(z) + σ₋ relu(−z)`` (``σ± = σ(±1)``) and ``a_k = v_k‖w_k‖``: neuron ``k``
    bends at ``x_k = −b_k/w_k`` by ``μ_k = a_k (σ₊ + σ₋)`` (``= v_k|w_k|`` for ReLU), and adds
    ``a_k λ_k (x_k − x)`` to the linear part, ``λ_k = σ₋`` if ``w_k > 0`` else ``σ₊`` — from
    ``(x_k − x)_+ = (x_k − x) + (x − x_k)_+`` (derived here; arXiv 2008.01772 for ReLU).
    """
    neurons = _as_neurons(model)
    if not neurons.homogeneous:
        raise ValueError(
            f"relu_spline needs a positively homogeneous activation (ReLU, leaky ReLU), got "
            f"{neurons.activation.describe()}: the network is not piecewise linear"
        )
    x_k = neurons.breakpoints
    up, down = _ramp_coefficients(neurons.activation)
    orient = neurons.normals[:, 0]
    a = neurons.amplitudes
    left = torch.where(orient > 0, torch.full_like(orient, down), torch.full_like(orient, up))
    mu = a * (up + down)
    intercept = neurons.output_bias + (a * (left * x_k)[:, None]).sum(0)
    slope = -(a * left[:, None]).sum(0)
    return ReluSpline(x_k, mu, orient, intercept, slope)


# --------------------------------------------------------------------------- clustering


def _points(neurons: Neurons) -> np.ndarray:
    """Hyperplanes as points ``(ŵ, β)`` in ``R^{d+1}``, float64."""
    return np.concatenate(
        [neurons.normals.double().cpu().numpy(), neurons.offsets.double().cpu().numpy()[:, None]], axis=1
    )


def _pairwise(p: np.ndarray, oriented: bool) -> np.ndarray:
    """Distances ``‖p_i − p_j‖`` (oriented) or ``min(‖p_i − p_j‖, ‖p_i + p_j‖)``: ``(ŵ, β)`` and
    ``(−ŵ, −β)`` are the same set ``{⟨ŵ, x⟩ = β}``.  Squared norms expanded, so O(K²(d+1)).
    """
    sq = (p * p).sum(1)
    gram = p @ p.T
    minus = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * gram, 0.0))
    if oriented:
        return minus
    plus = np.sqrt(np.maximum(sq[:, None] + sq[None, :] + 2 * gram, 0.0))
    return np.minimum(minus, plus)


@dataclass(frozen=True)
class HyperplaneClusters:
    """Clusters of neuron hyperplanes (see :func:`cluster_hyperplanes`).

    ``labels (K,)``: cluster of each neuron, ``-1`` for neurons left out (negligible amplitude);
    ``normals (C, d)``, ``offsets (C,)``: each cluster's hyperplane (amplitude-weighted mean of
    the sign-aligned members, normal renormalized); ``masses (C,)``: summed ``‖a_k‖`` of the
    members; ``spreads (C,)``: amplitude-weighted RMS distance of the members' ``(ŵ, β)`` to the
    cluster's; ``sizes (C,)``: members per cluster.  Clusters are sorted by mass, largest first.
    """

    labels: np.ndarray
    normals: np.ndarray
    offsets: np.ndarray
    masses: np.ndarray
    spreads: np.ndarray
    sizes: np.ndarray

    __repr__ = compact_repr

    @property
    def n_clusters(self) -> int:
        """``C``, the number of clusters."""
        return int(len(self.masses))

    @property
    def n_effective(self) -> float:
        """Participation ratio ``(Σ m_c)² / Σ m_c²`` of the cluster masses (0 with no cluster):
        the number of clusters that carry the function, tiny clusters counting little.
        """
        total = float(self.masses.sum())
        return total * total / float((self.masses**2).sum()) if total > 0 else 0.0

    @property
    def mean_spread(self) -> float:
        """Mass-weighted mean of the within-cluster spreads (NaN with no cluster)."""
        total = float(self.masses.sum())
        return float((self.masses * self.spreads).sum() / total) if total > 0 else float("nan")

    def pinning(self, x: Any, *, relative: bool = False) -> np.ndarray:
        """Distance of each cluster hyperplane to its nearest data point, ``(C,)``; see
        :func:`pinning_distances` (1D: ``|breakpoint − nearest x_i|``).
        """
        points = as_tensor(x, "x", dtype=torch.float64).cpu().numpy()
        points = points[:, None] if points.ndim == 1 else points
        return pinning_distances(self.normals, self.offsets, points, relative=relative)

    def median_pinning(self, x: Any) -> float:
        """Mass-weighted median of the relative pinning distances (:meth:`pinning` with
        ``relative=True``): the smallest distance whose clusters, nearest first, hold half the
        cluster mass (NaN with no cluster).
        """
        return _weighted_median(self.pinning(x, relative=True), self.masses)

    def pinned_fraction(self, x: Any, tol: float) -> float:
        """Share of the cluster mass whose relative pinning distance is below ``tol``
        (NaN with no cluster).
        """
        check_positive(tol, "tol")
        total = float(self.masses.sum())
        if total <= 0:
            return float("nan")
        return float(self.masses[self.pinning(x, relative=True) < tol].sum() / total)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The smallest value whose cumulative weight (values sorted) reaches half the total."""
    if len(values) == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def pinning_distances(normals: Any, offsets: Any, x: Any, *, relative: bool = False) -> np.ndarray:
    """``δ_c = min_i |⟨n_c, x_i⟩ − β_c|`` per hyperplane: its distance to the nearest data point
    (``normals`` unit rows ``(C, d)``, ``offsets (C,)``, ``x (N, d)``).

    ``relative=True`` divides by the median gap between consecutive sorted projections
    ``⟨n_c, x_i⟩`` — the data's typical spacing along that normal — so the number is
    scale-free: a hyperplane placed uniformly at random inside the data gives about 0.25, one
    on a data point 0, one outside the data more than 1 (``inf`` if all points project alike).
    """
    normals, offsets = (np.asarray(a, dtype=np.float64) for a in (normals, offsets))
    if normals.ndim != 2 or offsets.shape != normals.shape[:1]:
        raise ValueError(f"normals must be (C, d) and offsets (C,), got {normals.shape} and {offsets.shape}")
    x = as_tensor(x, "x", dtype=torch.float64).cpu().numpy()
    if x.ndim != 2 or x.shape[1] != normals.shape[1]:
        raise ValueError(
            f"x must have shape (N, {normals.shape[1]}), got {x.shape} (mismatched feature sizes)"
        )
    if len(normals) == 0:
        return np.zeros(0)
    for values, name in ((normals, "normals"), (offsets, "offsets")):
        check_finite(torch.from_numpy(values), name)
    proj = x @ normals.T
    dist = np.abs(proj - offsets).min(axis=0)
    if not relative:
        return dist
    if len(x) < 2:
        raise ValueError("relative pinning needs at least 2 data points")
    gaps = np.median(np.diff(np.sort(proj, axis=0), axis=0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gaps > 0, dist / np.where(gaps > 0, gaps, 1.0), np.inf)


def cluster_hyperplanes(
    model: ModelOrNeurons,
    *,
    eps: float = 0.05,
    min_amplitude: float = 1e-2,
    oriented: bool = False,
) -> HyperplaneClusters:
    """Group the neurons' hyperplanes ``(ŵ_k, β_k)`` into clusters.

    Rule: neurons with ``‖a_k‖ < min_amplitude · max_j ‖a_j‖`` are negligible and left out
    (label ``-1``); the rest are merged by average-linkage agglomerative clustering
    (SciPy's ``linkage``) on the distance between ``(ŵ, β)`` points — unoriented by default,
    i.e. ``min(‖p_i − p_j‖, ‖p_i + p_j‖)``, since ``(−ŵ, −β)`` is the same hyperplane — until
    the mean distance between the two closest clusters reaches ``eps``.  In 1D that distance is
    exactly the gap between breakpoints.  Amplitudes weight each cluster's hyperplane, mass and spread.
    """
    neurons = _as_neurons(model)
    check_positive(eps, "eps")
    check_positive(min_amplitude, "min_amplitude", allow_zero=True)
    if min_amplitude >= 1:
        raise ValueError(
            f"min_amplitude is relative to the largest amplitude and must be < 1, got {min_amplitude!r}"
        )
    weights = neurons.amplitude_norms.double().cpu().numpy()
    points = _points(neurons)
    labels = np.full(len(weights), -1)
    top = weights.max()
    keep = np.flatnonzero(weights >= min_amplitude * top) if top > 0 else np.zeros(0, dtype=int)
    if len(keep) == 1:
        labels[keep] = 0
    elif len(keep) > 1:
        distances = squareform(_pairwise(points[keep], oriented), checks=False)
        tree = linkage(distances, method="average")
        # merge while the average linkage distance is below eps (strictly), as documented
        found = fcluster(tree, t=np.nextafter(float(eps), -np.inf), criterion="distance") - 1
        labels[keep] = found
    return _describe_clusters(labels, points, weights, oriented)


def _describe_clusters(
    labels: np.ndarray, points: np.ndarray, weights: np.ndarray, oriented: bool
) -> HyperplaneClusters:
    ids = [c for c in np.unique(labels) if c >= 0]
    ids.sort(key=lambda c: -weights[labels == c].sum())
    d = points.shape[1] - 1
    normals, offsets = np.zeros((len(ids), d)), np.zeros(len(ids))
    masses, spreads, sizes = np.zeros(len(ids)), np.zeros(len(ids)), np.zeros(len(ids), dtype=int)
    relabel = np.full_like(labels, -1)
    for new, c in enumerate(ids):
        members = np.flatnonzero(labels == c)
        relabel[members] = new
        p, w = points[members], weights[members]
        if not oriented:  # align signs with the heaviest member before averaging
            ref = p[np.argmax(w)]
            flip = np.linalg.norm(p - ref, axis=1) > np.linalg.norm(p + ref, axis=1)
            p = np.where(flip[:, None], -p, p)
        mass = w.sum()
        centre = (w[:, None] * p).sum(0) / mass if mass > 0 else p.mean(0)
        spreads[new] = np.sqrt((w * ((p - centre) ** 2).sum(1)).sum() / mass) if mass > 0 else 0.0
        norm = np.linalg.norm(centre[:d])
        normals[new] = centre[:d] / norm if norm > 0 else centre[:d]
        offsets[new] = centre[d] / norm if norm > 0 else centre[d]
        masses[new], sizes[new] = mass, len(members)
    return HyperplaneClusters(relabel, normals, offsets, masses, spreads, sizes)


def hyperplane_movement(before: ModelOrNeurons, after: ModelOrNeurons) -> np.ndarray:
    """Per neuron ``‖(ŵ, β)_after − (ŵ, β)_before‖``, ``(K,)``: how far each hyperplane moved."""
    a, b = _as_neurons(before), _as_neurons(after)
    if (a.width, a.in_features) != (b.width, b.in_features):
        raise ValueError(
            f"the two networks differ in shape: width {a.width} vs {b.width}, "
            f"inputs {a.in_features} vs {b.in_features}"
        )
    return np.linalg.norm(_points(b) - _points(a), axis=1)


# --------------------------------------------------------------------------- training


class HyperplaneTracker:
    """A :func:`specinit.training.train` callback recording :class:`Neurons` at chosen steps.

    ``steps``: the steps to record (0 = before training).  After training, ``records`` maps
    each recorded step to its :class:`Neurons`; :meth:`stacked` gives arrays over steps.
    """

    def __init__(self, steps: Iterable[int]) -> None:
        wanted = sorted({check_int(s, "step", minimum=0) for s in steps})
        if not wanted:
            raise ValueError("HyperplaneTracker needs at least one step to record")
        self.steps = wanted
        self._wanted = set(wanted)
        self.records: dict[int, Neurons] = {}

    def __call__(self, state: TrainState) -> None:
        """Record the network's :class:`Neurons` when ``state.step`` is one of ``steps``."""
        if state.step in self._wanted:
            self.records[state.step] = to_neurons(state.model)

    def stacked(self) -> dict[str, np.ndarray]:
        """``step (T,)``, ``normals (T, K, d)``, ``offsets (T, K)``, ``amplitudes (T, K, m)``,
        ``scales (T, K)`` over the recorded steps, float64.
        """
        if not self.records:
            raise ValueError("nothing recorded yet: pass the tracker to train(callbacks=[...])")
        steps = sorted(self.records)
        fields = ("normals", "offsets", "amplitudes", "scales")
        out = {"step": np.array(steps)}
        for name in fields:
            out[name] = np.stack([getattr(self.records[s], name).double().cpu().numpy() for s in steps])
        return out
