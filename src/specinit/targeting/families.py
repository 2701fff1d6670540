"""The knob of a spectrum-targeted start: one family of initializations, one scale ``θ``.

Each family draws its random tensors once (from the caller's generator) and then sets the
model's weights as a function of ``θ`` alone, ``θ = 1`` being the family's own start, so the
measured spectrum is a deterministic, continuous function of ``θ`` that a search can invert:

* ``"gain"`` — He/Glorot-style weights ``W_l ~ N(0, (θ·g)² / fan_in)`` in every weight layer but
  the readout, ``g`` the gain ``torch.nn.init.calculate_gain`` gives the model's activation
  (√2 for ReLU, 5/3 for tanh, 1 otherwise), biases ``U(±1/√fan_in)`` (PyTorch's): the weight
  variance that moves a tanh network from the ordered to the chaotic phase (Poole et al.,
  arXiv 1606.05340) and the weight-to-bias ratio that places a ReLU network's kinks;
* ``"siren"`` — SIREN (arXiv 2006.09661) with the first layer's frequency ``ω0`` as the knob:
  the first layer's weights times ``θ``, i.e. ``ω0_first = θ·ω0`` of the sine activation;
* ``"gaussian"`` — the small-variance start ``W ~ N(0, (α σ)² / fan_in)`` of Gaussian-activation
  networks (:func:`specinit.initializers.gaussian_small_`) with ``α = θ`` in every layer but
  the readout (whose scale does not change the spectrum's shape);
* ``"swim"`` — sampled weights (arXiv 2511.02244) with the whole ``s1`` schedule times ``θ``;
  the readout is refitted by least squares for each ``θ`` (needs ``data`` and ``targets``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from specinit._core.rng import GeneratorLike, as_generator, derive_seed
from specinit.initializers import calculate_gain, init_, init_plan, model_activation, scale_schedule, swim_
from specinit.initializers.classic import Nonlinearity
from specinit.nn.activations import Activation

__all__ = ["Family", "FAMILIES", "family_for", "Knob"]


@dataclass(frozen=True)
class Family:
    """A family of starts with one scale: its ``name``, the ``parameter`` the scale sets (reported
    as ``parameter = θ · base``), the init method drawing ``θ = 1``, and ``layers`` scaled:
    ``"hidden"`` (every weight layer but the readout), ``"first"`` or ``"schedule"`` (SWIM's).
    """

    name: str
    parameter: str
    method: str
    layers: str
    summary: str


#: The families, by name.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "gain",
            "gain",
            "kaiming_normal",
            "hidden",
            "W ~ N(0, (θ·gain)²/fan_in) in every layer but the readout",
        ),
        Family("siren", "omega0", "siren", "first", "SIREN with the first layer's ω0 = θ·ω0"),
        Family(
            "gaussian", "alpha", "gaussian_small", "hidden", "W ~ N(0, (α σ)²/fan_in), α = θ, but the readout"
        ),
        Family("swim", "s1", "swim", "schedule", "SWIM with the s1 schedule times θ (readout refitted)"),
    )
}

# torch.nn.init's gains by activation name; every other activation gets gain 1.
_TORCH_GAINS: dict[str, Nonlinearity] = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "selu": "selu",
}


def family_for(model: nn.Module, family: str = "auto") -> Family:
    """``family`` by name, or for ``"auto"`` the one the model's activation calls for: ``"siren"``
    for sine networks, ``"gaussian"`` for Gaussian ones, ``"gain"`` otherwise.
    """
    if family != "auto":
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose 'auto' or one of {', '.join(FAMILIES)}")
        return FAMILIES[family]
    act = model_activation(model)
    name = act.name if act is not None else ""
    return FAMILIES["siren" if name == "sine" else "gaussian" if name == "gaussian" else "gain"]


def _gain_options(act: Activation | None) -> tuple[dict[str, Any], float]:
    """The kaiming_normal options of the gain family (fan_in mode, the activation's torch gain)."""
    nonlinearity: Nonlinearity = "linear"
    if act is not None and act.name in _TORCH_GAINS:
        nonlinearity = _TORCH_GAINS[act.name]
    slope = dict(act.params).get("negative_slope", 0.01) if act is not None else 0.0
    a = slope if nonlinearity == "leaky_relu" else 0.0
    return {"a": a, "mode": "fan_in", "nonlinearity": nonlinearity, "bias": "uniform"}, calculate_gain(
        nonlinearity, a if nonlinearity == "leaky_relu" else None
    )


class Knob:
    """A model's weights as a function of one scale: ``knob.set(θ)`` writes them,
    ``knob.parameter(θ)`` is the value the family reports (``omega0``, ``gain``, ``alpha``, ``s1``).

    Building it initializes the model with the family's method (``θ = 1``) from ``generator``:
    the same weights as ``init_(model, method, generator=generator)`` (SWIM: the same hidden
    layers; the search refits its readout in float64, so that differs by the solve's round-off).
    """

    def __init__(
        self,
        model: nn.Module,
        family: Family,
        *,
        generator: GeneratorLike = None,
        data: Tensor | None = None,
        targets: Tensor | None = None,
        schedule: str = "constant",
    ) -> None:
        self.model = model
        self.family = family
        act = model_activation(model)
        self._set: Callable[[float], None]
        if family.name == "swim":
            if data is None or targets is None:
                raise ValueError("the 'swim' family samples its weights from data: pass data= and targets=")
            fresh = _replayable(generator)  # every θ samples from the same generator state
            n_hidden = sum(isinstance(m, nn.Linear) for m in model.modules()) - 1
            base = scale_schedule(schedule, max(n_hidden, 1), act if act is not None else "tanh")
            self.base = base[0]
            self._set = lambda theta: _swim(model, data, targets, [theta * s for s in base], fresh())
            self._set(1.0)
            return
        options: dict[str, Any] = {"alpha": 1.0} if family.name == "gaussian" else {}
        self.base = 1.0
        if family.name == "gain":
            options, self.base = _gain_options(act)
        elif family.name == "siren":
            omega0 = dict(act.params).get("omega0") if act is not None else None
            if omega0 is None:
                raise ValueError(
                    "the 'siren' family scales a sine network's ω0: the model has no sine activation"
                )
            self.base = float(omega0)
        elif act is None or act.name != "gaussian":
            raise ValueError(
                "the 'gaussian' family scales a Gaussian network: the model has no Gaussian activation"
            )
        names = _weights(model, family.method, options)
        scaled = names[:1] if family.layers == "first" else names[:-1]
        if not scaled:
            raise ValueError(
                "the model has one weight layer: a linear model's spectrum has a shape that no scale changes"
            )
        init_(model, family.method, generator=generator, **options)
        self._tensors = [_parameter(model, name) for name in scaled]
        self._start = [t.detach().clone() for t in self._tensors]
        self._set = self._scale

    @torch.no_grad()
    def _scale(self, theta: float) -> None:
        for tensor, start in zip(self._tensors, self._start, strict=True):
            tensor.copy_(start * theta)

    def set(self, theta: float) -> None:
        """Write the weights of scale ``θ`` into the model."""
        self._set(float(theta))

    def parameter(self, theta: float) -> float:
        """The family's parameter at scale ``θ``: ``θ`` times its value at ``θ = 1``."""
        return float(theta) * self.base


def _weights(model: nn.Module, method: str, options: dict[str, Any]) -> list[str]:
    """The qualified names of the weights ``method`` draws with a fan-in, in model order."""
    plan = init_plan(model, method, **options)
    return [row.tensor for row in plan.rows if row.action == "initialized" and row.fan_in is not None]


def _parameter(model: nn.Module, name: str) -> Tensor:
    try:
        return model.get_parameter(name)
    except AttributeError:
        raise ValueError(
            f"spectral_target cannot scale {name!r} (a parametrized or derived tensor)"
        ) from None


def _replayable(generator: GeneratorLike) -> Callable[[], torch.Generator]:
    """A maker of generators in ``generator``'s current state (its own state is left as it is);
    ``None`` (the global RNG) is pinned to one seed drawn from it.
    """
    gen = as_generator(generator)
    if gen is None:
        gen = torch.Generator().manual_seed(derive_seed(None))
    state, device = gen.get_state(), gen.device

    def fresh() -> torch.Generator:
        copy = torch.Generator(device=device)
        copy.set_state(state)
        return copy

    return fresh


def _swim(
    model: nn.Module, data: Tensor, targets: Tensor, scales: list[float], generator: torch.Generator
) -> None:
    swim_(model, data, targets, scales=scales, generator=generator)
