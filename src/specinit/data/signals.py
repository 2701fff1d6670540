"""1D signals for spectral-bias experiments: sums of sinusoids on uniform grids.

``f(x) = Σ_k A_k sin(2π f_k x + φ_k)`` (``f_k`` in cycles per unit length) sampled on uniform
grids, either *sparse* (large ``step``) or *dense* (large ``n``), as in the regression
experiments of arXiv 2206.08558.  Every random choice takes ``generator=`` (an int seed, a
``torch.Generator`` or ``None`` for PyTorch's global RNG).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from specinit._core.checks import as_tensor, check_float, check_int, check_positive, check_same_length
from specinit._core.deprecation import renamed_kwargs
from specinit._core.rng import GeneratorLike, as_generator

__all__ = [
    "Sinusoids",
    "sinusoids",
    "random_sinusoids",
    "grid_1d",
    "sample_1d",
    "between_samples",
]


def _float_tuple(values: Sequence[float] | float | np.ndarray | Tensor, name: str) -> tuple[float, ...]:
    """``values`` (a scalar or 1D sequence) as a tuple of finite floats."""
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    array = np.atleast_1d(np.asarray(values, dtype=float))
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1D sequence of numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN/inf: {array.tolist()}")
    return tuple(float(v) for v in array)


@dataclass(frozen=True)
class Sinusoids:
    """The signal ``f(x) = Σ_k A_k sin(2π f_k x + φ_k)``, with ``f_k`` in cycles per unit length.

    A component of frequency ``f_k`` is resolved by samples with step ``s`` only when
    ``f_k < 1/(2s)`` (Nyquist); the lowest-frequency interpolant of sparse samples is what a
    low-bandwidth network converges to (arXiv 2206.08558, Exp. 3).

    >>> Sinusoids(freqs=(1.0,), amplitudes=(2.0,), phases=(0.0,))(torch.tensor([0.25]))
    tensor([2.])
    """

    freqs: tuple[float, ...]
    amplitudes: tuple[float, ...]
    phases: tuple[float, ...]

    def __post_init__(self) -> None:
        freqs = _float_tuple(self.freqs, "freqs")
        amplitudes = _float_tuple(self.amplitudes, "amplitudes")
        phases = _float_tuple(self.phases, "phases")
        if not freqs:
            raise ValueError("a sum of sinusoids needs at least one component, got no freqs")
        if not len(freqs) == len(amplitudes) == len(phases):
            raise ValueError(
                "freqs, amplitudes and phases must have the same length, got "
                f"{len(freqs)}, {len(amplitudes)} and {len(phases)}"
            )
        if min(freqs) < 0:
            raise ValueError(f"freqs must be >= 0 (cycles per unit length), got {list(freqs)}")
        object.__setattr__(self, "freqs", freqs)
        object.__setattr__(self, "amplitudes", amplitudes)
        object.__setattr__(self, "phases", phases)

    @property
    def max_freq(self) -> float:
        """The highest frequency ``max_k f_k`` present (components with ``A_k = 0`` included)."""
        return max(self.freqs)

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        """Evaluate at ``x`` of shape ``(N,)`` or ``(N, 1)``; the result has the shape of ``x``.

        Floating inputs keep their dtype and device; other inputs become float32.
        """
        t = as_tensor(x, "x")
        if not t.is_floating_point():
            t = t.to(torch.float32)
        if t.dim() not in (1, 2) or (t.dim() == 2 and t.shape[1] != 1):
            raise ValueError(f"x must have shape (N,) or (N, 1), got {tuple(t.shape)}")
        freqs = torch.tensor(self.freqs, dtype=t.dtype, device=t.device)
        amplitudes = torch.tensor(self.amplitudes, dtype=t.dtype, device=t.device)
        phases = torch.tensor(self.phases, dtype=t.dtype, device=t.device)
        angles = 2 * math.pi * t.unsqueeze(-1) * freqs + phases
        return (amplitudes * torch.sin(angles)).sum(dim=-1)


def sinusoids(
    freqs: Sequence[float] | float,
    amplitudes: Sequence[float] | float | None = None,
    phases: Sequence[float] | float | None = None,
) -> Sinusoids:
    """``Σ_k A_k sin(2π f_k x + φ_k)``; amplitudes default to 1 and phases to 0.

    A scalar for any argument means a single component (``sinusoids(3.0)`` is ``sin(6πx)``).

    >>> sinusoids([1.0, 4.0], [1.0, 0.5]).freqs
    (1.0, 4.0)
    """
    freqs_t = _float_tuple(freqs, "freqs")
    n = len(freqs_t)
    amplitudes_t = (1.0,) * n if amplitudes is None else _float_tuple(amplitudes, "amplitudes")
    phases_t = (0.0,) * n if phases is None else _float_tuple(phases, "phases")
    return Sinusoids(freqs=freqs_t, amplitudes=amplitudes_t, phases=phases_t)


@renamed_kwargs(seed="generator")
def random_sinusoids(n_components: int, max_freq: float, *, generator: GeneratorLike) -> Sinusoids:
    """A random member of a family of sums of sinusoids (arXiv 2206.08558, Exp. 5 style).

    ``f_k ~ U(0, max_freq)``, ``A_k ~ U(0, 1)``, ``φ_k ~ U(0, 2π)``, independently, drawn in
    that order from ``generator``. The paper draws "four random variables" to define each signal;
    its exact formula is not published, so this family is our choice (two components give
    four random frequencies and amplitudes, plus phases).
    """
    n_components = check_int(n_components, "n_components")
    check_positive(max_freq, "max_freq")
    g = as_generator(generator)
    draw = functools.partial(torch.rand, n_components, generator=g, dtype=torch.float64)
    freqs = draw() * max_freq
    amplitudes = draw()
    phases = draw() * 2 * math.pi
    return Sinusoids(
        freqs=tuple(freqs.tolist()),
        amplitudes=tuple(amplitudes.tolist()),
        phases=tuple(phases.tolist()),
    )


def grid_1d(
    lo: float,
    hi: float,
    *,
    n: int | None = None,
    step: float | None = None,
    endpoint: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Uniform points on ``[lo, hi)`` (``[lo, hi]`` with ``endpoint=True``) as an ``(N, 1)`` tensor.

    Give exactly one of ``n`` (number of points: ``x_i = lo + i (hi - lo)/n``, or ``/(n - 1)``
    with ``endpoint``) or ``step`` (``x_i = lo + i·step`` for every ``x_i < hi``, or ``<= hi``
    with ``endpoint``; a point within 1e-9 steps of ``hi`` counts as ``hi``). Computed in
    float64, then cast to ``dtype``.

    >>> grid_1d(0.0, 1.0, step=0.25).flatten().tolist()
    [0.0, 0.25, 0.5, 0.75]
    """
    lo, hi = check_float(lo, "lo"), check_float(hi, "hi")
    if not hi > lo:
        raise ValueError(f"need lo < hi, got lo={lo} and hi={hi}")
    if (n is None) == (step is None):
        raise ValueError("give exactly one of n (number of points) and step (spacing)")
    if n is not None:
        n = check_int(n, "n", minimum=2 if endpoint else 1)
        denominator = n - 1 if endpoint else n
        index = torch.arange(n, dtype=torch.float64)
        points = lo + (hi - lo) * index / denominator
    else:
        spacing = check_positive(step, "step")
        ratio = (hi - lo) / spacing
        whole = round(ratio)
        on_grid = abs(ratio - whole) <= 1e-9 * max(1.0, ratio)
        count = (whole + 1 if endpoint else whole) if on_grid else math.floor(ratio) + 1
        points = lo + spacing * torch.arange(max(count, 1), dtype=torch.float64)
    return points.to(dtype).unsqueeze(1)


@renamed_kwargs(seed="generator")
def sample_1d(
    fn: Callable[[Tensor], Tensor | np.ndarray],
    lo: float,
    hi: float,
    *,
    n: int | None = None,
    step: float | None = None,
    endpoint: bool = False,
    noise: float = 0.0,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Samples ``(x, y)`` of ``fn`` on :func:`grid_1d`, with ``y = fn(x) + noise·ε``, ``ε ~ N(0, 1)``.

    ``x`` has shape ``(N, 1)``; ``y`` has shape ``(N, 1)`` (or ``(N, d)`` when ``fn`` returns
    ``d`` outputs per point). "Sparse" samples use a large ``step``, "dense" ones a large ``n``.
    The noise is drawn from ``generator`` only, so the same seed gives identical samples.

    >>> x, y = sample_1d(sinusoids(1.0), 0.0, 1.0, step=0.25)
    >>> y.flatten().round(decimals=4).tolist()
    [0.0, 1.0, -0.0, -1.0]
    """
    check_positive(noise, "noise", allow_zero=True)
    x = grid_1d(lo, hi, n=n, step=step, endpoint=endpoint, dtype=dtype)
    y = as_tensor(fn(x), "fn(x)", dtype=dtype)
    if y.dim() == 1:
        y = y.unsqueeze(1)
    if y.dim() != 2:
        raise ValueError(f"fn(x) must return shape (N,) or (N, d), got {tuple(y.shape)}")
    check_same_length(x, y, "x", "fn(x)")
    if noise > 0:
        eps = torch.randn(y.shape, generator=as_generator(generator), dtype=torch.float64)
        y = y + (noise * eps).to(dtype=dtype, device=y.device)
    return x, y


def between_samples(x: Tensor, per_gap: int) -> Tensor:
    """``per_gap`` evenly spaced points strictly inside each gap of the sorted 1D samples ``x``.

    For samples ``x_0 < … < x_{n−1}`` (shape ``(n, 1)``) the points are
    ``x_i + k (x_{i+1} − x_i)/(per_gap + 1)`` for ``k = 1 … per_gap``: the "between samples"
    test set of arXiv 2206.08558 (Exp 5), which shares no point with the training set.

    >>> between_samples(torch.tensor([[0.0], [1.0], [2.0]]), 1).flatten().tolist()
    [0.5, 1.5]
    """
    x = as_tensor(x, "x")
    per_gap = check_int(per_gap, "per_gap")
    if x.ndim != 2 or x.shape[1] != 1 or x.shape[0] < 2:
        raise ValueError(f"x must have shape (n, 1) with n >= 2, got {tuple(x.shape)}")
    if not bool((x[1:] > x[:-1]).all()):
        raise ValueError("x must be strictly increasing")
    fractions = torch.arange(1, per_gap + 1, dtype=x.dtype) / (per_gap + 1)
    points = x[:-1] + (x[1:] - x[:-1]) * fractions  # (n − 1, per_gap), row i inside gap i
    return points.reshape(-1, 1)
