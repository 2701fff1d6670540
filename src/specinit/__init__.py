"""specinit: how a neural network starts.

Initializers for PyTorch networks and measurements of what an initialization does to a
network's frequency content, trainability and generalization (arXiv 2511.02244, 2503.10587,
2509.23085, 2206.08558).  The package is layered; each layer imports only from those below:

* :mod:`specinit.nn`, :mod:`specinit.data` — activations, the walk over a model's layers,
  models; 1D signals, labelled splits, image files;
* :mod:`specinit.training` — the seeded training loop, learning-rate selection, the PINN;
* :mod:`specinit.initializers` — :func:`init_` and one module per family;
* :mod:`specinit.measure` — spectra, propagation, bandwidth, curvature, kernels, hyperplanes;
* :mod:`specinit.targeting` — spectrum-targeted starts (``init_(model, "spectral_target")``);
* :mod:`specinit.estimators` — scikit-learn SWIM estimators (needs scikit-learn; loaded on use);
* :mod:`specinit.doctor` — the init doctor;
* :mod:`specinit.lab` — experiments, sweeps, reports (loaded on use); :mod:`specinit.cli`.

``import specinit`` is instant: it imports no torch, no experiment, no click, no scikit-learn and no
matplotlib; each public name loads its module on first use (``specinit.init_``).
"""

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specinit._core import moved as _moved
from specinit._version import __version__

if TYPE_CHECKING:  # the public names and where they live: read by type checkers and by _SOURCES
    from specinit import data, doctor, initializers, measure, nn, targeting, training
    from specinit.doctor import diagnose
    from specinit.initializers import (
        REGIMES,
        InitPlan,
        InitWarning,
        calculate_gain,
        calibrate_logits,
        critical_gain,
        default_scales,
        diagonal_,
        fan_in_out,
        fit_readout,
        fixed_point,
        gaussian_small_,
        init_,
        init_plan,
        kaiming_normal_,
        kaiming_uniform_,
        layer_generators,
        lecun_normal_,
        lecun_uniform_,
        methods,
        model_activation,
        noise_scale,
        odd_sigmoid_,
        odd_sigmoid_class,
        orthogonal_,
        pretrain_random_labels_,
        pretrain_signal_,
        register_layer_method,
        register_layer_type,
        register_model_method,
        scale_schedule,
        shallow_init_,
        siren_,
        supported_layers,
        swim_,
        swim_layer,
        tanh_init_,
        trunc_normal_,
        truncated_variance,
        variance_scaled_trunc_normal_,
        xavier_normal_,
        xavier_uniform_,
    )
    from specinit.measure import bandwidth, curvature, hyperplanes, kernels, layer_spectra, propagation
    from specinit.measure.bandwidth import (
        DirectionalSpectrum,
        GradientBandwidth,
        directional_spectrum,
        gradient_bandwidth,
        input_gradients,
    )
    from specinit.measure.curvature import (
        EmpiricalFisherOperator,
        GGNOperator,
        HessianOperator,
        curvature_summary,
        hessian_density,
        hessian_density_per_layer,
        hessian_diagonal,
        hessian_eigs,
        hessian_eigs_per_layer,
        hessian_trace,
        hessian_trace_per_layer,
    )
    from specinit.measure.hyperplanes import (
        HyperplaneClusters,
        HyperplaneTracker,
        Neurons,
        ReluSpline,
        cluster_hyperplanes,
        hyperplane_movement,
        relu_spline,
        rescale_neurons,
        to_network,
        to_neurons,
    )
    from specinit.measure.kernels import (
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
    from specinit.measure.spectrum import (
        FrequencyTracker,
        Spectrum,
        energy_above,
        lowest_fitting_frequency,
        plot_spectrum,
        sample_step,
        spectral_centroid,
        spectrum_1d,
    )
    from specinit.nn import ShallowNTKNet, activations, models
    from specinit.targeting import SpectralTarget, TargetFit, spectral_target_
    from specinit.training import (
        LrSearch,
        TrainingDiverged,
        TrainResult,
        TrainState,
        accuracy,
        evaluate_loss,
        train,
        tune_lr,
    )


def _sources() -> dict[str, tuple[str, str | None]]:
    """Public name → (module, attribute, or ``None`` for a subpackage of ``specinit``), read from
    the ``TYPE_CHECKING`` imports above: one list of names, each loaded on first use.
    """
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    guard = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    sources: dict[str, tuple[str, str | None]] = {}
    for node in guard.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            own = node.module == "specinit"
            sources[alias.asname or alias.name] = (
                (f"specinit.{alias.name}", None) if own else (node.module, alias.name)
            )
    return sources


_moved.install()

_SOURCES = _sources()

_LAZY = {
    "SwimClassifier": ("specinit.estimators", "SwimClassifier"),
    "SwimRegressor": ("specinit.estimators", "SwimRegressor"),
    "estimators": ("specinit.estimators", None),
    "lab": ("specinit.lab", None),
}


def __getattr__(name: str) -> Any:
    """Every public name loads on first use (``import specinit`` imports no torch); the parts
    that need optional dependencies (scikit-learn, the lab) too; old module names
    (``specinit.curvature``) still resolve, with a DeprecationWarning.
    """
    if name in _SOURCES:
        module_name, attr = _SOURCES[name]
        module = importlib.import_module(module_name)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name)
        return module if attr is None else getattr(module, attr)
    if f"specinit.{name}" in _moved.MOVED:
        return _moved.moved_module(f"specinit.{name}")
    raise AttributeError(f"module 'specinit' has no attribute {name!r}")


__all__ = [
    "__version__",
    # layers
    "nn",
    "data",
    "training",
    "initializers",
    "measure",
    "doctor",
    "lab",
    "estimators",
    "targeting",
    # building blocks
    "activations",
    "models",
    "ShallowNTKNet",
    # training
    "train",
    "tune_lr",
    "accuracy",
    "evaluate_loss",
    "LrSearch",
    "TrainResult",
    "TrainState",
    "TrainingDiverged",
    # initializers
    "init_",
    "init_plan",
    "InitPlan",
    "InitWarning",
    "register_layer_type",
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
    "SwimRegressor",
    "SwimClassifier",
    # spectrum-targeted starts
    "spectral_target_",
    "SpectralTarget",
    "TargetFit",
    # measurements
    "spectrum_1d",
    "Spectrum",
    "energy_above",
    "spectral_centroid",
    "lowest_fitting_frequency",
    "sample_step",
    "plot_spectrum",
    "FrequencyTracker",
    "layer_spectra",
    "propagation",
    "bandwidth",
    "input_gradients",
    "gradient_bandwidth",
    "GradientBandwidth",
    "directional_spectrum",
    "DirectionalSpectrum",
    "curvature",
    "HessianOperator",
    "GGNOperator",
    "EmpiricalFisherOperator",
    "hessian_diagonal",
    "hessian_trace",
    "hessian_eigs",
    "hessian_density",
    "hessian_trace_per_layer",
    "hessian_eigs_per_layer",
    "hessian_density_per_layer",
    "curvature_summary",
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
    "hyperplanes",
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
    # the doctor
    "diagnose",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
