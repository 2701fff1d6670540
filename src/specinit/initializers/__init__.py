"""Initializers: one module per family, all in the ``torch.nn.init`` call shape.

Importing a family registers its methods with :func:`init_`.
"""

from specinit.initializers import bandwidth, classic
from specinit.initializers.bandwidth import *  # noqa: F403
from specinit.initializers.classic import *  # noqa: F403
from specinit.initializers.odd_sigmoid import (  # registers "odd_sigmoid" and "tanh_init"
    critical_gain,
    diagonal_,
    fixed_point,
    noise_scale,
    odd_sigmoid_,
    odd_sigmoid_class,
    tanh_init_,
)
from specinit.initializers.swim import (  # registers "swim"
    default_scales,
    layer_generators,
    scale_schedule,
    swim_,
    swim_layer,
)
from specinit.initializers.registry import (
    init_,
    methods,
    model_activation,
    register_layer_method,
    register_model_method,
    supported_layers,
)

__all__ = [
    "init_",
    "methods",
    "model_activation",
    "register_layer_method",
    "register_model_method",
    "supported_layers",
    *classic.__all__,
    *bandwidth.__all__,
    "odd_sigmoid_class",
    "critical_gain",
    "fixed_point",
    "diagonal_",
    "noise_scale",
    "odd_sigmoid_",
    "tanh_init_",
    "default_scales",
    "scale_schedule",
    "layer_generators",
    "swim_layer",
    "swim_",
]
