"""Bandwidth of image models: input-gradient histograms and directional spectra (arXiv 2206.08558).

A 1D network's bandwidth is read off its Fourier spectrum (:func:`specinit.spectrum_1d`); an
image model's input space is too large for that.  Two measurements stand in for it:

* **The paper's proxy** (Exp 4, A.2): the histogram of the gradients of the network output
  with respect to the input pixels over a batch.  By ``|f'(x)| ≤ 2π ∫ |ξ| |f̂(ξ)| dξ``,
  a function with more high-frequency energy can have larger slopes, so a high-bandwidth
  model shows a wider gradient histogram.  :func:`input_gradients` computes the gradients,
  :func:`gradient_bandwidth` summarises them in a :class:`GradientBandwidth` record.  The paper
  differentiates the output *averaged over its units*; that average can cancel (a model ending
  in ``nn.LayerNorm`` has outputs summing to a constant, so its gradient is 0 whatever the
  bandwidth), so by default each sample's units are combined by a seeded random unit vector
  instead (``reduction="projection"``, see :func:`input_gradients`); ``reduction="mean"`` is
  the paper's definition.
* **A directional spectrum**: the network restricted to random line segments through data
  points, ``t ↦ f(x_i + t u_l)`` with unit directions ``u_l``, Fourier-transformed along ``t``
  and averaged over lines (:func:`directional_spectrum` → :class:`DirectionalSpectrum`).  It
  measures frequency in cycles per unit of Euclidean distance in input space, so its centroid
  and its energy above a cutoff compare models on the same data.

Both evaluate the model in eval mode (dropout off, batch norm on its running statistics, so
the samples of a batch do not interact) and restore every submodule's mode; neither leaves
gradients on the model's parameters nor touches the caller's tensors.

>>> import torch, specinit
>>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
>>> x = torch.rand(8, 1, 4, 4, generator=torch.Generator().manual_seed(0))
>>> g = input_gradients(net, x, reduction="mean")
>>> torch.allclose(g[0].flatten(), net[1].weight.mean(dim=0))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_int, check_positive
from specinit._core.deprecation import renamed_kwargs
from specinit._core.fourier import grid, one_sided, window_weights
from specinit._core.placement import module_mode, placement
from specinit._core.plotting import new_axes
from specinit._core.rng import GeneratorLike, as_generator
from specinit.measure.spectrum import Spectrum, plot_spectrum

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "input_gradients",
    "GradientBandwidth",
    "gradient_bandwidth",
    "DirectionalSpectrum",
    "directional_spectrum",
    "DEFAULT_QUANTILES",
    "DETRENDS",
    "REDUCTIONS",
]

#: Quantile levels of ``|g|`` reported by :func:`gradient_bandwidth` by default.
DEFAULT_QUANTILES = (0.5, 0.9, 0.99)

#: How :func:`input_gradients` combines several output units: a random unit vector per sample, or their mean.
REDUCTIONS = ("projection", "mean")

#: What :func:`directional_spectrum` subtracts from each line before the transform.
DETRENDS = ("mean", "linear")

#: Points evaluated per forward pass when ``chunk_size`` is not given.
DEFAULT_CHUNK = 1024


# --------------------------------------------------------------------------- input gradients


@renamed_kwargs(batch_size="chunk_size")
def input_gradients(
    model: nn.Module,
    x: Any,
    *,
    chunk_size: int | None = None,
    batch_mean: bool = False,
    reduction: str = "projection",
    generator: GeneratorLike = 0,
) -> Tensor:
    """Per-pixel gradients ``g_n = ∂/∂x_n (u_nᵀ f(x_n)) = J_nᵀ u_n`` of the output combined over units.

    For a model with ``K`` output units and Jacobian ``J_n = ∂f(x_n)/∂x_n`` (``K × pixels``):

    * ``reduction="projection"`` (default): ``u_n = z_n / ‖z_n‖`` with ``z_n ~ N(0, I_K)``
      drawn from ``generator`` for each sample, so ``E[g_n g_nᵀ] = J_nᵀ J_n / K``: the second
      moment of ``g_n`` is the mean over units of the squared unit gradients
      ``(1/K) Σ_k |∇f_k(x_n)|²``, and ``g_n = 0`` (up to probability zero) only when every unit
      is flat.  With ``K = 1``, ``u_n = 1`` and this is the paper's gradient.
    * ``reduction="mean"``: ``u_n = 1/K``, the paper's proxy (arXiv 2206.08558, A.2): the
      gradient of the *batch-averaged* output ``F = (1/(N K)) Σ_n Σ_k f_k(x_n)``, i.e.
      ``x.grad`` after ``model(x).mean().backward()``.  It cancels whenever the units move
      together in opposite directions: after ``nn.LayerNorm`` ``Σ_k f_k`` is constant and the
      gradient is 0.

    In eval mode the samples do not interact, so ``∂F/∂x_n = g_n / N``: by default the factor
    ``1/N`` is left out, which keeps the values independent of the batch size (and of
    ``chunk_size``) without changing the histogram's shape; ``batch_mean=True`` divides by
    ``N`` (``∂F/∂x`` for ``reduction="mean"``).

    Args:
        model: any module taking a batch ``(N, ...)`` and returning ``(N,)`` or ``(N, K, ...)``
            outputs (every non-batch output entry counts as a unit).  It runs in eval mode and
            every submodule's mode is restored; parameter ``.grad`` fields are not touched.
        x: the batch, ``(N, ...)`` with ``N ≥ 1`` and at least one feature, finite, of a
            floating dtype (integer inputs such as token ids have no input gradient: a
            ValueError).  It is copied to the model's device and floating dtype; the caller's
            tensor is unchanged.
        chunk_size: samples per forward/backward pass (default: :data:`DEFAULT_CHUNK`).
        batch_mean: divide by ``N``.
        reduction: one of :data:`REDUCTIONS`.
        generator: an int seed, a ``torch.Generator`` or ``None`` (the global RNG) for the
            projections ``u_n`` (drawn for the whole batch, so independent of ``chunk_size``);
            unused for ``reduction="mean"``.

    Returns:
        a tensor of ``x``'s shape on the model's device, in its dtype.

    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")
    inputs = _batch(x, model, "x", integers=False)
    if not isinstance(batch_mean, bool):
        raise TypeError(f"batch_mean must be a bool, got {type(batch_mean).__name__}")
    size = DEFAULT_CHUNK if chunk_size is None else check_int(chunk_size, "chunk_size")
    gen = as_generator(generator) if reduction == "projection" else None
    weights: Tensor | None = None
    grads = torch.empty_like(inputs)
    with module_mode(model, training=False), torch.enable_grad():
        for start in range(0, inputs.shape[0], size):
            chunk = inputs[start : start + size].detach().requires_grad_(True)
            out = _outputs(model(chunk), chunk.shape[0])
            if weights is None:
                weights = _unit_weights(inputs.shape[0], out.shape[1], reduction, gen).to(out)
            (grad,) = torch.autograd.grad(
                out, chunk, grad_outputs=weights[start : start + size].expand_as(out), allow_unused=True
            )
            grads[start : start + size] = 0.0 if grad is None else grad
    if not torch.isfinite(grads).all():
        raise ValueError("input gradients contain NaN/inf: the model is not differentiable at these inputs")
    return grads / inputs.shape[0] if batch_mean else grads


def _unit_weights(n: int, units: int, reduction: str, generator: torch.Generator | None) -> Tensor:
    """``(n, K)`` weights ``u_n`` of the output units: ``1/K``, or uniform unit vectors (1 if ``K = 1``)."""
    if reduction == "mean":
        return torch.full((1, units), 1.0 / units, dtype=torch.float64).expand(n, units)
    if units == 1:
        return torch.ones(n, 1, dtype=torch.float64)
    z = torch.randn(n, units, generator=generator, dtype=torch.float64)
    return z / z.norm(dim=1, keepdim=True)


@dataclass(frozen=True, eq=False)
class GradientBandwidth:
    """Summary of per-pixel input gradients ``g`` (see :func:`input_gradients`).

    ``edges`` (``n_bins + 1``, ascending) and ``counts`` (``n_bins``) are the histogram of the
    signed values of ``g`` over all samples and pixels; values outside the edges are counted in
    the outer bins, so ``counts.sum() == n_values``.  ``mean_abs = mean |g|``, ``std`` is the
    population standard deviation of ``g``, ``quantiles[i]`` is the ``levels[i]`` quantile of
    ``|g|``.  ``n_samples`` is the batch size ``N`` and ``n_values = N · pixels``.
    ``batch_mean`` and ``reduction`` are the arguments of
    :func:`input_gradients` the gradients came from.
    """

    edges: np.ndarray
    counts: np.ndarray
    mean_abs: float
    std: float
    levels: np.ndarray
    quantiles: np.ndarray
    n_samples: int
    n_values: int
    batch_mean: bool = False
    reduction: str = "projection"

    def __post_init__(self) -> None:
        for name in ("edges", "counts", "levels", "quantiles"):
            array = np.array(getattr(self, name))
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def __repr__(self) -> str:
        shown = ", ".join(f"q{level:g}={q:.4g}" for level, q in zip(self.levels, self.quantiles, strict=True))
        return (
            f"GradientBandwidth(n_samples={self.n_samples}, mean_abs={self.mean_abs:.4g}, "
            f"std={self.std:.4g}, |g| {shown}, bins={self.counts.size})"
        )

    @property
    def centers(self) -> np.ndarray:
        """Bin centres ``(edges[:-1] + edges[1:]) / 2``."""
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def density(self) -> np.ndarray:
        """``counts / (n_values · bin width)``: integrates to 1, comparable across batch sizes."""
        return self.counts / (self.n_values * np.diff(self.edges))

    def quantile(self, level: float) -> float:
        """The stored quantile of ``|g|`` at ``level`` (one of :attr:`levels`)."""
        hit = np.flatnonzero(np.isclose(self.levels, level))
        if hit.size == 0:
            raise ValueError(f"quantile level {level!r} was not computed; levels: {self.levels.tolist()}")
        return float(self.quantiles[hit[0]])

    def plot(self, ax: Axes | None = None, *, label: str | None = None, log: bool = True) -> Axes:
        """Step plot of :attr:`density` against ``g``; pass the returned axes to overlay models."""
        ax = new_axes() if ax is None else ax
        ax.stairs(self.density, self.edges, label=label)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("∂(uᵀf)/∂pixel" if not self.batch_mean else "∂(uᵀf / N)/∂pixel")
        ax.set_ylabel("density")
        if label:
            ax.legend()
        return ax


@renamed_kwargs(batch_size="chunk_size")
def gradient_bandwidth(
    model: nn.Module,
    x: Any,
    *,
    bins: int | Sequence[float] | np.ndarray = 101,
    limit: float | None = None,
    levels: Sequence[float] = DEFAULT_QUANTILES,
    chunk_size: int | None = None,
    batch_mean: bool = False,
    reduction: str = "projection",
    generator: GeneratorLike = 0,
) -> GradientBandwidth:
    """The bandwidth proxy of arXiv 2206.08558 (A.2): statistics of :func:`input_gradients`.

    Args:
        model: as in :func:`input_gradients`.
        x: as in :func:`input_gradients`.
        chunk_size: as in :func:`input_gradients`.
        batch_mean: as in :func:`input_gradients`.
        reduction: as in :func:`input_gradients` (default: seeded random projections, which
            cannot cancel; ``"mean"`` for the paper's averaged output).
        generator: as in :func:`input_gradients`.
        bins: the number of equal bins over ``[−limit, limit]``, or explicit ascending edges
            (use the edges of one record for another to compare models bin by bin).
        limit: half-width of the histogram (default ``max |g|``; 1 if every gradient is 0).
            Ignored when ``bins`` gives edges.
        levels: quantile levels in ``[0, 1]`` for ``|g|``.

    """
    grads = input_gradients(
        model, x, chunk_size=chunk_size, batch_mean=batch_mean, reduction=reduction, generator=generator
    )
    values = grads.detach().to("cpu", torch.float64).flatten().cpu().numpy()
    magnitude = np.abs(values)
    edges = _edges(bins, limit, float(magnitude.max()))
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    levels_array = np.asarray(levels, dtype=np.float64)
    if levels_array.ndim != 1 or levels_array.size == 0 or np.any((levels_array < 0) | (levels_array > 1)):
        raise ValueError(f"levels must be a non-empty 1-D sequence in [0, 1], got {levels!r}")
    return GradientBandwidth(
        edges=edges,
        counts=counts,
        mean_abs=float(magnitude.mean()),
        std=float(values.std()),
        levels=levels_array,
        quantiles=np.quantile(magnitude, levels_array),
        n_samples=int(grads.shape[0]),
        n_values=int(values.size),
        batch_mean=batch_mean,
        reduction=reduction,
    )


# --------------------------------------------------------------------------- directional spectrum


@dataclass(frozen=True, eq=False)
class DirectionalSpectrum:
    """The averaged spectrum of a model along line segments through data points.

    ``spectrum`` holds, per output unit, the RMS amplitude over lines
    ``A(ξ) = (mean_l A_l(ξ)²)^{1/2}``, so its energy ``Σ_units A²`` per bin is the mean over
    lines of each line's energy; frequencies are in cycles per unit length along the line.
    ``line_centroids[l]`` is line ``l``'s own centroid ``Σ ξ E_l / Σ E_l`` (non-DC bins; 0 for
    a constant line); ``points[l]`` is the index of the data point line ``l`` is centred on and
    ``directions`` the unit directions, shape ``(n_lines, *sample_shape)``.
    """

    spectrum: Spectrum
    line_centroids: np.ndarray
    points: np.ndarray
    directions: Tensor
    length: float
    seed: int | None

    def __post_init__(self) -> None:
        for name in ("line_centroids", "points"):
            array = np.array(getattr(self, name))
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def __repr__(self) -> str:
        return (
            f"DirectionalSpectrum(n_lines={self.n_lines}, n_points={self.n_points}, "
            f"length={self.length:g}, centroid={self.centroid():.4g}, seed={self.seed})"
        )

    @property
    def n_lines(self) -> int:
        """Number of line segments."""
        return int(self.points.size)

    @property
    def n_points(self) -> int:
        """Samples per line."""
        return self.spectrum.n

    @property
    def freqs(self) -> np.ndarray:
        """Frequencies in cycles per unit length, ``0 .. n_points / (2 length)``."""
        return self.spectrum.freqs

    def centroid(self) -> float:
        """Centroid ``Σ ξ E(ξ) / Σ E(ξ)`` of the line-averaged energy (non-DC bins)."""
        return self.spectrum.centroid()

    def energy_above(self, cutoff: float) -> float:
        """Fraction of the line-averaged non-DC energy at frequencies ``> cutoff``."""
        return self.spectrum.energy_above(cutoff)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        label: str | None = None,
        cutoff: float | None = None,
        log: bool = True,
    ) -> Axes:
        """RMS amplitude against frequency (one line per output unit); overlay by passing ``ax``."""
        return plot_spectrum([(label or "", self.spectrum)], ax=ax, cutoff=cutoff, log=log)


@renamed_kwargs(seed="generator", batch_size="chunk_size")
def directional_spectrum(
    model: nn.Module,
    x: Any,
    *,
    n_lines: int | None = None,
    n_points: int = 128,
    length: float = 1.0,
    generator: GeneratorLike = 0,
    directions: Any = None,
    window: str = "hann",
    detrend: str = "mean",
    chunk_size: int | None = None,
) -> DirectionalSpectrum:
    """The model along random line segments through data points, Fourier-transformed.

    Line ``l`` is centred on a data point ``x_{i_l}`` with unit direction ``u_l``:
    ``h_l(t) = f(x_{i_l} + t u_l)`` at ``t_j = −length/2 + j·length/n_points``, ``j < n_points``.
    Each ``h_l`` (every output unit) gets the one-sided amplitude spectrum of
    :func:`specinit.spectrum_1d` (same scaling and windows), and the energies are averaged over
    lines.  Each line's (unweighted) mean is subtracted first: the offset differs from line to
    line and says nothing about bandwidth, and a window would leak it into the first bins (a
    constant line gives a zero spectrum; on-bin sinusoids, whose mean is 0, are unchanged).
    ``detrend="linear"`` subtracts each line's least-squares line ``a + b t`` instead, so only
    the non-affine part of ``f`` along the line is measured: a ReLU network is close to affine
    along most long segments, and the slope's leakage into the lowest bins would otherwise
    dominate the centroid (on-bin sinusoids are then no longer exact).  A Hann window (the
    default) keeps the jump between the segment's two ends from leaking into high frequencies; a
    sinusoid with an integer number of periods on the segment still reads its exact amplitude at
    its bin.  Bandwidth in image space, as in Exp 4 of arXiv 2206.08558, measured directly
    instead of through the gradient proxy.

    Args:
        model: any module on ``(M, *sample_shape)`` batches returning ``(M,)`` or ``(M, K, ...)``;
            evaluated in eval mode under ``torch.no_grad()`` (modes restored).
        x: data points ``(N, *sample_shape)``, finite.
        n_lines: number of segments (default 64, or the number of ``directions``).  Lines are
            centred on the points of a random permutation of the batch, cycled when
            ``n_lines > N``.
        n_points: samples per segment (≥ 4); the Nyquist frequency is ``n_points / (2 length)``.
        length: segment length in input units (> 0); the bin spacing is ``1 / length``.
        generator: an int seed, a ``torch.Generator`` or ``None`` (global RNG) for the centre
            points and the directions (``u = z / ‖z‖`` with ``z`` standard normal, uniform on
            the sphere).
        directions: optional ``(n_lines, *sample_shape)`` directions used instead of random
            ones (each normalized to unit length).
        window: ``"none"``, ``"hann"`` or ``"tukey"`` (see :func:`specinit.spectrum_1d`).
        detrend: ``"mean"`` or ``"linear"``, what is subtracted from each line first.
        chunk_size: inputs per forward pass (default :data:`DEFAULT_CHUNK`).

    """
    if detrend not in DETRENDS:
        raise ValueError(f"unknown detrend {detrend!r}; choose one of {', '.join(DETRENDS)}")
    points_batch = _batch(x, model, "x")
    n_points = check_int(n_points, "n_points")
    if n_points < 4:
        raise ValueError(f"n_points must be at least 4 samples per line, got {n_points}")
    check_positive(length, "length")
    length = float(length)
    size = DEFAULT_CHUNK if chunk_size is None else check_int(chunk_size, "chunk_size")
    weights = window_weights(window, n_points, 0.5)
    seed_value = None if generator is None or isinstance(generator, torch.Generator) else int(generator)
    generator = as_generator(generator)
    sample_shape = points_batch.shape[1:]
    dirs = _directions(directions, n_lines, sample_shape, generator)
    lines = dirs.shape[0]
    order = torch.cat(
        [
            torch.randperm(points_batch.shape[0], generator=generator)
            for _ in range(math.ceil(lines / points_batch.shape[0]))
        ]
    )[:lines]
    t = torch.as_tensor(
        grid(-length / 2, length / 2, n_points), dtype=torch.float64, device=points_batch.device
    )

    values = _line_values(
        model, points_batch, order, dirs.to(points_batch.device), t, size
    )  # (lines, K, n_points)
    values = _detrend(values, detrend)
    amplitude = np.abs(one_sided(values, weights, n_points))  # (lines, K, n_freqs)
    freqs = np.fft.rfftfreq(n_points, d=length / n_points)
    energy = amplitude**2
    rms = np.sqrt(energy.mean(axis=0))
    spectrum = Spectrum(
        freqs=freqs,
        amplitude=rms[0] if rms.shape[0] == 1 else rms,
        lo=-length / 2,
        hi=length / 2,
        n=n_points,
        window=window,
    )
    line_energy = energy.sum(axis=1)[:, 1:]  # (lines, n_freqs - 1), DC dropped
    total = line_energy.sum(axis=1)
    centroids = np.divide(line_energy @ freqs[1:], total, out=np.zeros(lines), where=total > 0)
    return DirectionalSpectrum(
        spectrum=spectrum,
        line_centroids=centroids,
        points=order.cpu().numpy(),
        directions=dirs.to(points_batch.dtype).reshape(lines, *sample_shape),
        length=length,
        seed=seed_value,
    )


# --------------------------------------------------------------------------- helpers


def _batch(x: Any, model: nn.Module, name: str, *, integers: bool = True) -> Tensor:
    """``x`` validated as a finite ``(N, ...)`` float batch on the model's device and dtype.

    A model without floating tensors keeps a floating ``x``'s dtype (else the default dtype).
    Integer ``x`` is cast to it, or refused when not ``integers`` (token ids have no gradient).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(x, Tensor) and x.ndim >= 1 and x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (0 samples)")
    tensor = as_tensor(x, name)
    if tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    if not integers and not tensor.is_floating_point():
        raise ValueError(
            f"{name} has integer dtype {tensor.dtype} (token ids?): input gradients need real-valued "
            f"inputs; pass {name}.float() if the model takes real values, or measure the model after "
            "its embedding"
        )
    if tensor.ndim < 2:
        raise ValueError(
            f"{name} must be a batch of shape (N, ...) with at least one feature per sample, "
            f"got shape {tuple(tensor.shape)}; add a batch axis with x.unsqueeze(0) or a "
            "feature axis with x.unsqueeze(1)"
        )
    device, dtype = placement(model, default_dtype=tensor.dtype if tensor.is_floating_point() else None)
    return tensor.detach().to(device=device, dtype=dtype).clone()


def _outputs(out: Any, n: int) -> Tensor:
    """A model output as ``(n, K)``: every non-batch entry is one output unit."""
    if not isinstance(out, Tensor):
        raise TypeError(f"model must return a tensor, got {type(out).__name__}")
    if out.ndim == 0 or out.shape[0] != n:
        raise ValueError(f"model output of shape {tuple(out.shape)} has no batch axis of length {n}")
    if not out.is_floating_point():
        raise TypeError(f"model output must be floating point, got dtype {out.dtype}")
    flat = out.reshape(n, -1)
    if flat.shape[1] == 0:
        raise ValueError(f"model output of shape {tuple(out.shape)} has no units")
    if not torch.isfinite(flat).all():
        raise ValueError("model output contains NaN/inf")
    return flat


def _directions(
    directions: Any, n_lines: int | None, sample_shape: torch.Size, generator: torch.Generator | None
) -> Tensor:
    """Unit directions ``(n_lines, D)`` in float64: given ones normalized, else uniform on the sphere."""
    dim = math.prod(sample_shape)
    if directions is None:
        lines = 64 if n_lines is None else check_int(n_lines, "n_lines")
        z = torch.randn(lines, dim, generator=generator, dtype=torch.float64)
    else:
        given = as_tensor(directions, "directions").to(torch.float64)
        if given.ndim < 1 or tuple(given.shape[1:]) != tuple(sample_shape):
            raise ValueError(
                f"directions must have shape (n_lines, {', '.join(map(str, sample_shape))}) like "
                f"the samples of x, got {tuple(given.shape)}"
            )
        if n_lines is not None and check_int(n_lines, "n_lines") != given.shape[0]:
            raise ValueError(f"n_lines={n_lines} but {given.shape[0]} directions were given")
        z = given.reshape(given.shape[0], dim)
    norms = z.norm(dim=1, keepdim=True)
    if (norms == 0).any():
        raise ValueError("directions contain a zero vector; every direction needs a length")
    return z / norms


def _line_values(
    model: nn.Module, x: Tensor, order: Tensor, dirs: Tensor, t: Tensor, size: int
) -> np.ndarray:
    """``f(x[order[l]] + t_j u_l)`` as a float64 array ``(n_lines, K, n_points)``."""
    n_points = t.numel()
    per_pass = max(1, size // n_points)
    flat = x.reshape(x.shape[0], -1)
    chunks = []
    with module_mode(model, training=False), torch.no_grad():
        for start in range(0, dirs.shape[0], per_pass):
            rows = slice(start, start + per_pass)
            centres = flat[order[rows]].to(torch.float64)
            inputs = centres[:, None, :] + t[None, :, None] * dirs[rows][:, None, :]
            batch = inputs.reshape(-1, *x.shape[1:]).to(x.dtype)
            out = _outputs(model(batch), batch.shape[0])
            chunks.append(out.to(torch.float64).reshape(-1, n_points, out.shape[1]))
    return torch.cat(chunks).transpose(1, 2).cpu().numpy()


def _detrend(values: np.ndarray, how: str) -> np.ndarray:
    """``values`` (..., n) minus their mean, or minus their least-squares line over the index."""
    centred = values - values.mean(axis=-1, keepdims=True)
    if how == "mean":
        return centred
    ramp = np.arange(values.shape[-1], dtype=np.float64)
    ramp -= ramp.mean()
    slope = (centred @ ramp) / (ramp @ ramp)
    return centred - slope[..., None] * ramp


def _edges(bins: int | Sequence[float] | np.ndarray, limit: float | None, largest: float) -> np.ndarray:
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        count = check_int(bins, "bins")
        if limit is None:
            half = largest if largest > 0 else 1.0
        else:
            check_positive(limit, "limit")
            half = float(limit)
        return np.linspace(-half, half, count + 1)
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("bins must be a positive int or at least 2 finite, strictly increasing edges")
    return edges
