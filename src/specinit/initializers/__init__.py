"""Initializers: one module per family, all in the ``torch.nn.init`` call shape
(``method_(weight, ..., generator=None)``), and :func:`init_`, which applies any registered
method to a whole model.

* :mod:`.registry` — :func:`init_`, :func:`init_plan`, :func:`methods`, registration, fans and
  seeded fills;
* :mod:`.layer_rules` — which tensors of a layer are weights, biases or constants, and their
  layouts: :func:`register_layer_type` teaches ``init_`` a layer type;
* :mod:`.plan` — :class:`InitPlan`, what ``init_`` does to every tensor, and :class:`InitWarning`;
* :mod:`.classic` — Glorot, He, LeCun, orthogonal, truncated normals, SIREN, small Gaussian;
* :mod:`.odd_sigmoid` — ``W = ωD + Z`` for odd-sigmoid activations (arXiv 2509.23085);
* :mod:`.swim` and :mod:`.readout` — sampled weights and least-squares readouts (arXiv
  2306.16830, 2511.02244);
* :mod:`.pretrain` — bandwidth-controlling starts: pre-training on a signal or on shuffled
  labels (arXiv 2206.08558);
* :mod:`.shallow` — shallow nets at the lazy or adaptive scale (arXiv 2503.10587).

Importing a family registers its methods with :func:`init_`.
"""

# Importing each family's module registers its methods with init_.
from specinit.initializers.classic import (
    calculate_gain,
    gaussian_small_,
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    orthogonal_,
    siren_,
    trunc_normal_,
    truncated_variance,
    variance_scaled_trunc_normal_,
    xavier_normal_,
    xavier_uniform_,
)
from specinit.initializers.layer_rules import (
    BiasRule,
    LayerRule,
    WeightRule,
    layer_rule,
    layer_types,
    register_layer_type,
)
from specinit.initializers.odd_sigmoid import (  # registers "odd_sigmoid" and "tanh_init"
    critical_gain,
    diagonal_,
    fixed_point,
    noise_scale,
    odd_sigmoid_,
    odd_sigmoid_class,
    tanh_init_,
)
from specinit.initializers.plan import InitPlan, InitWarning, PlanRow
from specinit.initializers.pretrain import pretrain_random_labels_, pretrain_signal_
from specinit.initializers.readout import calibrate_logits, fit_readout
from specinit.initializers.registry import (
    fan_in_out,
    init_,
    init_plan,
    methods,
    model_activation,
    register_layer_method,
    register_model_method,
    supported_layers,
)
from specinit.initializers.shallow import REGIMES, shallow_init_
from specinit.initializers.swim import (  # registers "swim"
    default_scales,
    layer_generators,
    scale_schedule,
    swim_,
    swim_layer,
)

__all__ = [
    "init_",
    "init_plan",
    "InitPlan",
    "PlanRow",
    "InitWarning",
    "register_layer_type",
    "LayerRule",
    "WeightRule",
    "BiasRule",
    "layer_rule",
    "layer_types",
    "methods",
    "model_activation",
    "register_layer_method",
    "register_model_method",
    "supported_layers",
    "fan_in_out",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "lecun_uniform_",
    "lecun_normal_",
    "orthogonal_",
    "trunc_normal_",
    "variance_scaled_trunc_normal_",
    "siren_",
    "gaussian_small_",
    "truncated_variance",
    "calculate_gain",
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
    "fit_readout",
    "calibrate_logits",
    "pretrain_signal_",
    "pretrain_random_labels_",
    "shallow_init_",
    "REGIMES",
]
