"""specinit: how a neural network starts.

Initializers for PyTorch networks and measurements of what an initialization does to a
network's frequency content, trainability and generalization (arXiv 2511.02244,
2503.10587, 2509.23085, 2206.08558).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("specinit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

from specinit import activations, data, experiments, models, pinn, propagation, results  # noqa: E402
from specinit import layer_spectra  # noqa: E402  (the module: specinit.layer_spectra.layer_spectra)
from specinit import readout  # noqa: E402
from specinit import doctor  # noqa: E402  (`specinit inspect`: the init doctor)
from specinit.doctor import diagnose  # noqa: E402
from specinit.estimators import SwimClassifier, SwimRegressor  # noqa: E402
from specinit.curvature import HessianOperator, hessian_density, hessian_eigs, hessian_trace  # noqa: E402
from specinit.readout import fit_readout  # noqa: E402
from specinit import kernels  # noqa: E402  (empirical and infinite-width NTKs)
from specinit.kernels import (  # noqa: E402
    ShallowNTKNet,
    efolding_rate,
    fourier_projection,
    kernel_regression,
    linearized_flow,
    ntk,
    ntk_eig,
    predicted_decay_rate,
    shallow_ntk,
    spectral_weight,
)
from specinit import shallow  # noqa: E402  (shallow nets: reparameterization, hyperplanes)
from specinit.shallow import (  # noqa: E402
    HyperplaneClusters,
    HyperplaneTracker,
    Neurons,
    ReluSpline,
    cluster_hyperplanes,
    hyperplane_movement,
    relu_spline,
    rescale_neurons,
    shallow_init_,
    to_network,
    to_neurons,
)
from specinit import bandwidth  # noqa: E402  (image-model bandwidth; the starts are in initializers)
from specinit.bandwidth import (  # noqa: E402
    DirectionalSpectrum,
    GradientBandwidth,
    directional_spectrum,
    gradient_bandwidth,
    input_gradients,
)
from specinit.initializers import *  # noqa: E402,F401,F403  (the torch.nn.init-shaped functions)
from specinit.initializers import __all__ as _init_all  # noqa: E402
from specinit.spectrum import (  # noqa: E402
    FrequencyTracker,
    Spectrum,
    energy_above,
    lowest_fitting_frequency,
    plot_spectrum,
    spectral_centroid,
    spectrum_1d,
)
from specinit.training import (  # noqa: E402
    LrSearch,
    TrainingDiverged,
    TrainResult,
    TrainState,
    accuracy,
    evaluate_loss,
    train,
    tune_lr,
)

__all__ = [
    "__version__",
    "activations",
    "data",
    "models",
    "propagation",
    "layer_spectra",
    "readout",
    "doctor",
    "diagnose",
    "fit_readout",
    "kernels",
    "ntk",
    "ntk_eig",
    "fourier_projection",
    "spectral_weight",
    "kernel_regression",
    "linearized_flow",
    "efolding_rate",
    "predicted_decay_rate",
    "shallow_ntk",
    "ShallowNTKNet",
    "shallow",
    "Neurons",
    "ReluSpline",
    "HyperplaneClusters",
    "HyperplaneTracker",
    "to_neurons",
    "to_network",
    "rescale_neurons",
    "relu_spline",
    "cluster_hyperplanes",
    "hyperplane_movement",
    "shallow_init_",
    "SwimRegressor",
    "SwimClassifier",
    "pinn",
    "curvature",
    "HessianOperator",
    "hessian_trace",
    "hessian_eigs",
    "hessian_density",
    "bandwidth",
    "input_gradients",
    "gradient_bandwidth",
    "GradientBandwidth",
    "directional_spectrum",
    "DirectionalSpectrum",
    "experiments",
    "results",
    "spectrum_1d",
    "Spectrum",
    "energy_above",
    "spectral_centroid",
    "lowest_fitting_frequency",
    "plot_spectrum",
    "FrequencyTracker",
    "train",
    "tune_lr",
    "accuracy",
    "evaluate_loss",
    "LrSearch",
    "TrainResult",
    "TrainState",
    "TrainingDiverged",
    *_init_all,
]
