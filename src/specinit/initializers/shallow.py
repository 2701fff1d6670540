"""Shallow networks at a chosen scale: the lazy (kernel) and adaptive (rich) regimes of
arXiv 2503.10587.

:func:`shallow_init_` draws a one-hidden-layer net ``Linear → σ → Linear`` at ``scale`` times
its standard size; the hyperplanes of its neurons (:mod:`specinit.measure.hyperplanes`) do not
depend on ``scale``, so both regimes start from the same hyperplanes and differ only in how
they move.  Registered with :func:`~specinit.initializers.registry.init_` as ``"shallow"``.

>>> from specinit.nn.models import mlp
>>> net = shallow_init_(mlp(1, [8], 1, "relu"), scale=1e-3, generator=0)
>>> float(net[2].bias.detach().abs().max())
0.0
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from specinit._core.checks import check_positive
from specinit._core.rng import GeneratorLike, as_generator
from specinit.initializers.registry import register_model_method
from specinit.nn.layers import shallow_parts

__all__ = ["REGIMES", "shallow_init_"]

#: Initialization presets of :func:`shallow_init_` for the two training regimes.  ``lazy`` is
#: the standard (NTK-like) scale; ``adaptive`` the small initialization of the rich regime
#: (every weight ``10⁻³`` of its standard size).
REGIMES: dict[str, dict[str, Any]] = {
    "lazy": {"scale": 1.0},
    "adaptive": {"scale": 1e-3},
}


def shallow_init_(
    model: nn.Module,
    *,
    scale: float = 1.0,
    generator: GeneratorLike = None,
) -> nn.Module:
    """Initialize a shallow net in place: ``w_k ~ N(0, scale²/d)``, ``b_k ~ N(0, scale²)``,
    ``v_k ~ N(0, scale²/K)``, ``c = 0`` (``d`` inputs, ``K`` hidden units).

    ``scale = 1`` is the standard (NTK-like, lazy at large width) start; ``scale ≪ 1`` the small
    initialization of the adaptive regime (:data:`REGIMES`; arXiv 2503.10587).  The hyperplanes
    ``(ŵ, β) = (w, −b)/‖w‖`` do not depend on ``scale``.  Returns ``model``.
    """
    hidden, _, out = shallow_parts(model)
    check_positive(scale, "scale")
    scale = float(scale)
    gen = as_generator(generator)
    d, k = hidden.in_features, hidden.out_features
    with torch.no_grad():
        hidden.weight.copy_(torch.randn(hidden.weight.shape, generator=gen) * (scale / d**0.5))
        if hidden.bias is not None:
            hidden.bias.copy_(torch.randn(k, generator=gen) * scale)
        out.weight.copy_(torch.randn(out.weight.shape, generator=gen) * (scale / k**0.5))
        if out.bias is not None:
            out.bias.zero_()
    return model


@register_model_method("shallow", needs_data=False)
def _shallow_method(
    model: nn.Module,
    *,
    data: Tensor | None,
    targets: Tensor | None,
    generator: torch.Generator | None,
    scale: float = 1.0,
) -> None:
    """Shallow net Linear → σ → Linear at `scale` × its standard size: w ~ N(0, scale²/d),
    b ~ N(0, scale²), v ~ N(0, scale²/K) (2503.10587's lazy scale 1, adaptive 1e-3). Options:
    scale.
    """
    shallow_init_(model, scale=scale, generator=generator)
