"""specinit.measure.kernels.spectrum: kernel eigenpairs, Fourier projection, spectral weight."""

import math

import numpy as np
import pytest
import torch

from specinit._core.fourier import power_fractions
from specinit.measure import kernels


def test_ntk_eig_sorts_descending_and_reconstructs():
    a = torch.randn(9, 9, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    k = a @ a.T
    eig = kernels.ntk_eig(k)
    assert bool((eig.eigenvalues[:-1] >= eig.eigenvalues[1:]).all())
    v = eig.eigenvectors
    torch.testing.assert_close(v @ torch.diag(eig.eigenvalues) @ v.T, k, rtol=1e-10, atol=1e-10)
    top = kernels.ntk_eig(k, k=3)
    assert top.eigenvalues.shape == (3,) and top.eigenvectors.shape == (9, 3)
    with pytest.raises(ValueError, match="not symmetric"):
        kernels.ntk_eig(a)
    with pytest.raises(ValueError, match="square"):
        kernels.ntk_eig(torch.ones(3, 4))


def test_fourier_projection_puts_a_cosine_at_its_frequency_1d_and_2d():
    n = 64
    x = torch.arange(n, dtype=torch.float64) * 2.0 / n - 1.0  # grid of [-1, 1)
    vectors = torch.stack(
        [torch.cos(2 * math.pi * 3 * x), torch.sin(2 * math.pi * 10 * x + 0.3), torch.ones(n)], 1
    )
    proj = kernels.fourier_projection(vectors, lo=-1.0, hi=1.0)
    np.testing.assert_allclose(proj.energy.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proj.dominant, [3.0, 10.0, 0.0])
    np.testing.assert_allclose(proj.energy.max(1), 1.0, rtol=1e-12)
    # 2D: cos(2π (3 x + 4 y)) has radial frequency 5 on [0, 1)²
    g = torch.arange(32, dtype=torch.float64) / 32
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    plane = torch.cos(2 * math.pi * (3 * xx + 4 * yy)).reshape(-1)
    proj2 = kernels.fourier_projection(plane, shape=(32, 32))
    assert float(proj2.dominant[0]) == 5.0
    assert proj2.energy[0, 5] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="does not hold"):
        kernels.fourier_projection(plane, shape=(31, 32))
    with pytest.raises(ValueError, match="all-zero"):
        kernels.fourier_projection(torch.zeros(8))


def test_spectral_weight_reads_a_circulant_kernels_eigenvalues():
    n = 32
    lam = 1.0 / (1.0 + torch.arange(n // 2 + 1, dtype=torch.float64) ** 2)
    full = torch.cat([lam, lam[1 : n - n // 2].flip(0)])  # λ(k) = λ(n − k)
    row = torch.fft.ifft(full).real  # first row of the circulant with these eigenvalues
    k = torch.stack([row.roll(j) for j in range(n)])
    sw = kernels.spectral_weight(k, lo=0.0, hi=2.0)
    np.testing.assert_allclose(sw.power, lam.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sw.weight, 1.0 / lam.numpy(), rtol=1e-10)
    np.testing.assert_allclose(sw.freqs, np.arange(n // 2 + 1) / 2.0)
    assert sw.growth(4) == pytest.approx(float(lam[1] / lam[4]), rel=1e-10)  # (1 + 16)/(1 + 1)
    with pytest.raises(ValueError, match="k must be below 17"):
        sw.growth(17)


def test_spectral_weight_floors_round_off_power():
    sw = kernels.SpectralWeight.from_power([0.0, 1.0, 2.0], [2.0, 1.0, -1e-30])
    np.testing.assert_array_equal(sw.weight[:2], [0.5, 1.0])
    assert sw.weight[2] == 1.0 / (3 * np.finfo(np.float64).eps * 2.0)
    with pytest.raises(ValueError, match="one length"):
        kernels.SpectralWeight.from_power([0.0, 1.0], [1.0])


@pytest.mark.parametrize("n", [31, 32])
def test_fourier_projection_is_the_packages_one_sided_power(n):
    v = torch.randn(n, 3, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    proj = kernels.fourier_projection(v, lo=-1.0, hi=2.0)
    np.testing.assert_array_equal(proj.energy, power_fractions(v.numpy()))
    np.testing.assert_allclose(proj.freqs, np.arange(n // 2 + 1) / 3.0, rtol=1e-15)
    # by hand: c_k |V_k|² / (n Σ v²), c_k = 2 except at DC (and Nyquist for even n)
    power = np.abs(np.fft.rfft(v.numpy(), axis=0)) ** 2
    power[1 : (n + 1) // 2] *= 2.0
    np.testing.assert_allclose(proj.energy, (power / (n * (v.numpy() ** 2).sum(0))).T, rtol=1e-12)
