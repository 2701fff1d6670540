"""The experiments that reproduce the four papers' claims, registered by id for
``specinit reproduce``.

Each module is thin: a config, its units, one function running a unit from public library
calls, and a summary of tables, figures and checked findings.
"""

# The order is the order of `specinit reproduce all` (the quick 1D experiments first).
from specinit.lab.experiments import bandwidth_1d, inr_depth, spectral_bias  # noqa: F401
from specinit.lab.experiments import oddsig_pinn, oddsig_sensitivity  # noqa: F401
from specinit.lab.experiments import oddsig_data, oddsig_depth  # noqa: F401
from specinit.lab.experiments import swim_1d, swim_mnist  # noqa: F401
from specinit.lab.experiments import flat_minima, hyperplanes, kernel_bias, random_label  # noqa: F401
