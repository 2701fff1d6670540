"""Spectrum-targeted starts: give a network the spectrum you ask for at initialization.

specinit measures a start's frequency content (:mod:`specinit.measure`) and offers starts that
move it (SIREN's ω0, Gaussian σ, weight variance, SWIM's scale schedule); this package inverts
the two — *give me a start whose spectrum is this one* (arXiv 2206.08558: the spectrum at
initialization decides what a network interpolates):

* :mod:`.targets` — :class:`SpectralTarget` (a cutoff with the energy allowed above it, the
  samples' Nyquist limit, a centroid, or the input-gradient proxy) and its measurement;
* :mod:`.families` — the knob: one family of starts, one scale ``θ``;
* :mod:`.search` — :func:`spectral_target_`, the search, its :class:`TargetFit` record;
  registered with :func:`specinit.init_` as ``"spectral_target"``.

>>> import specinit
>>> net = specinit.models.coordinate_mlp(1, 64, 3, 1, "sine(omega0=30)")
>>> _ = specinit.init_(net, "spectral_target", step=0.1, lo=-1, hi=1, generator=0)
>>> fit_of(net).parameter
'omega0'
"""

from specinit.targeting.families import FAMILIES, Family, Knob, family_for
from specinit.targeting.search import (
    DEFAULT_BOUNDS,
    TargetFit,
    UnreachableTargetError,
    fit_of,
    spectral_target_,
)
from specinit.targeting.targets import (
    DEFAULT_ENERGY_ABOVE,
    KINDS,
    SpectralTarget,
    Where,
    locate,
    measure_target,
)

__all__ = [
    "SpectralTarget",
    "spectral_target_",
    "TargetFit",
    "UnreachableTargetError",
    "fit_of",
    "measure_target",
    "locate",
    "Where",
    "Family",
    "FAMILIES",
    "family_for",
    "Knob",
    "KINDS",
    "DEFAULT_BOUNDS",
    "DEFAULT_ENERGY_ABOVE",
]
