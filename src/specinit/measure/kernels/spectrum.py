"""The spectrum of a kernel matrix: eigenpairs, their frequencies, and the kernel's power per frequency.

A symmetric kernel matrix ``K = V diag(λ) Vᵀ`` on ``n`` points sets the rates of linearized
training (:mod:`.dynamics`): the residual's component along eigenvector ``v_k`` decays like
``e^{−η λ_k t/n}`` (Jacot et al. 2018, arXiv 1806.07572).  On a uniform grid
``x_j = lo + j (hi − lo)/n`` the unit Fourier modes ``e_k[j] = e^{2πi jk/n}/√n`` carry

    λ(k) = e_kᴴ K e_k,

the kernel's power at frequency ``k/(hi − lo)``.  For a translation-invariant (circulant) kernel
``λ(k)`` are exactly its eigenvalues and the minimum-RKHS-norm penalty of ``f = Σ_k f̂_k e_k``
is ``Σ_k |f̂_k|²/λ(k)``: ``W(k) = 1/λ(k)`` is the frequency weight of the kernel regime's
spectral seminorm (arXiv 2503.10587), the spectral bias of the kernel (arXiv 1906.00425).

* :func:`ntk_eig` — ``K = V diag(λ) Vᵀ``, ``λ`` descending (:class:`KernelEigen`);
* :func:`fourier_projection` — how each eigenvector's energy ``Σ v²`` spreads over
  frequencies (Parseval; :class:`FourierProjection`);
* :func:`spectral_weight` — ``λ(k)`` and ``W(k) = 1/λ(k)`` (:class:`SpectralWeight`).

>>> import torch
>>> k = torch.eye(8, dtype=torch.float64) * 2.0  # white kernel: the same power at every frequency
>>> spectral_weight(k).power.round(12).tolist()
[2.0, 2.0, 2.0, 2.0, 2.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from specinit._core.checks import as_tensor, check_int
from specinit._core.fourier import check_interval as _check_interval
from specinit._core.fourier import power_fractions
from specinit._core.records import compact_repr

__all__ = [
    "KernelEigen",
    "ntk_eig",
    "FourierProjection",
    "fourier_projection",
    "SpectralWeight",
    "spectral_weight",
]


def _square_kernel(kernel: Any, name: str = "kernel") -> Tensor:
    """``kernel`` as a symmetric float64 matrix ``(K + Kᵀ)/2``; refuses a non-square or clearly
    non-symmetric one (``max |K − Kᵀ| > 1e-4 · max |K|``).
    """
    k = as_tensor(kernel, name)
    if k.dim() != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"{name} must be a square matrix (n, n), got shape {tuple(k.shape)}")
    k = k.to(torch.float64)
    scale = float(k.abs().max())
    if float((k - k.T).abs().max()) > 1e-4 * max(scale, 1e-300):
        raise ValueError(f"{name} is not symmetric (max |K − Kᵀ| = {float((k - k.T).abs().max()):.3g})")
    return 0.5 * (k + k.T)


@dataclass(frozen=True)
class KernelEigen:
    """Eigenpairs of a kernel matrix: ``eigenvalues`` descending ``(k,)``, ``eigenvectors``
    ``(n, k)`` unit-norm columns in the same order (float64 tensors: exact linear algebra on
    the kernel matrix).
    """

    eigenvalues: Tensor
    eigenvectors: Tensor

    __repr__ = compact_repr


def ntk_eig(kernel: Any, k: int | None = None) -> KernelEigen:
    """Eigendecomposition ``K = V diag(λ) Vᵀ`` of a symmetric kernel matrix, ``λ`` descending.

    Computed in float64 on ``(K + Kᵀ)/2`` (a float32 NTK is symmetric only to rounding); ``k``
    keeps the leading ``k`` pairs.  A non-square or clearly non-symmetric matrix is refused.
    The eigenvalues of the NTK set the per-mode rates of linearized training (Jacot et al. 2018,
    arXiv 1806.07572).
    """
    sym = _square_kernel(kernel)
    values, vectors = torch.linalg.eigh(sym)
    keep = sym.shape[0] if k is None else min(check_int(k, "k"), sym.shape[0])
    return KernelEigen(values.flip(0)[:keep], vectors.flip(1)[:, :keep])


@dataclass(frozen=True)
class FourierProjection:
    """Energy of vectors on a uniform grid per frequency.

    ``freqs`` ``(n_freqs,)`` in cycles per unit length; ``energy`` ``(n_vectors, n_freqs)``,
    each row the fraction of that vector's energy ``Σ v²`` at each frequency (rows sum to 1).
    float64 NumPy.
    """

    freqs: np.ndarray
    energy: np.ndarray

    __repr__ = compact_repr

    @property
    def dominant(self) -> np.ndarray:
        """Per vector, the frequency holding the most energy."""
        return self.freqs[np.argmax(self.energy, axis=1)]


def fourier_projection(
    vectors: Any, *, lo: float = 0.0, hi: float = 1.0, shape: tuple[int, int] | None = None
) -> FourierProjection:
    """How each vector's energy splits over frequencies on a uniform grid of ``[lo, hi)``.

    1D (``shape=None``): a column ``v`` of length ``n`` sampled at ``x_j = lo + j (hi − lo)/n``
    has DFT ``V_k``; its energy at frequency ``k/(hi − lo)`` is ``c_k |V_k|² / (n Σ v²)`` with
    ``c_k = 2`` for the bins paired with ``−k`` (``c_0 = 1``, and ``1`` at Nyquist for even
    ``n``), so by Parseval the fractions sum to 1.  2D (``shape=(n1, n2)``): ``v`` is the
    row-major flattening of a grid on ``[lo, hi)²``; the 2D DFT energy is summed over rings of
    radius ``round(|k|)`` in units of ``1/(hi − lo)``.  ``vectors`` is ``(n,)`` or ``(n, m)``
    (e.g. :attr:`KernelEigen.eigenvectors`).  The 1D fractions are
    :func:`specinit._core.fourier.power_fractions`, the package's one-sided power.  How an
    NTK's eigenvectors order by frequency is its spectral bias (arXiv 1906.00425, 2503.10587).

    >>> import math, torch
    >>> x = torch.arange(32) / 32
    >>> float(fourier_projection(torch.cos(2 * math.pi * 5 * x)).dominant[0])
    5.0
    """
    v = as_tensor(vectors, "vectors").to(torch.float64).detach().cpu().numpy()
    v = v[:, None] if v.ndim == 1 else v
    if v.ndim != 2:
        raise ValueError(f"vectors must have shape (n,) or (n, m), got {v.shape}")
    lo, hi, n = _check_interval(lo, hi, v.shape[0])
    length = hi - lo
    total = n * (v**2).sum(axis=0)
    if np.any(total == 0):
        raise ValueError("vectors contains an all-zero vector; it has no energy to project")
    if shape is None:
        return FourierProjection(np.fft.rfftfreq(n, d=length / n), power_fractions(v))
    if len(shape) != 2 or int(shape[0]) * int(shape[1]) != n:
        raise ValueError(f"shape {tuple(shape)} does not hold {n} grid points")
    n1, n2 = int(shape[0]), int(shape[1])
    grid = v.T.reshape(-1, n1, n2)
    power = (np.abs(np.fft.fft2(grid)) ** 2).reshape(grid.shape[0], -1)
    k1, k2 = np.meshgrid(np.fft.fftfreq(n1, 1.0 / n1), np.fft.fftfreq(n2, 1.0 / n2), indexing="ij")
    ring = np.rint(np.hypot(k1, k2)).astype(int).reshape(-1)
    energy = np.stack([np.bincount(ring, weights=p) for p in power]) / total[:, None]
    return FourierProjection(np.arange(energy.shape[1]) / length, energy)


@dataclass(frozen=True)
class SpectralWeight:
    """Power of a kernel at each frequency and the kernel-regime penalty weight ``1/power``.

    ``freqs`` (cycles per unit length), ``power`` ``λ(k)`` and ``weight`` ``1/λ(k)``, all
    ``(n//2 + 1,)`` float64 numpy arrays.
    """

    freqs: np.ndarray
    power: np.ndarray
    weight: np.ndarray

    __repr__ = compact_repr

    @classmethod
    def from_power(cls, freqs: Any, power: Any) -> SpectralWeight:
        """``weight = 1/power``; powers below ``m·ε·max λ`` (round-off, ``m`` frequencies) are
        raised to that floor before inverting.
        """
        freqs, power = np.asarray(freqs, dtype=np.float64), np.asarray(power, dtype=np.float64)
        if freqs.ndim != 1 or power.shape != freqs.shape:
            raise ValueError(
                f"freqs and power must be 1-D of one length, got {freqs.shape} and {power.shape}"
            )
        floor = power.size * np.finfo(np.float64).eps * max(power.max(), 0.0)
        return cls(freqs, power, 1.0 / np.maximum(power, max(floor, np.finfo(np.float64).tiny)))

    def growth(self, k: int) -> float:
        """``W(k)/W(1) = λ(1)/λ(k)``: how much more the kernel regime penalizes frequency bin
        ``k`` than the lowest non-constant one.
        """
        k = check_int(k, "k")
        if k >= self.weight.size:
            raise ValueError(f"k must be below {self.weight.size} (the number of frequencies), got {k}")
        return float(self.weight[k] / self.weight[1])


def spectral_weight(kernel: Any, *, lo: float = 0.0, hi: float = 1.0) -> SpectralWeight:
    """``λ(k) = e_kᴴ K e_k`` for the unit Fourier modes ``e_k[j] = e^{2πi jk/n}/√n`` of a grid.

    ``K`` is a kernel matrix on the uniform grid ``x_j = lo + j (hi − lo)/n``.  For a
    translation-invariant (circulant) kernel, e.g. a rotation-invariant kernel on points of a
    circle, ``λ(k)`` are exactly its eigenvalues and the minimum-RKHS-norm penalty of
    ``f = Σ_k f̂_k e_k`` is ``Σ_k |f̂_k|² / λ(k)``: ``weight = 1/λ(k)`` is the frequency weight
    of the kernel regime's spectral seminorm (arXiv 2503.10587).  For other kernels ``λ(k)`` is
    the Rayleigh quotient of mode ``k`` and ``1/λ(k)`` a lower bound on its penalty (Jensen).
    Powers at round-off level are floored before inverting (:meth:`SpectralWeight.from_power`).
    """
    k = _square_kernel(kernel).cpu().numpy()
    lo, hi, n = _check_interval(lo, hi, k.shape[0])
    modes = np.exp(2j * np.pi * np.outer(np.arange(n), np.arange(n // 2 + 1)) / n) / math.sqrt(n)
    power = np.real(np.sum(modes.conj() * (k @ modes), axis=0))
    return SpectralWeight.from_power(np.fft.rfftfreq(n, d=(hi - lo) / n), power)
