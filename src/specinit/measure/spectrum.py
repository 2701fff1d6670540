"""Fourier spectrum of a 1D function (e.g. a network ``R → R^k``) and its evolution in training.

The measurements of arXiv 2206.08558 ("How you start matters for generalization"):

* :func:`spectrum_1d` samples ``f`` on a uniform grid over ``[lo, hi)`` and reports the one-sided
  amplitude spectrum.  ``mollify=True`` gives the paper's mollified function (eq. 1): ``f`` on
  the data interval and 0 outside, with a smooth edge.
* :func:`energy_above`, :func:`spectral_centroid` and :meth:`Spectrum.peaks` summarise where the
  energy lies; :func:`lowest_fitting_frequency` is the Nyquist frequency of a training grid
  (Exp. 3: a network that puts no energy above it can fit the samples with the lowest-frequency
  solution).
* :class:`FrequencyTracker` is a training callback recording the per-frequency relative error
  ``|F[f_t](k) − F[y](k)| / |F[y](k)|`` (Exp. 2, the convergence of each frequency index).

>>> import math, torch
>>> spec = spectrum_1d(lambda x: 3 * torch.sin(2 * math.pi * 5 * x), 0.0, 1.0, n=256)
>>> float(spec.peaks(1)[0]), round(spec.at(5.0), 6)
(5.0, 3.0)
>>> lowest_fitting_frequency(0.1)
5.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_float, check_int, check_positive
from specinit._core.deprecation import renamed_kwargs, warn_deprecated
from specinit._core.fourier import (
    DEFAULT_TAPER,
    WINDOWS,
    bin_index,
    check_interval,
    grid,
    nyquist,
    one_sided,
    window_weights,
)
from specinit._core.placement import has_floating_state, module_mode, placement
from specinit._core.plotting import new_axes
from specinit._core.records import compact_repr

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "Spectrum",
    "spectrum_1d",
    "energy_above",
    "spectral_centroid",
    "lowest_fitting_frequency",
    "sample_step",
    "FrequencyTracker",
    "plot_spectrum",
    "WINDOWS",
    "DEFAULT_TAPER",
]

#: Default zero padding when ``mollify=True``: the interval is doubled, so half of the
#: transformed signal is the zero extension of eq. (1) of arXiv 2206.08558.
DEFAULT_MOLLIFY_PAD = 1.0

#: Amplitudes below this fraction of the largest are treated as round-off, not content
#: (float32 samples carry relative errors of ~6e-8, which leak into every bin).
NOISE_FLOOR = 1e-6

Function = nn.Module | Callable[[Tensor], Any]


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One-sided amplitude spectrum of ``f`` sampled at ``n`` points of ``[lo, hi)``.

    ``freqs`` are in cycles per unit length, from 0 to the Nyquist frequency ``n / (2 (hi − lo))``
    with spacing ``1 / ((1 + pad)(hi − lo))``.  ``amplitude`` is scaled so that
    ``A·sin(2π f0 x + φ)`` with ``f0`` on the grid reads ``A`` at ``f0`` (for any window: the
    window's coherent gain is divided out); the DC bin is the weighted mean ``|Σ w f / Σ w|``
    (``|mean f|`` with ``window="none"``).  Its shape is
    ``(n_freqs,)`` for a scalar function and ``(n_outputs, n_freqs)`` for a vector-valued one,
    whose summaries (:meth:`energy_above`, :meth:`centroid`, :meth:`peaks`) pool the energy
    ``Σ_outputs A²`` per frequency.
    """

    freqs: np.ndarray
    amplitude: np.ndarray
    lo: float
    hi: float
    n: int
    window: str
    mollify: bool = False
    pad: float = 0.0
    _energy: np.ndarray = field(init=False, repr=False, compare=False)

    __repr__ = compact_repr

    def __post_init__(self) -> None:
        freqs = np.array(self.freqs, dtype=np.float64)
        amplitude = np.array(self.amplitude, dtype=np.float64)
        if freqs.ndim != 1 or freqs.size < 2:
            raise ValueError(f"freqs must be 1-D with at least 2 bins, got shape {freqs.shape}")
        if amplitude.ndim not in (1, 2) or amplitude.shape[-1] != freqs.size:
            raise ValueError(
                f"amplitude must have shape ({freqs.size},) or (n_outputs, {freqs.size}), "
                f"got {amplitude.shape}"
            )
        energy = np.atleast_2d(amplitude**2).sum(axis=0)
        for array in (freqs, amplitude, energy):
            array.setflags(write=False)
        object.__setattr__(self, "freqs", freqs)
        object.__setattr__(self, "amplitude", amplitude)
        object.__setattr__(self, "_energy", energy)

    @property
    def n_outputs(self) -> int:
        """Number of output components of the sampled function."""
        return 1 if self.amplitude.ndim == 1 else self.amplitude.shape[0]

    @property
    def nyquist(self) -> float:
        """The Nyquist frequency of the samples, ``n / (2 (hi − lo))``.

        It is the last bin when the transform length is even; for an odd length the last bin
        lies half a bin below it.
        """
        return nyquist(self.lo, self.hi, self.n)

    @property
    def resolution(self) -> float:
        """Bin spacing ``1 / ((1 + pad)(hi − lo))``."""
        return float(self.freqs[1] - self.freqs[0])

    @property
    def energy(self) -> np.ndarray:
        """Energy per bin ``Σ_outputs A(f)²`` (read-only), shape ``(n_freqs,)``."""
        return self._energy

    def energy_above(self, cutoff: float) -> float:
        """Fraction of the non-DC energy ``Σ A²`` at frequencies ``> cutoff`` (0 if there is none)."""
        cutoff = check_float(cutoff, "cutoff")
        total = self._energy[1:].sum()
        if total == 0.0:
            return 0.0
        return float(self._energy[1:][self.freqs[1:] > cutoff].sum() / total)

    def centroid(self) -> float:
        """Spectral centroid ``Σ f A² / Σ A²`` over the non-DC bins (0 if there is no energy)."""
        total = self._energy[1:].sum()
        if total == 0.0:
            return 0.0
        return float((self.freqs[1:] * self._energy[1:]).sum() / total)

    def peaks(self, k: int, *, rel_threshold: float = NOISE_FLOOR) -> np.ndarray:
        """Frequencies of the (at most) ``k`` strongest non-DC local maxima of the energy.

        A bin is a peak when its energy exceeds its lower neighbour's and is at least its upper
        neighbour's, so a windowed sinusoid's leakage into the bins next to it is not reported
        as a separate peak.  The DC bin, a neighbour of the first bin, is compared on the same
        two-sided scale (``(2 A_0)²``) so that leakage of the mean is not a peak either.  Peaks
        whose amplitude is below ``rel_threshold`` times the largest are round-off and dropped.
        Strongest first.
        """
        k = check_int(k, "k")
        energy = self._energy.copy()
        energy[0] *= 4.0
        upper = np.append(energy[2:], -np.inf)
        floor = float(rel_threshold) ** 2 * energy.max()
        is_peak = (energy[1:] > energy[:-1]) & (energy[1:] >= upper) & (energy[1:] > floor)
        index = 1 + np.flatnonzero(is_peak)
        order = np.argsort(-energy[index], kind="stable")[:k]
        return self.freqs[index[order]]

    def at(self, f: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """Amplitude at the bin nearest to frequency ``f`` (scalar or array of frequencies).

        A scalar ``f`` on a scalar function gives a ``float``; otherwise an array of shape
        ``(n_outputs?, len(f)?)``.
        """
        index = bin_index(f, self.resolution, self.freqs.size, self.nyquist, "frequencies")
        values = self.amplitude[..., index]
        return float(values) if np.ndim(values) == 0 else values


def energy_above(spectrum: Spectrum, cutoff: float) -> float:
    """Fraction of ``spectrum``'s non-DC energy above ``cutoff``; see :meth:`Spectrum.energy_above`."""
    return spectrum.energy_above(cutoff)


def spectral_centroid(spectrum: Spectrum) -> float:
    """``Σ f A(f)² / Σ A(f)²`` over non-DC bins; see :meth:`Spectrum.centroid`."""
    return spectrum.centroid()


def lowest_fitting_frequency(step: float) -> float:
    """Frequency ``1 / (2 s)`` of the lowest sinusoid that fits arbitrary samples taken at step ``s``.

    By the Nyquist–Shannon theorem, as used in Exp. 3 of arXiv 2206.08558: a network whose
    spectrum has no energy above this frequency can interpolate the samples with the
    lowest-frequency solution.
    """
    check_positive(step, "step")
    return 1.0 / (2.0 * float(step))


def sample_step(x: Any) -> float:
    """The spacing of 1D sample positions ``x`` (``(N,)`` or ``(N, 1)``): the median gap between
    their distinct sorted values — the step of a regular grid, a typical gap otherwise; gaps below
    1e-6 of the range (repeated positions with jitter) do not count — to 7 significant digits
    (float32 positions carry ~1e-8 errors), for :func:`lowest_fitting_frequency`.

    >>> sample_step([0.3, 0.0, 0.1, 0.2, 0.2])
    0.1
    """
    values = np.unique(np.asarray(as_tensor(x, "x", dtype=torch.float64).reshape(-1)))
    gaps = np.diff(values)
    gaps = gaps[gaps > 1e-6 * (values[-1] - values[0])] if values.size > 1 else gaps  # repeats, jittered
    if gaps.size == 0:
        raise ValueError("x needs at least two distinct sample positions")
    return float(f"{np.median(gaps):.7g}")


@renamed_kwargs(batch_size="chunk_size")
def spectrum_1d(
    fn: Function,
    lo: float,
    hi: float,
    n: int = 1024,
    *,
    window: str = "none",
    mollify: bool = False,
    pad: float | None = None,
    taper: float = DEFAULT_TAPER,
    chunk_size: int | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    detrend: str = "none",
) -> Spectrum:
    """Amplitude spectrum of ``fn`` from ``n`` samples ``x_j = lo + j (hi − lo)/n``, ``j < n``.

    The grid excludes ``hi``, so a signal of period ``hi − lo`` is sampled exactly periodically
    and, with ``window="none"``, a sinusoid on the grid reads its exact amplitude.  With weights
    ``w_j`` and ``M = n + round(pad·n)`` transform points the amplitude is
    ``A(k/(M Δx)) = c_k |Σ_j w_j f(x_j) e^{−2πi jk/M}| / Σ_j w_j``, with ``c_k = 2`` except at DC
    (and at Nyquist for even ``M``) where ``c_k = 1``.

    Args:
        fn: an ``nn.Module`` or a callable on a ``(n, 1)`` float tensor returning a tensor or
            array of shape ``(n,)``, ``(n, 1)`` or ``(n, k)``.  It is called under
            ``torch.no_grad()``; a module is evaluated in eval mode (no dropout noise, batch
            norm uses and keeps its running statistics) and every submodule's mode is restored.
        lo: the start of the interval.
        hi: the end of the interval, ``lo < hi`` (not sampled).
        n: number of samples (≥ 4); the Nyquist frequency is ``n / (2 (hi − lo))``.
        window: sample weighting: ``"none"`` (rectangular), ``"hann"`` (periodic Hann) or
            ``"tukey"`` (periodic Tukey with cosine-tapered fraction ``taper``).
        mollify: the mollified function of arXiv 2206.08558, eq. (1): ``f̃ = f`` on
            ``[lo, hi)`` and 0 outside.  The samples are zero-padded by ``pad`` (default 1: the
            interval is doubled, halving the bin spacing) and, if ``window="none"``, tapered by
            the Tukey window so that ``f̃`` goes to 0 continuously instead of jumping.  The
            division by ``Σ w`` keeps on-bin sinusoid amplitudes (within ~1% for two tones seven
            bins apart with the default taper; exact for Hann).
        pad: zero padding as a fraction of ``n`` (default 0, or 1 with ``mollify``); it refines
            the frequency grid to spacing ``1/((1 + pad)(hi − lo))`` without adding information.
        taper: Tukey ``alpha`` in ``(0, 1]``, the tapered fraction of the interval.
        chunk_size: evaluate ``fn`` in chunks of this many points (default: all at once).
        dtype: of the sample tensor; default the module's parameter dtype, else ``float32``.
        device: of the sample tensor; default the module's parameter device, else the CPU.
        detrend: ``"none"`` (the paper's mollified function) or ``"mean"``: subtract the samples'
            (unweighted) mean first, so a constant offset — whose taper the mollified transform
            reads as low-frequency energy — does not dilute the fraction above a cutoff.

    """
    lo, hi, n = check_interval(lo, hi, n)
    if detrend not in ("none", "mean"):
        raise ValueError(f"detrend must be 'none' or 'mean', got {detrend!r}")
    if not isinstance(mollify, bool):
        raise TypeError(f"mollify must be a bool, got {type(mollify).__name__}")
    pad = (DEFAULT_MOLLIFY_PAD if mollify else 0.0) if pad is None else pad
    check_positive(pad, "pad", allow_zero=True)
    effective_window = "tukey" if mollify and window == "none" else window
    weights = window_weights(effective_window, n, taper)
    values = _sample(fn, grid(lo, hi, n), chunk_size=chunk_size, dtype=dtype, device=device)
    if detrend == "mean":
        values = values - values.mean(axis=-1, keepdims=True)
    n_fft = n + int(round(pad * n))
    amplitude = np.abs(one_sided(values, weights, n_fft))
    return Spectrum(
        freqs=np.fft.rfftfreq(n_fft, d=(hi - lo) / n),
        amplitude=amplitude[0] if amplitude.shape[0] == 1 else amplitude,
        lo=lo,
        hi=hi,
        n=n,
        window=effective_window,
        mollify=mollify,
        pad=float(pad),
    )


class FrequencyTracker:
    """Training callback recording ``|F[f_t](k) − F[y](k)| / |F[y](k)|`` per tracked frequency.

    Exp. 2 of arXiv 2206.08558 ("convergence of frequency indices"): each record evaluates the
    model on the ``n``-point grid of :func:`spectrum_1d` over ``[lo, hi)``, takes the same
    (windowed) one-sided transform as the target's, and stores the relative error of the
    complex coefficient at every tracked frequency; for vector outputs the norms are taken over
    outputs.  The model is evaluated in eval mode under ``torch.no_grad()`` (its modes are
    restored afterwards), so recording neither draws dropout noise nor updates batch-norm
    statistics.

    Args:
        target: a callable (``nn.Module``, :class:`specinit.data` signal, ...) evaluated on the
            grid, or its values on the grid (tensor/array with ``n`` rows).
        lo, hi, n: the grid, as in :func:`spectrum_1d`.
        freqs: frequencies to track, in this order, each snapped to the nearest bin (two that
            snap to the same bin are an error); default the target's significant non-DC bins,
            where ``|F[y]| > rel_threshold · max |F[y]|``, ascending.
        rel_threshold: in ``(0, 1]``, the cut for the default ``freqs``.
        every: record when ``state.step % every == 0``.
        window: ``"none"``, ``"hann"`` or ``"tukey"`` (see :func:`spectrum_1d`).

    Attributes: ``steps`` (recorded steps), ``freqs`` (tracked bin frequencies, in the order
    requested), ``errors`` (array ``(n_records, n_freqs)``, columns in the order of ``freqs``).

    """

    def __init__(
        self,
        target: Function | Tensor | np.ndarray,
        lo: float,
        hi: float,
        n: int = 256,
        *,
        freqs: Sequence[float] | np.ndarray | None = None,
        rel_threshold: float = 0.1,
        every: int = 1,
        window: str = "none",
        chunk_size: int | None = None,
        **deprecated: Any,
    ) -> None:
        if "batch_size" in deprecated:
            warn_deprecated("FrequencyTracker(batch_size=...) is deprecated; use chunk_size=")
            chunk_size = deprecated.pop("batch_size")
        if deprecated:
            raise TypeError(f"FrequencyTracker() got unexpected keyword(s) {sorted(deprecated)}")
        self.lo, self.hi, self.n = check_interval(lo, hi, n)
        self.every = check_int(every, "every")
        self.window = window
        self.chunk_size = chunk_size
        self._weights = window_weights(window, self.n, DEFAULT_TAPER)
        points = grid(self.lo, self.hi, self.n)
        if isinstance(target, (Tensor, np.ndarray)):
            values = _as_values(target, self.n, "target")
        else:
            values = _sample(target, points, chunk_size=chunk_size, dtype=None, device=None)
        coeffs = one_sided(values, self._weights, self.n)  # (n_outputs, n_freqs)
        all_freqs = np.fft.rfftfreq(self.n, d=(self.hi - self.lo) / self.n)
        magnitude = np.linalg.norm(coeffs, axis=0)
        if freqs is None:
            index = _significant_bins(magnitude, rel_threshold)
        else:
            index = _requested_bins(freqs, all_freqs, magnitude, nyquist(self.lo, self.hi, self.n))
        self._index = index
        self._target = coeffs[:, index]
        self._target_norm = magnitude[index]
        self.freqs = all_freqs[index]
        self.freqs.setflags(write=False)
        self.steps: list[int] = []
        self._errors: list[np.ndarray] = []

    @property
    def errors(self) -> np.ndarray:
        """Relative errors, shape ``(n_records, n_freqs)``."""
        if not self._errors:
            return np.empty((0, self.freqs.size))
        return np.stack(self._errors)

    def relative_error(self, model: Function) -> np.ndarray:
        """``|F[model](k) − F[y](k)| / |F[y](k)|`` at the tracked frequencies, now (eval mode)."""
        values = _sample(
            model, grid(self.lo, self.hi, self.n), chunk_size=self.chunk_size, dtype=None, device=None
        )
        if values.shape[0] != self._target.shape[0]:
            raise ValueError(
                f"model has {values.shape[0]} outputs but the target has {self._target.shape[0]}"
            )
        coeffs = one_sided(values, self._weights, self.n)[:, self._index]
        return np.linalg.norm(coeffs - self._target, axis=0) / self._target_norm

    def __call__(self, state: Any) -> None:
        """Record at ``state.step`` (a multiple of ``every``) the errors of ``state.model``."""
        step = int(state.step)
        if step % self.every == 0:
            self._errors.append(self.relative_error(state.model))
            self.steps.append(step)

    def convergence_step(self, tol: float = 0.1) -> np.ndarray:
        """Per tracked frequency, the first recorded step with error ``< tol`` (NaN if never)."""
        check_positive(tol, "tol")
        errors = self.errors
        result = np.full(self.freqs.size, np.nan)
        if errors.size == 0:
            return result
        below = errors < tol
        hit = below.any(axis=0)
        result[hit] = np.asarray(self.steps, dtype=np.float64)[below.argmax(axis=0)[hit]]
        return result

    def plot(self, ax: Axes | None = None, title: str | None = None, *, cmap: str = "viridis") -> Axes:
        """Heat map of the errors: x = step, y = frequency, colour = relative error clipped to [0, 1]."""
        if not self.steps:
            raise ValueError("FrequencyTracker has no records yet; pass it to train(callbacks=...)")
        ax = new_axes() if ax is None else ax
        rows = np.arange(self.freqs.size)
        mesh = ax.pcolormesh(
            np.asarray(self.steps, dtype=np.float64),
            rows,
            np.clip(self.errors.T, 0.0, 1.0),
            shading="nearest",
            vmin=0.0,
            vmax=1.0,
            cmap=cmap,
        )
        shown = rows if rows.size <= 20 else np.unique(np.linspace(0, rows.size - 1, 10).round().astype(int))
        ax.set_yticks(shown)
        ax.set_yticklabels([f"{f:g}" for f in self.freqs[shown]])
        ax.set_xlabel("step")
        ax.set_ylabel("frequency")
        ax.figure.colorbar(mesh, ax=ax, label="relative error")
        if title is not None:
            ax.set_title(title)
        return ax


def plot_spectrum(
    spectrum: Spectrum | Sequence[tuple[str, Spectrum]],
    ax: Axes | None = None,
    cutoff: float | None = None,
    log: bool = True,
) -> Axes:
    """Plot amplitude against frequency for one spectrum or labelled ``(label, spectrum)`` pairs.

    Multi-output spectra draw one line per output.  ``cutoff`` adds a dashed vertical line (e.g.
    :func:`lowest_fitting_frequency`); ``log`` uses a logarithmic amplitude axis.
    """
    items = [("", spectrum)] if isinstance(spectrum, Spectrum) else list(spectrum)
    if not items or not all(isinstance(s, Spectrum) for _, s in items):
        raise TypeError("plot_spectrum takes a Spectrum or a non-empty list of (label, Spectrum)")
    ax = new_axes() if ax is None else ax
    for label, spec in items:
        for i, amplitude in enumerate(np.atleast_2d(spec.amplitude)):
            name = label if spec.n_outputs == 1 else f"{label}[{i}]".lstrip()
            ax.plot(spec.freqs, amplitude, label=name or None)
    if cutoff is not None:
        ax.axvline(check_float(cutoff, "cutoff"), color="k", linestyle="--", label="cutoff")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("frequency (cycles per unit)")
    ax.set_ylabel("amplitude")
    labels = [line.get_label() for line in ax.get_lines()]
    if any(isinstance(lab, str) and lab and not lab.startswith("_") for lab in labels):
        ax.legend()
    return ax


# --------------------------------------------------------------------------- helpers


def _sample(
    fn: Function,
    points: np.ndarray,
    *,
    chunk_size: int | None,
    dtype: torch.dtype | None,
    device: torch.device | str | None,
) -> np.ndarray:
    """``fn`` on the grid as a float64 array of shape ``(n_outputs, n)``; a module in eval mode."""
    if not callable(fn):
        raise TypeError(f"fn must be an nn.Module or a callable, got {type(fn).__name__}")
    if isinstance(fn, nn.Module) and has_floating_state(fn):
        module_device, module_dtype = placement(fn)
        dtype = dtype or module_dtype
        device = device if device is not None else module_device
    x = torch.as_tensor(points, dtype=dtype or torch.float32, device=device or "cpu").unsqueeze(1)
    step = x.shape[0] if chunk_size is None else check_int(chunk_size, "chunk_size")
    mode = module_mode(fn, training=False) if isinstance(fn, nn.Module) else nullcontext()
    with mode, torch.no_grad():
        chunks = [
            _as_values(fn(x[i : i + step]), x[i : i + step].shape[0], "fn output")
            for i in range(0, x.shape[0], step)
        ]
    return np.concatenate(chunks, axis=1)


def _as_values(output: Any, n: int, name: str) -> np.ndarray:
    """An ``(n,)``, ``(n, 1)`` or ``(n, k)`` real output as a float64 ``(k, n)`` array."""
    if isinstance(output, Tensor):
        output = output.detach().cpu()
    values = as_tensor(output, name)
    if values.is_complex() or values.dtype == torch.bool:
        raise TypeError(f"{name} must be real-valued, got dtype {values.dtype}")
    if values.ndim not in (1, 2) or values.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), ({n}, 1) or ({n}, k); got {tuple(values.shape)}")
    return values.to(torch.float64).reshape(n, -1).T.numpy()


def _significant_bins(magnitude: np.ndarray, rel_threshold: float) -> np.ndarray:
    rel_threshold = float(rel_threshold)
    if not 0.0 < rel_threshold <= 1.0:
        raise ValueError(f"rel_threshold must be in (0, 1], got {rel_threshold!r}")
    peak = magnitude[1:].max()
    if peak == 0.0:
        raise ValueError("the target has no non-DC frequency content; pass freqs= explicitly")
    return 1 + np.flatnonzero(magnitude[1:] > rel_threshold * peak)


def _requested_bins(
    freqs: Sequence[float] | np.ndarray,
    all_freqs: np.ndarray,
    magnitude: np.ndarray,
    limit: float,
) -> np.ndarray:
    """Bins of the requested ``freqs`` in their order; distinct, each holding target energy."""
    query = np.atleast_1d(np.asarray(freqs, dtype=np.float64))
    if query.size == 0 or query.ndim != 1:
        raise ValueError("freqs must be a non-empty 1-D sequence of frequencies")
    index = bin_index(query, all_freqs[1], all_freqs.size, limit, "freqs")
    bins, counts = np.unique(index, return_counts=True)
    if np.any(counts > 1):
        clash = int(np.flatnonzero(counts > 1)[0])
        same = query[index == bins[clash]]
        raise ValueError(
            f"freqs {same.tolist()} all snap to the bin at {all_freqs[bins[clash]]:g} (bin spacing "
            f"{all_freqs[1]:g}); give one frequency per bin"
        )
    empty = magnitude[index] <= NOISE_FLOOR * magnitude.max()
    if empty.any():
        raise ValueError(
            f"the target has no energy at frequency {all_freqs[index][empty]}, so the relative "
            "error is undefined there; track frequencies the target contains"
        )
    return index
