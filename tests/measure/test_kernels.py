"""specinit.measure.kernels as a package: its exports, docstring examples and compact records.

The algorithms are tested per module: test_kernel_empirical.py (ntk), test_kernel_spectrum.py
(ntk_eig, fourier_projection, spectral_weight), test_kernel_dynamics.py (kernel_regression,
linearized_flow, rates) and test_kernel_infinite.py (shallow_ntk, ShallowNTKNet).
"""

import doctest

import numpy as np
import torch

import specinit
from specinit.measure import kernels
from specinit.measure.kernels import dynamics, empirical, infinite, spectrum


def test_exports_and_docstring_examples():
    for module in (kernels, empirical, spectrum, dynamics, infinite):
        assert doctest.testmod(module).failed == 0, module.__name__
    assert len(set(kernels.__all__)) == len(kernels.__all__)
    assert all(hasattr(kernels, name) for name in kernels.__all__)
    assert kernels.ShallowNTKNet is specinit.nn.models.ShallowNTKNet
    for name in (
        "ntk",
        "ntk_eig",
        "fourier_projection",
        "spectral_weight",
        "kernel_regression",
        "linearized_flow",
        "efolding_rate",
        "predicted_decay_rate",
        "shallow_ntk",
    ):
        assert getattr(specinit, name) is getattr(kernels, name), name


def test_records_print_compactly():
    n = 256
    k = torch.eye(n, dtype=torch.float64) + 0.1
    eig = kernels.ntk_eig(k)
    steps = np.arange(0, 1000, 10)
    records = [
        eig,
        kernels.fourier_projection(eig.eigenvectors),
        kernels.spectral_weight(k),
        kernels.linearized_flow(k, torch.ones(n, dtype=torch.float64), torch.arange(50.0), lr=0.1),
        kernels.shallow_ntk(torch.linspace(-1, 1, 100), n_samples=64),
        kernels.compare_rates(
            steps, np.exp(-np.outer(steps, np.linspace(0.001, 0.1, 64))), np.linspace(1.0, 2.0, 64), 0.5, n
        ),
    ]
    for record in records:
        text = repr(record)
        assert len(text) < 250 and text.startswith(type(record).__name__ + "("), text
        assert "<array" in text or "<tensor" in text, text
    assert "eigenvectors=<tensor (256, 256) float64>" in repr(eig)
