"""Initializers to try for a diagnosed model, and the same measurements after each.

:func:`suggest` proposes registered initializers by rule from the activations, depth and data
seen; :func:`compare` re-initializes deep copies with them (seeded) and diagnoses each, so a user
sees the same measurements before and after.  The user's model is never changed.

>>> import torch, specinit
>>> net = specinit.nn.mlp(16, [64] * 12, 1, "tanh")
>>> _ = specinit.init_(net, "trunc_normal", std=0.02, generator=0)
>>> x = torch.randn(128, 16, generator=torch.Generator().manual_seed(0))
>>> d = specinit.doctor.diagnose(net, x, hessian_iters=0)
>>> [s.method for s in suggest(net, d)][:2]
['odd_sigmoid', 'xavier_normal']
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from specinit._core.deprecation import renamed_kwargs
from specinit._core.rng import GeneratorLike, derive_seed
from specinit.doctor.diagnose import Diagnosis, data_grid, diagnose
from specinit.initializers.registry import init_, init_plan
from specinit.initializers.registry import methods as registered_methods
from specinit.nn.activations import Activation
from specinit.nn.layers import mlp_chain
from specinit.targeting import SpectralTarget, spectral_target_

__all__ = ["Suggestion", "suggest", "compare", "DEEP"]


@dataclass(frozen=True)
class Suggestion:
    """An initializer to try: ``init_(model, method, generator=seed, **options)`` (data-driven
    methods also get ``data=x, targets=y``), and why it fits this model.
    """

    method: str
    reason: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``method`` with its options, e.g. ``odd_sigmoid(ends=scaled)``."""
        shown = {k: v for k, v in self.options.items() if k != "activation"}
        if not shown:
            return self.method
        return f"{self.method}({', '.join(f'{k}={_short(v)}' for k, v in shown.items())})"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- suggestions

#: Activations whose networks get the ReLU family's suggestions.
RELU_LIKE = frozenset(
    {
        "relu",
        "relu6",
        "leaky_relu",
        "elu",
        "selu",
        "celu",
        "gelu",
        "gelu_tanh",
        "silu",
        "mish",
        "softplus",
        "hardswish",
    }
)
#: Hidden layers from which the odd-sigmoid start is ranked above Xavier (arXiv 2509.23085 studies
#: depths 10 to 100; at a few layers Xavier's shrinkage does not matter yet).
DEEP = 8


def _family(act: Activation | None) -> tuple[str, Activation | None]:
    """(family, activation for odd_sigmoid) of a recorded layer, from its activation's properties."""
    if act is None:
        return "other", None
    if act.is_odd_sigmoid:
        return "odd_sigmoid", act
    if act.name in RELU_LIKE:
        return "relu", None
    if act.name in ("sigmoid", "hardsigmoid"):
        return "sigmoid", None
    if act.name in ("sine", "gaussian"):
        return act.name, None
    return "other", None


def suggest(model: nn.Module, diagnosis: Diagnosis, *, data: bool = False) -> list[Suggestion]:
    """Initializers to try, best first, chosen by rule from the activations, depth and problems.

    The most common activation family among the recorded layers (recurrent gates aside) picks
    the list: odd sigmoids
    (tanh, softsign, erf, ...) get ``odd_sigmoid`` with ``ends="scaled"`` (arXiv 2509.23085; first
    when there are at least :data:`DEEP` layers), ``xavier_normal`` and ``orthogonal``;
    ReLU-like ones ``kaiming_normal`` and ``orthogonal`` with gain √2; sine networks ``siren``;
    Gaussian ones ``gaussian_small``; sigmoid ``xavier_normal`` and ``lecun_normal``; anything
    else ``lecun_normal`` and ``orthogonal``.  When the diagnosis found ``bandwidth_above_data``
    (a 1D coordinate network with more of its spectrum above its samples' Nyquist frequency than
    :class:`Thresholds` allows), ``spectral_target`` at that limit comes first, if the model's
    family can reach it.  With ``data=True`` (targets available) and a
    specinit MLP, ``swim`` (arXiv 2306.16830) is added.

    Raises:
        TypeError: the model has no layer an initializer fills (from
            :func:`specinit.initializers.init_plan`).

    """
    if not isinstance(diagnosis, Diagnosis):
        raise TypeError(f"diagnosis must be a Diagnosis, got {type(diagnosis).__name__}")
    init_plan(model, "lecun_normal")  # a clear TypeError when there is nothing to initialize
    # Recurrent gates are fixed sigmoid/tanh masks of the cell, not the network's choice of activation.
    recorded = [
        a for a, row in zip(diagnosis.activations, diagnosis.layers, strict=True) if row.kind != "gate"
    ]
    families = [_family(a) for a in recorded] or [("other", None)]
    family = Counter(f for f, _ in families).most_common(1)[0][0]  # ties: the first seen
    depth = len(diagnosis.layers)
    out: list[Suggestion] = []
    if family == "odd_sigmoid":
        act = next(a for f, a in families if f == "odd_sigmoid" and a is not None)
        odd = Suggestion(
            "odd_sigmoid",
            (
                f"{act.describe()} is an odd sigmoid and the net has {depth} activation layers: "
                "W = ωD + Z keeps the signal's std through depth (arXiv 2509.23085)"
            ),
            {"activation": act, "ends": "scaled"},
        )
        xavier = Suggestion("xavier_normal", "Glorot's variance-preserving rule for tanh-like nets")
        out += [odd, xavier] if depth >= DEEP else [xavier, odd]
        out.append(Suggestion("orthogonal", "norm-preserving weights; dynamical isometry near 0"))
    elif family == "relu":
        out += [
            Suggestion("kaiming_normal", "He's Var W = 2/fan_in keeps a ReLU net's signal std"),
            Suggestion("orthogonal", "orthogonal weights with ReLU gain √2", {"gain": math.sqrt(2)}),
        ]
    elif family == "sine":
        out.append(Suggestion("siren", "SIREN's uniform rule for sine networks (arXiv 2006.09661)"))
    elif family == "gaussian":
        out.append(
            Suggestion("gaussian_small", "small-variance start for Gaussian activations (arXiv 2206.08558)")
        )
    elif family == "sigmoid":
        out += [
            Suggestion("xavier_normal", "Glorot's rule, derived for sigmoid-like units"),
            Suggestion("lecun_normal", "Var W = 1/fan_in"),
        ]
    else:
        out += [
            Suggestion("lecun_normal", "Var W = 1/fan_in, a neutral default"),
            Suggestion("orthogonal", "norm-preserving weights"),
        ]
    targeted = _spectral_target(model, diagnosis)
    if targeted is not None:
        out.insert(0, targeted)
    if data and _swim_applicable(model):
        out.append(
            Suggestion(
                "swim",
                "data-driven sampled weights and a least-squares readout (arXiv 2306.16830); needs x and y",
            )
        )
    return out


def _spectral_target(model: nn.Module, diagnosis: Diagnosis) -> Suggestion | None:
    """``spectral_target`` at the samples' Nyquist limit when the start's bandwidth is above it and
    the model's family can reach the target (tried on a copy; ``None`` otherwise).
    """
    band = diagnosis.data_bandwidth
    if band is None or "bandwidth_above_data" not in diagnosis.codes:
        return None
    options: dict[str, Any] = {"step": band.step, "lo": band.lo, "hi": band.hi}
    grid = data_grid(band.cutoff, band.lo, band.hi)
    if grid > 1024:  # the search's default grid would not resolve this cutoff
        options["grid"] = grid
    try:
        fit = spectral_target_(
            copy.deepcopy(model),
            SpectralTarget(step=band.step),
            lo=band.lo,
            hi=band.hi,
            grid=options.get("grid", 1024),
            generator=0,
        )
    except ValueError:  # the family cannot reach it, or the model is not one spectral_target scales
        return None
    return Suggestion(
        "spectral_target",
        (
            f"{band.energy_above:.0%} of the start's energy lies above the samples' Nyquist frequency "
            f"{band.cutoff:.3g}; a {fit.family} start with {fit.parameter} ≈ {fit.value:.3g} keeps "
            f"{fit.achieved:.2%} there (at most 1 %; arXiv 2206.08558)"
        ),
        options,
    )


def _swim_applicable(model: nn.Module) -> bool:
    try:
        linears, _ = mlp_chain(model)
    except TypeError:
        return False
    return all(layer.bias is not None for layer in linears)


@renamed_kwargs(seed="generator")
def compare(
    model: nn.Module,
    x: Any,
    y: Any = None,
    methods: Sequence[str | Suggestion] = (),
    *,
    generator: GeneratorLike = 0,
    **options: Any,
) -> dict[str, Diagnosis]:
    """Diagnose a deep copy of ``model`` re-initialized with each method.

    One int seed ``s`` (``generator`` itself when it is an int) initializes every copy
    (``init_(copy, method, generator=s)``) and is passed to :func:`diagnose`.  ``methods`` holds
    registry names or :class:`Suggestion` s (their options are passed on); a data-driven method
    (``swim``) gets ``data=x, targets=y``.  ``options`` go to :func:`diagnose`.  Returns
    ``label → Diagnosis`` in order; the original model is untouched.
    """
    seed = derive_seed(generator)
    known = registered_methods()
    out: dict[str, Diagnosis] = {}
    for item in methods:
        spec = item if isinstance(item, Suggestion) else Suggestion(str(item), "")
        if spec.method not in known:
            raise ValueError(f"unknown initialization method {spec.method!r}; available: {', '.join(known)}")
        clone = copy.deepcopy(model)
        data = {"data": x, "targets": y} if spec.method == "swim" else {}
        if data and y is None:
            raise ValueError(f"method {spec.method!r} is data-driven: pass y")
        init_(clone, spec.method, generator=seed, **data, **dict(spec.options))
        out[spec.label] = diagnose(clone, x, y, generator=seed, **options)
    return out
