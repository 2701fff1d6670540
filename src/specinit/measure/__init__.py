"""Measurements: what a start does to a network.

* :mod:`.spectrum` — Fourier spectra of 1D functions and per-frequency convergence in training;
* :mod:`.layer_spectra` — the spectrum of every hidden layer (features and readouts);
* :mod:`.propagation` — per-layer signal statistics and gradient norms;
* :mod:`.bandwidth` — bandwidth of image models (input gradients, directional spectra);
* :mod:`.curvature` — Hessian trace, top eigenvalues and spectral density;
* :mod:`.kernels` — empirical and infinite-width NTKs and the kernel regime;
* :mod:`.hyperplanes` — shallow nets as hyperplanes: clustering and datapoint pinning.
"""

from specinit.measure import bandwidth, curvature, hyperplanes, kernels, layer_spectra, propagation, spectrum

__all__ = ["spectrum", "layer_spectra", "propagation", "bandwidth", "curvature", "kernels", "hyperplanes"]
