"""What a spectrum-targeted start asks for, and how it is measured on a model at its weights.

A :class:`SpectralTarget` names one number the start should have:

* ``energy_above`` — the fraction of the spectrum's non-DC energy above ``cutoff`` allowed (at
  most :data:`DEFAULT_ENERGY_ABOVE` by default; exactly with ``exact=True``); ``step=`` states
  the cutoff as the samples' Nyquist frequency ``1/(2·step)``
  (:func:`specinit.measure.spectrum.lowest_fitting_frequency`, Exp 3 of arXiv 2206.08558: a
  network with no energy above it fits arbitrary samples with the lowest-frequency
  interpolation);
* ``centroid`` — the spectral centroid ``Σ f A(f)² / Σ A(f)²``;
* ``gradient`` — the input-gradient bandwidth proxy of arXiv 2206.08558 (A.2): ``mean |∂(uᵀf)/∂x|``
  over a batch (:func:`specinit.measure.bandwidth.gradient_bandwidth`), for image models.

:func:`measure_target` reads the number off a model: on a 1D coordinate network the mollified
spectrum over ``[lo, hi)`` (:func:`specinit.spectrum_1d`, eq. 1 of arXiv 2206.08558) of the
function less its mean (a constant offset's taper would read as low-frequency energy and dilute
the fraction above a cutoff: a SIREN whose readout bias dominates looked low-bandwidth); on an
``n``-D input the directional spectrum through the data points
(:func:`specinit.measure.bandwidth.directional_spectrum`), frequency in cycles per unit of
input distance, each line's affine part removed (``detrend="linear"``: a network that is nearly
affine along a line has no bandwidth there, whatever its slope); the gradient proxy on the data
batch.

>>> SpectralTarget(step=0.1)
SpectralTarget(energy above 5 ≤ 0.01)
>>> SpectralTarget(centroid=2.0)
SpectralTarget(spectral centroid = 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_finite, check_int, check_positive
from specinit._core.fourier import grid
from specinit._core.placement import module_mode, placement
from specinit._core.rng import GeneratorLike
from specinit.measure.bandwidth import DirectionalSpectrum, directional_spectrum, gradient_bandwidth
from specinit.measure.spectrum import Spectrum, lowest_fitting_frequency, spectrum_1d

__all__ = ["SpectralTarget", "Where", "locate", "measure_target", "DEFAULT_ENERGY_ABOVE", "KINDS"]

#: The energy fraction allowed above a cutoff when only the cutoff (or ``step``) is given: 99 % of
#: the start's energy below the samples' Nyquist frequency.
DEFAULT_ENERGY_ABOVE = 0.01

#: What a target can ask for.
KINDS = ("energy_above", "centroid", "gradient")


@dataclass(frozen=True)
class SpectralTarget:
    """One number a start should have: give ``cutoff`` (with ``energy_above``, default
    :data:`DEFAULT_ENERGY_ABOVE`) or ``step`` (the cutoff ``1/(2·step)``), or ``centroid``, or
    ``gradient`` — exactly one kind.

    An energy fraction above a cutoff is an allowance — *at most* ``energy_above`` — unless
    ``exact=True``; a centroid or a gradient value is always met exactly (``exact`` is set).
    """

    cutoff: float | None = None
    energy_above: float | None = None
    centroid: float | None = None
    gradient: float | None = None
    step: float | None = None
    exact: bool = False

    def __post_init__(self) -> None:
        if self.step is not None:
            if self.cutoff is not None:
                raise ValueError("give cutoff= or step= (the cutoff 1/(2·step)), not both")
            object.__setattr__(self, "cutoff", lowest_fitting_frequency(check_positive(self.step, "step")))
        if self.energy_above is not None and self.cutoff is None:
            raise ValueError("energy_above= needs a cutoff= (or step=) above which the energy is counted")
        given = [
            k
            for k, v in (("cutoff", self.cutoff), ("centroid", self.centroid), ("gradient", self.gradient))
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a spectral target is exactly one of cutoff= (or step=, with energy_above=), "
                f"centroid= or gradient=; got {', '.join(given) or 'none'}"
            )
        for name in ("cutoff", "centroid", "gradient"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_positive(value, name))
        if self.cutoff is not None:
            fraction = DEFAULT_ENERGY_ABOVE if self.energy_above is None else float(self.energy_above)
            if not 0.0 < fraction < 1.0:
                raise ValueError(f"energy_above must lie strictly between 0 and 1, got {self.energy_above!r}")
            object.__setattr__(self, "energy_above", fraction)
        if not isinstance(self.exact, bool):
            raise TypeError(f"exact must be a bool, got {self.exact!r}")
        if self.kind != "energy_above":
            object.__setattr__(self, "exact", True)  # only an energy fraction is an allowance

    def __repr__(self) -> str:
        return f"SpectralTarget({self.describe()} {'=' if self.exact else '≤'} {self.value:.4g})"

    @property
    def kind(self) -> str:
        """``"energy_above"``, ``"centroid"`` or ``"gradient"`` (:data:`KINDS`)."""
        if self.cutoff is not None:
            return "energy_above"
        return "centroid" if self.centroid is not None else "gradient"

    @property
    def value(self) -> float:
        """The number asked for."""
        value = {"energy_above": self.energy_above, "centroid": self.centroid, "gradient": self.gradient}
        result = value[self.kind]
        assert result is not None  # __post_init__ fills the one kind given
        return float(result)

    def describe(self) -> str:
        """The measured quantity in words, e.g. ``energy above 5``."""
        if self.kind == "energy_above":
            return f"energy above {self.cutoff:.4g}"
        return "spectral centroid" if self.kind == "centroid" else "mean |input gradient|"


@dataclass(frozen=True)
class Where:
    """Where a target is measured: ``[lo, hi)`` with ``grid`` samples for 1D coordinate
    networks, else the data batch (``n_lines`` segments of ``length`` with ``n_points`` samples
    for the directional spectrum; the batch itself for the gradient proxy).
    """

    lo: float | None = None
    hi: float | None = None
    data: Tensor | None = None
    grid: int = 1024
    n_lines: int = 128
    n_points: int = 256
    length: float | None = None

    def __repr__(self) -> str:
        return f"Where({self.describe()})"

    def describe(self) -> str:
        """``[-1, 1) with 1024 samples`` or ``128 lines of length 2 through 200 points``."""
        if self.lo is not None:
            return f"[{self.lo:g}, {self.hi:g}) with {self.grid} samples"
        assert self.data is not None
        if self.length is None:
            return f"a batch of {self.data.shape[0]} inputs"
        return f"{self.n_lines} lines of length {self.length:.4g} through {self.data.shape[0]} points"


def locate(
    target: SpectralTarget,
    *,
    data: Any = None,
    lo: float | None = None,
    hi: float | None = None,
    grid: int = 1024,
    n_lines: int = 128,
    n_points: int = 256,
    length: float | None = None,
) -> Where:
    """Check and complete where ``target`` is measured (a 1D interval from ``lo``/``hi`` or from
    1D data's range; a data batch otherwise), with a one-line error for what is missing.
    """
    if (lo is None) != (hi is None):
        raise ValueError("give both lo= and hi= (the interval of a 1D coordinate network), or neither")
    x = None
    if data is not None:
        x = as_tensor(data, "data")
        if not x.is_floating_point():
            raise TypeError(
                f"data must be floating-point inputs, got dtype {x.dtype}: token ids have neither a "
                "spectrum along lines nor an input gradient"
            )
        check_finite(x, "data")
        if x.dim() == 0 or x.shape[0] < 2:
            raise ValueError(f"data must be a batch of at least 2 inputs, got shape {tuple(x.shape)}")
    if target.kind == "gradient":
        if x is None:
            raise ValueError("a gradient= target is measured on a batch: pass data=")
        return Where(data=x)
    if lo is None and x is not None and (x.dim() == 1 or (x.dim() == 2 and x.shape[1] == 1)):
        lo, hi = float(x.min()), float(x.max())  # 1D data: its own interval
        if not hi > lo:
            raise ValueError("1D data must span an interval (its values are all equal)")
    if lo is not None:
        assert hi is not None
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"need finite lo < hi, got lo={lo!r}, hi={hi!r}")
        grid = check_int(grid, "grid")
        if grid < 8:
            raise ValueError(f"grid must be at least 8 samples, got {grid}")
        nyquist = grid / (2 * (hi - lo))
        _check_below(target, nyquist, f"the grid's Nyquist frequency {nyquist:g} (grid={grid})")
        return Where(lo=float(lo), hi=float(hi), grid=grid)
    if x is None:
        raise ValueError("say where the spectrum is measured: lo= and hi= for a 1D input, or data= (a batch)")
    flat = x.reshape(x.shape[0], -1)
    if length is None:  # the batch's widest coordinate range: lines cross the data
        length = float((flat.max(dim=0).values - flat.min(dim=0).values).max())
        if not length > 0:
            raise ValueError("the data points are all equal: pass length= for the measuring lines")
    check_positive(length, "length")
    n_points = check_int(n_points, "n_points")
    nyquist = n_points / (2 * float(length))
    _check_below(
        target, nyquist, f"the lines' Nyquist frequency {nyquist:g} (n_points={n_points}, length={length:g})"
    )
    return Where(data=x, n_lines=check_int(n_lines, "n_lines"), n_points=n_points, length=float(length))


#: A 1D start whose values vary (std) by less than this fraction of their mean magnitude is
#: constant at float32 precision (~1e-7): its mean-removed spectrum would be round-off, so it is
#: not measured.
FLAT = 1e-6


def _samples(model: nn.Module, lo: float, hi: float, n: int) -> Tensor:
    """The model on ``grid(lo, hi, n)`` (eval mode, no grad), in float64 on the CPU."""
    device, dtype = placement(model)
    x = torch.as_tensor(grid(lo, hi, n), dtype=dtype, device=device).reshape(-1, 1)
    with torch.no_grad(), module_mode(model, training=False):
        return model(x).detach().to("cpu", torch.float64)


def _check_below(target: SpectralTarget, nyquist: float, what: str) -> None:
    asked = target.cutoff if target.kind == "energy_above" else target.centroid
    if asked is not None and asked >= nyquist:
        raise ValueError(f"{target.describe()} cannot be measured: it is not below {what}; raise it")


def measure_target(
    model: nn.Module, target: SpectralTarget, where: Where, *, generator: GeneratorLike = 0
) -> float:
    """The value of ``target``'s quantity for ``model`` at its current weights, measured
    ``where`` (:func:`locate`); ``generator`` seeds the lines or the gradient projections.  NaN
    for a 1D start that is constant at float32 precision (its values' std below :data:`FLAT` of
    their mean magnitude): the search never lands on such a degenerate start.
    """
    if target.kind == "gradient":
        assert where.data is not None
        return gradient_bandwidth(model, where.data, generator=generator).mean_abs
    spectrum: Spectrum | DirectionalSpectrum
    if where.lo is not None:
        assert where.hi is not None
        values = _samples(model, where.lo, where.hi, where.grid)  # one forward pass per measurement
        if float(values.std()) <= FLAT * float(values.abs().mean()):
            return math.nan  # constant at float32 precision: no spectrum to speak of
        # spectrum_1d samples the same grid(lo, hi, grid): hand it the values already computed.
        spectrum = spectrum_1d(lambda _: values, where.lo, where.hi, where.grid, mollify=True, detrend="mean")
    else:
        assert where.data is not None and where.length is not None
        spectrum = directional_spectrum(
            model,
            where.data,
            n_lines=where.n_lines,
            n_points=where.n_points,
            length=where.length,
            generator=generator,
            detrend="linear",  # only the non-affine part: a near-linear start reads as no bandwidth
        )
    if target.kind == "energy_above":
        assert target.cutoff is not None
        return float(spectrum.energy_above(target.cutoff))
    return float(spectrum.centroid())
