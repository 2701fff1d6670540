"""The experiments that reproduce the four papers' claims, registered by id for
``specinit reproduce``.

Each module is thin: a config, its units, one function running a unit from public library
calls, and a summary of tables, figures and checked findings.
"""

# The order is the order of `specinit reproduce all` (the quick 1D experiments first).
from specinit.lab.experiments import (
    bandwidth_1d,
    flat_minima,
    hyperplanes,
    inr_depth,
    kernel_bias,
    oddsig_data,
    oddsig_depth,
    oddsig_pinn,
    oddsig_sensitivity,
    random_label,
    spectral_bias,
    spectral_target,
    swim_1d,
    swim_mnist,
)

__all__ = [
    "bandwidth_1d",
    "flat_minima",
    "hyperplanes",
    "inr_depth",
    "kernel_bias",
    "oddsig_data",
    "oddsig_depth",
    "oddsig_pinn",
    "oddsig_sensitivity",
    "random_label",
    "spectral_bias",
    "spectral_target",
    "swim_1d",
    "swim_mnist",
]
