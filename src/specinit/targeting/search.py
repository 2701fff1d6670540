"""A start whose spectrum is the one asked for: search a family's scale until the measured
target is met (arXiv 2206.08558: the spectrum at initialization decides what a network
interpolates; arXiv 2511.02244 and 2006.09661 for the scale knobs of SWIM and SIREN).

The family (:mod:`specinit.targeting.families`) turns one scale ``θ`` into weights drawn once
from the generator, so the target's measurement ``m(θ)`` (:func:`specinit.targeting.targets.measure_target`)
is a deterministic continuous function.  The search scans ``θ`` on a geometric grid over
``bounds`` (``θ = 1``, the family's own start, always among them).  An energy fraction above a
cutoff is an *allowance* (``SpectralTarget.exact=False``): a family start that already keeps it
is kept as it is; otherwise, and for exact targets (centroids, gradients, ``exact=True``), the
search takes the scan interval where ``m(θ) − asked`` changes sign nearest to ``θ = 1`` — rising
crossings first (bandwidth grows with scale), for an allowance those below ``θ = 1`` first, the
smallest change to the family's start that meets the target — and bisects it in
``log θ`` until ``|m − asked| ≤ rtol · asked``.  On a 1D interval the result is measured again
on a 4× finer grid; when the two disagree by more than that tolerance (content above the grid's
Nyquist frequency aliased into it, e.g. a saturated tanh net's near-square waves) the search is
repeated on the finer grid, up to :data:`MAX_GRID` samples.  A target outside what the scan reached is an
:class:`UnreachableTargetError` naming the range, and leaves the model as it was.

>>> import torch, specinit
>>> net = specinit.models.coordinate_mlp(1, 64, 3, 1, "sine(omega0=30)")
>>> fit = spectral_target_(net, SpectralTarget(step=0.1), lo=-1, hi=1, generator=0)
>>> fit.family, abs(fit.achieved - 0.01) <= 0.01 * 0.01
('siren', True)
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_int, check_positive
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, as_generator, derive_seed
from specinit.initializers import register_model_method
from specinit.initializers.registry import set_signature
from specinit.targeting.families import Knob, family_for
from specinit.targeting.targets import SpectralTarget, Where, locate, measure_target

__all__ = [
    "TargetFit",
    "UnreachableTargetError",
    "spectral_target_",
    "fit_of",
    "DEFAULT_BOUNDS",
    "TOLERANCE",
    "MAX_GRID",
]

#: The scales searched, relative to each family's own start (``θ = 1``).
DEFAULT_BOUNDS = (1e-2, 1e2)

#: The finest 1D grid the search refines to when a 4× finer grid disagrees with its result.
MAX_GRID = 16384

#: A search whose closest measurement is further than this (relative) from the asked value (or
#: ``rtol`` if larger) raises instead of returning a start that misses.
TOLERANCE = 0.05


class UnreachableTargetError(ValueError):
    """The family cannot give the model the asked value within the searched scales; ``asked`` and
    ``reachable`` (the range the scan measured) say by how much; ``settled`` is False when the
    value lies inside that range but the measurement jumps across it.
    """

    def __init__(
        self, message: str, *, asked: float, reachable: tuple[float, float], settled: bool = True
    ) -> None:
        super().__init__(message)
        self.asked = asked
        self.reachable = reachable
        self.settled = settled  # False: the value lies in the range, but the measurement jumps across it


@dataclass(frozen=True)
class TargetFit:
    """What :func:`spectral_target_` chose: the ``family`` and its ``parameter`` = ``value``
    (``scale`` θ times the family's start), the ``asked`` and ``achieved`` values of ``target``
    measured ``where``, the range ``reachable`` over the scanned scales and the number of
    ``evaluations`` of the measurement.
    """

    target: SpectralTarget
    family: str
    parameter: str
    value: float
    scale: float
    asked: float
    achieved: float
    reachable: tuple[float, float]
    evaluations: int
    where: str

    __repr__ = compact_repr

    @property
    def relative_error(self) -> float:
        """``|achieved − asked| / asked``."""
        return abs(self.achieved - self.asked) / self.asked

    def text(self) -> str:
        """One line: ``spectral target: energy above 5 = 0.0101 (asked ≤ 0.01, ...); family 'siren' ...``."""
        asked = f"{'' if self.target.exact else '≤ '}{self.asked:.4g}"
        return (
            f"spectral target: {self.target.describe()} = {self.achieved:.4g} (asked {asked}, "
            f"measured on {self.where}); family {self.family!r} with {self.parameter} = {self.value:.4g}"
        )


_FITS: weakref.WeakKeyDictionary[nn.Module, tuple[TargetFit, tuple[Any, ...]]] = weakref.WeakKeyDictionary()


def _signature(model: nn.Module) -> tuple[Any, ...]:
    """A cheap fingerprint of the model's parameters (shape, sum and absolute sum of each)."""
    with torch.no_grad():
        return tuple(
            (name, tuple(p.shape), float(p.double().sum()), float(p.double().abs().sum()))
            for name, p in model.named_parameters()
        )


def fit_of(model: nn.Module) -> TargetFit | None:
    """The :class:`TargetFit` of the spectrum-targeted start ``model`` holds (``None`` if it has
    none, or if its weights changed since — re-initialized or trained); the doctor shows it.  A
    copy of the model does not carry it.
    """
    found = _FITS.get(model)
    if found is None or found[1] != _signature(model):
        return None
    return found[0]


def spectral_target_(
    model: nn.Module,
    target: SpectralTarget,
    *,
    family: str = "auto",
    lo: float | None = None,
    hi: float | None = None,
    data: Any = None,
    targets: Any = None,
    generator: GeneratorLike = None,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
    n_scan: int = 17,
    rtol: float = 1e-2,
    max_iter: int = 40,
    grid: int = 1024,
    n_lines: int = 128,
    n_points: int = 256,
    length: float | None = None,
    schedule: str = "constant",
) -> TargetFit:
    """Initialize ``model`` in place so that its measured ``target`` is met; returns the record.

    The search measures a float64 copy of the model (module docstring) and writes the chosen
    weights back in the model's dtype; :func:`fit_of` returns the record later.

    Args:
        model: a coordinate network (``lo``/``hi`` or 1D ``data``), a network on ``n``-D inputs
            (``data``: the directional spectrum through its points) or an image model (a
            ``gradient`` target on ``data``).
        target: what to meet (:class:`~specinit.targeting.targets.SpectralTarget`).
        family: ``"auto"`` (from the model's activation), ``"gain"``, ``"siren"``, ``"gaussian"``
            or ``"swim"`` (:data:`~specinit.targeting.families.FAMILIES`).
        lo: the start of a 1D coordinate network's interval.
        hi: its end (not sampled).
        data: a batch of inputs: where ``n``-D targets are measured; SWIM's samples.
        targets: SWIM's regression targets or labels (``family="swim"`` only).
        generator: an int seed or ``torch.Generator`` for every draw (``None``: the global RNG).
        bounds: the range of the scale ``θ`` searched (``θ = 1`` is the family's own start).
        n_scan: scales on the geometric scan grid (≥ 3).
        rtol: the search stops when ``|achieved − asked| ≤ rtol · asked``.
        max_iter: bisection steps at most.
        grid: samples of the 1D spectrum.
        n_lines: lines of the directional spectrum.
        n_points: samples per line.
        length: the lines' length (default: the data's widest coordinate range).
        schedule: SWIM's ``s1`` schedule (:func:`specinit.initializers.scale_schedule`).

    Raises:
        UnreachableTargetError: the asked value lies outside what the family reached on the
            scanned scales, or the measurement jumps across it (the model is left as it was).

    """
    if not isinstance(target, SpectralTarget):
        raise TypeError(f"target must be a SpectralTarget, got {type(target).__name__}")
    where = locate(
        target, data=data, lo=lo, hi=hi, grid=grid, n_lines=n_lines, n_points=n_points, length=length
    )
    low, high = (check_positive(b, "bounds") for b in bounds)
    if not low < high:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds!r}")
    n_scan = check_int(n_scan, "n_scan")
    if n_scan < 3:
        raise ValueError(f"n_scan must be at least 3, got {n_scan}")
    check_positive(rtol, "rtol")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    chosen = family_for(model, family)
    gen = as_generator(generator)
    # The search runs on a float64 copy: near-affine starts leave residuals that float32
    # round-off would swamp (a white-noise spectrum), and the model stays untouched on failure.
    # The family's tensors are drawn first and in the model's dtype, so at θ = 1 the weights are
    # exactly those of init_(model, the family's method, generator=...).
    work = copy.deepcopy(model)
    knob = Knob(
        work,
        chosen,
        generator=gen,
        data=None if data is None else as_tensor(data, "data"),
        targets=None if targets is None else as_tensor(targets, "targets"),
        schedule=schedule,
    )
    work.double()  # the Knob's tensors are the same Parameters, now float64
    where = replace(where, data=None if where.data is None else where.data.double())
    seed = derive_seed(gen)  # the measuring lines / projections, fixed for the whole search
    fit = _search(work, knob, target, where, seed, (low, high), n_scan, rtol, max_iter)
    while where.lo is not None and where.grid < MAX_GRID:  # 1D: is the grid fine enough?
        finer = replace(where, grid=4 * where.grid)
        if abs(measure_target(work, target, finer) - fit.achieved) <= rtol * fit.asked:
            break
        where = finer  # content above the grid's Nyquist frequency aliased: search again finer
        fit = _search(work, knob, target, where, seed, (low, high), n_scan, rtol, max_iter)
    model.load_state_dict(work.state_dict())  # cast back to the model's dtype
    _FITS[model] = (fit, _signature(model))
    return fit


def _search(
    model: nn.Module,
    knob: Knob,
    target: SpectralTarget,
    where: Where,
    seed: int,
    bounds: tuple[float, float],
    n_scan: int,
    rtol: float,
    max_iter: int,
) -> TargetFit:
    asked = target.value
    evaluations = 0

    def measure(theta: float) -> float:
        nonlocal evaluations
        knob.set(theta)
        evaluations += 1
        value = measure_target(model, target, where, generator=seed)
        return value if math.isfinite(value) else math.nan

    thetas = np.geomspace(bounds[0], bounds[1], n_scan)
    if bounds[0] <= 1.0 <= bounds[1]:  # the family's own start is always a scan point
        thetas[np.argmin(np.abs(np.log(thetas)))] = 1.0
        thetas = np.unique(thetas)
    values = np.array([measure(t) for t in thetas])
    seen = values[np.isfinite(values)]
    reachable = (float(seen.min()), float(seen.max())) if seen.size else (math.nan, math.nan)
    own = np.flatnonzero(thetas == 1.0)
    kept = not target.exact and own.size > 0 and values[own[0]] <= asked
    found = (1.0, float(values[own[0]])) if kept else None  # an allowance the own start keeps
    if not kept:
        found = _bisect(measure, thetas, values, asked, rtol, max_iter, at_most=not target.exact)
    if found is None:
        raise _unreachable(knob, target, asked, reachable, bounds)
    theta, achieved = found
    knob.set(theta)  # the chosen scale's weights (its value was measured on them)
    if target.exact:
        missed = abs(achieved - asked) > max(rtol, TOLERANCE) * asked
    else:  # an allowance: below it is fine, above it by more than rtol is not
        missed = achieved > asked * (1 + rtol)
    if not kept and missed:
        why = (
            "SWIM re-samples a deeper layer's pairs on the layer before"
            if knob.family.name == "swim"
            else "e.g. a near-constant start, whose spectrum is round-off"
        )
        raise UnreachableTargetError(
            f"spectral_target: the {target.describe()} jumps across the asked {asked:.3g} near "
            f"{knob.family.parameter} = {knob.parameter(theta):.3g} (closest {achieved:.3g} after "
            f"{evaluations} measurements): the measurement is not continuous in the scale there "
            f"({why}) — ask another value or narrow bounds=",
            asked=asked,
            reachable=reachable,
            settled=False,
        )
    return TargetFit(
        target=target,
        family=knob.family.name,
        parameter=knob.family.parameter,
        value=knob.parameter(theta),
        scale=float(theta),
        asked=asked,
        achieved=float(achieved),
        reachable=reachable,
        evaluations=evaluations,
        where=where.describe(),
    )


def _bisect(
    measure: Callable[[float], float],
    thetas: np.ndarray,
    values: np.ndarray,
    asked: float,
    rtol: float,
    max_iter: int,
    *,
    at_most: bool,
) -> tuple[float, float] | None:
    """``(θ, m(θ))`` of the chosen crossing (:func:`_bracket`) refined by bisection in ``log θ``:
    the closest to ``asked`` of the scales measured (for an allowance, of those keeping it);
    ``None`` when the scan never crosses it.
    """
    best = _bracket(thetas, values, asked, rtol, at_most=at_most)
    if best is None:
        return None
    lo_theta, hi_theta, sign_lo = best
    index = int(np.searchsorted(thetas, lo_theta))
    measured = [(float(values[index]), lo_theta)]
    if sign_lo != 0:
        measured.append((float(values[index + 1]), hi_theta))
        for _ in range(max_iter):
            theta = math.sqrt(lo_theta * hi_theta)
            value = measure(theta)
            if not math.isfinite(value):
                break
            measured.append((value, theta))
            if abs(value - asked) <= rtol * asked:
                break
            if np.sign(value - asked) == sign_lo:
                lo_theta = theta
            else:
                hi_theta = theta
    if at_most:  # an allowance: the closest scale on the allowed side (a bracket always has one)
        allowed = [m for m in measured if m[0] <= asked * (1 + rtol)]
        measured = allowed or measured
    value, theta = min(measured, key=lambda m: abs(m[0] - asked))
    return theta, value


def _bracket(
    thetas: np.ndarray, values: np.ndarray, asked: float, rtol: float, *, at_most: bool
) -> tuple[float, float, float] | None:
    """``(θ_lo, θ_hi, sign of m(θ_lo) − asked)`` of the scan interval where ``m`` crosses
    ``asked`` nearest to the family's own start ``θ = 1`` (in ``log θ``), rising crossings
    (bandwidth grows with scale) first; for an allowance (``at_most``), those below ``θ = 1``
    first.  A scan point already within ``rtol`` is a zero-width bracket.
    """
    crossings = []
    for i, value in enumerate(values):
        if math.isfinite(value) and abs(value - asked) <= rtol * asked:
            crossings.append((float(thetas[i]), float(thetas[i]), 0.0))
        elif i + 1 < len(values) and math.isfinite(value) and math.isfinite(values[i + 1]):
            if np.sign(value - asked) * np.sign(values[i + 1] - asked) < 0:
                crossings.append((float(thetas[i]), float(thetas[i + 1]), float(np.sign(value - asked))))
    if not crossings:
        return None

    def rank(c: tuple[float, float, float]) -> tuple[bool, bool, float]:
        below = c[1] <= 1.0
        return (at_most and not below, c[2] > 0, abs(math.log(math.sqrt(c[0] * c[1]))))

    return min(crossings, key=rank)


def _unreachable(
    knob: Knob,
    target: SpectralTarget,
    asked: float,
    reachable: tuple[float, float],
    bounds: tuple[float, float],
) -> UnreachableTargetError:
    family, act = knob.family, knob.family.parameter
    lo, hi = knob.parameter(bounds[0]), knob.parameter(bounds[1])
    relation = "=" if target.exact else "≤"
    return UnreachableTargetError(
        f"spectral_target: family {family.name!r} ({act} {lo:.3g}–{hi:.3g}) gives this model "
        f"{target.describe()} from {reachable[0]:.3g} to {reachable[1]:.3g}, not the asked "
        f"{relation} {asked:.3g}: change the target, widen bounds=, or give the model more depth "
        "or another activation",
        asked=asked,
        reachable=reachable,
    )


def _spectral_target_method(
    model: nn.Module, *, data: Tensor | None, targets: Tensor | None, generator: Any, **options: Any
) -> None:
    """Spectrum-targeted start: the family's scale (ω0, gain, α, SWIM's s1) that meets a cutoff,
    centroid or gradient-bandwidth target (arXiv 2206.08558); see :func:`spectral_target_`.
    """
    target = SpectralTarget(**{name: options.pop(name) for name in _TARGET_OPTIONS if name in options})
    spectral_target_(model, target, data=data, targets=targets, generator=generator, **options)


# init_'s options are SpectralTarget's fields and spectral_target_'s keywords, read from them (one
# list: a keyword added to either reaches init_ without a copy to keep in step).
_TARGET_OPTIONS = tuple(f.name for f in dataclasses.fields(SpectralTarget))
_KEYWORD = inspect.Parameter.KEYWORD_ONLY
set_signature(
    _spectral_target_method,
    inspect.Signature(
        [
            inspect.Parameter("model", inspect.Parameter.POSITIONAL_ONLY),
            *(inspect.Parameter(name, _KEYWORD) for name in ("data", "targets", "generator")),
            *(
                inspect.Parameter(f.name, _KEYWORD, default=f.default)
                for f in dataclasses.fields(SpectralTarget)
            ),
            *(
                p
                for p in inspect.signature(spectral_target_).parameters.values()
                if p.kind is _KEYWORD and p.name not in ("data", "targets", "generator")
            ),
        ]
    ),
)
register_model_method("spectral_target", needs_data=None)(_spectral_target_method)
