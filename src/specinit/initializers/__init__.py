"""Initializers: one module per family, all in the ``torch.nn.init`` call shape."""

from specinit.initializers import bandwidth, classic  # noqa: F401  (register their methods)
from specinit.initializers.bandwidth import pretrain_signal_
from specinit.initializers.classic import (
    gaussian_small_,
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    orthogonal_,
    siren_,
    trunc_normal_,
    xavier_normal_,
    xavier_uniform_,
)
from specinit.initializers.registry import (
    init_,
    methods,
    register_layer_method,
    register_model_method,
)

__all__ = [
    "init_",
    "methods",
    "register_layer_method",
    "register_model_method",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "lecun_uniform_",
    "lecun_normal_",
    "orthogonal_",
    "trunc_normal_",
    "siren_",
    "gaussian_small_",
    "pretrain_signal_",
]
