"""Least-squares readouts: the last layer of a sampled network, solved in closed form.

:func:`fit_readout` solves the ridge problem with an unpenalized bias

    min_{W, b} ‖Φ Wᵀ + 1 bᵀ − Y‖² + λ ‖W‖²,   λ = max(l2, c·ε·√(M/N)) · tr(Φ_cᵀ Φ_c) / M,

through the normal equations of the centred problem: with feature means ``μ`` and target means
``ȳ``, ``Φ_c = Φ − 1μᵀ`` and ``Y_c = Y − 1ȳᵀ``, ``Wᵀ = (Φ_cᵀΦ_c + λI)⁻¹ Φ_cᵀ Y_c`` and
``b = ȳ − W μ``.  The ridge is relative (``tr/M`` is the mean eigenvalue of the centred Gram
matrix), so ``l2`` does not depend on the number of samples or the feature scale.  It never
drops below the rounding noise of the Gram products: computed in a dtype with machine epsilon
``ε``, their error has spectral norm about ``2ε√(M/N)`` times the mean eigenvalue, and a smaller
ridge lets the solve amplify it (float32 digits at width 8192 > N fall from 99% to 96% test
accuracy at ``l2 = 1e-6`` without the floor); ``c = ROUNDING_FLOOR``.  In float64 the floor is
negligible.

Memory and precision: ``Φ`` may arrive in row chunks, so ``N`` is unbounded; only the ``M × M``
Gram matrix is held, accumulated in float64 (its upper block triangle: the products of column
blocks below the diagonal are skipped, ~45% of the work at ``M ≥ 2048``).  Each chunk's product
``ΦᵀΦ`` runs in the chunk's own dtype (float32 matmuls are twice as fast), after subtracting the
first chunk's column means so the later centring does not cancel large numbers.  The solve is a
float64 Cholesky factorization, with an eigendecomposition as fallback when rounding makes the
regularized matrix indefinite.  The plain ``lstsq`` of the SWIM reference (arXiv 2306.16830) interpolates
when the width is near the number of samples and loses test accuracy there (digits, width 2048:
75%); the relative ridge does not (see tests/test_swim.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from specinit._core.checks import as_tensor, check_positive, check_same_length

__all__ = ["DEFAULT_L2", "ROUNDING_FLOOR", "NormalEquations", "fit_readout", "calibrate_logits"]

DEFAULT_L2 = 1e-6
"""Default relative ridge ``l2`` (λ = l2 · mean eigenvalue of the centred Gram matrix).  Measured
(one tanh layer, float64 features, so the rounding floor is inactive): digits at width 2048
≈ 1.5 n_samples 99.3% test accuracy (97.8% at 1e-8, the reference's 75%), MNIST width 2048
97.0% (the same as at 1e-7 and 1e-8; 96.8% at 1e-5).  Smooth regression to high precision
wants float64 and a smaller ``l2``: sin(3x) on 400 points, width 128, max error 2.4e-3 at 1e-6,
9e-6 at 1e-10."""
ROUNDING_FLOOR = 30.0
"""``c`` of the rounding floor ``c·ε·√(M/N)`` on ``l2`` (see the module docstring)."""

_BLOCK = 256  # smallest column block of the Gram product; smaller blocks make slower matmuls

FeatureChunks = Iterable[tuple[Tensor | np.ndarray, Tensor | np.ndarray]]


class NormalEquations:
    """Running sums of the centred ridge normal equations, in float64 (see the module docstring):
    :meth:`add` row chunks of features and targets, then :meth:`solve` once.
    """

    def __init__(self) -> None:
        self.n = 0
        self.eps = 0.0  # machine epsilon of the coarsest dtype the Gram products ran in
        self.shift: Tensor | None = None  # provisional feature centre (first chunk's means)
        self.y_shift: Tensor | None = None

    def add(self, phi: Tensor, y: Tensor, *, owned: bool = False) -> None:
        """Add a chunk; ``owned``: ``phi`` is a temporary that may be overwritten."""
        if self.shift is None or self.y_shift is None:  # the first chunk (they are set together)
            self.shift, self.y_shift = phi.mean(0), y.double().mean(0)
            m, k = phi.shape[1], y.shape[1]
            self.gram = torch.zeros(m, m, dtype=torch.float64, device=phi.device)
            self.cross = torch.zeros(m, k, dtype=torch.float64, device=phi.device)
            self.sum_p = torch.zeros(m, dtype=torch.float64, device=phi.device)
            self.sum_t = torch.zeros(k, dtype=torch.float64, device=phi.device)
        elif phi.shape[1] != self.gram.shape[0] or y.shape[1] != self.cross.shape[1]:
            raise ValueError(
                f"chunk shapes {tuple(phi.shape)}, {tuple(y.shape)} do not match the first chunk's "
                f"{self.gram.shape[0]} features and {self.cross.shape[1]} targets"
            )
        p = phi.sub_(self.shift) if owned else phi - self.shift
        self.eps = max(self.eps, torch.finfo(p.dtype).eps)
        t = y.double() - self.y_shift
        self.n += phi.shape[0]
        self.sum_p += p.sum(0).double()  # p is centred: a float32 sum loses nothing that matters
        self.sum_t += t.sum(0)
        block = max(_BLOCK, -(-p.shape[1] // 16))
        for c in range(0, p.shape[1], block):  # upper block triangle: ~0.55 of the full product
            self.gram[c : c + block, c:] += (p[:, c : c + block].T @ p[:, c:]).double()
        self.cross += (p.T @ t.to(p.dtype)).double()

    def solve(self, l2: float) -> tuple[Tensor, Tensor]:
        """``(W, b)`` in float64, ``W`` of shape ``(k, M)`` as in ``nn.Linear``.

        Works in place on the accumulated Gram matrix (call it once): only its upper triangle
        is valid and only that is read (Cholesky and ``eigh`` with ``upper``/``UPLO="U"``), so the
        solve needs one extra ``M × M`` matrix, the factor.
        """
        if self.shift is None or self.y_shift is None:
            raise ValueError("no feature chunks were given")
        mean_p, mean_t = self.sum_p / self.n, self.sum_t / self.n
        gram = self.gram.addr_(mean_p, mean_p, alpha=-self.n)  # centred: Φ_cᵀΦ_c
        cross = self.cross.addr_(mean_p, mean_t, alpha=-self.n)
        m = gram.shape[0]
        scale = float(gram.diagonal().sum()) / m
        floor = ROUNDING_FLOOR * self.eps * math.sqrt(m / self.n)
        lam = max(l2, floor) * scale if scale > 0 else 1.0  # constant features: W = 0, b = ȳ
        gram.diagonal().add_(lam)
        factor, info = torch.linalg.cholesky_ex(gram, upper=True)
        if int(info) == 0:
            beta = torch.cholesky_solve(cross, factor, upper=True)
        else:  # rounding made G + λI indefinite: solve in its eigenbasis, eigenvalues clipped at λ
            del factor
            evals, evecs = torch.linalg.eigh(gram, UPLO="U")
            beta = evecs @ ((evecs.T @ cross) / evals.clamp_min(lam)[:, None])
        bias = (self.y_shift + mean_t) - (self.shift.double() + mean_p) @ beta
        return beta.T.contiguous(), bias


def fit_readout(
    features: Tensor | np.ndarray | FeatureChunks,
    targets: Tensor | np.ndarray | None = None,
    *,
    l2: float = DEFAULT_L2,
    dtype: torch.dtype | None = None,
) -> tuple[Tensor, Tensor]:
    """Ridge least-squares readout ``(weight, bias)`` with ``Φ weightᵀ + bias ≈ Y``.

    ``features`` is either the ``(N, M)`` feature matrix ``Φ`` with ``targets`` ``(N,)`` or
    ``(N, k)``, or an iterable of ``(Φ_chunk, Y_chunk)`` row chunks (then ``targets`` is None), so
    ``N`` can exceed memory.  Returns ``weight`` ``(k, M)`` and ``bias`` ``(k,)`` (``k = 1`` for
    1-D targets) in ``dtype`` (default: the features' dtype), ready for an ``nn.Linear``.  The
    bias is not penalized; ``λ = max(l2, rounding floor) · tr(Φ_cᵀΦ_c)/M`` (see the module
    docstring), so ``l2 = 0`` is the least-squares fit regularized only at rounding level.
    Classifiers pass one-hot targets.

    >>> phi = torch.linspace(0, 1, 50, dtype=torch.float64)[:, None]
    >>> w, b = fit_readout(phi, 3 * phi[:, 0] + 1, l2=1e-12)
    >>> round(float(w), 6), round(float(b), 6)
    (3.0, 1.0)
    """
    check_positive(l2, "l2", allow_zero=True)
    if isinstance(features, (Tensor, np.ndarray)):
        if targets is None:
            raise ValueError("fit_readout(features, targets): targets are missing")
        chunks: FeatureChunks = [(features, targets)]
    elif targets is not None:
        raise ValueError("pass targets inside the (features, targets) chunks, not as targets=")
    else:
        chunks = features
    acc = NormalEquations()
    out_dtype = dtype
    for index, (phi, y) in enumerate(chunks):
        phi = as_tensor(phi, f"features (chunk {index})")
        y = as_tensor(y, f"targets (chunk {index})")
        if not phi.is_floating_point():
            phi = phi.to(torch.get_default_dtype())
        y = y[:, None] if y.dim() == 1 else y
        if phi.dim() != 2 or y.dim() != 2:
            raise ValueError(
                f"features must be (N, M) and targets (N,) or (N, k), got {tuple(phi.shape)} "
                f"and {tuple(y.shape)}"
            )
        check_same_length(phi, y, "features", "targets")
        out_dtype = out_dtype or phi.dtype
        acc.add(phi, y)
    weight, bias = acc.solve(l2)
    return weight.to(out_dtype), bias.to(out_dtype)


def calibrate_logits(model: nn.Sequential, x: Tensor, y: Tensor, factors: Sequence[float]) -> float:
    """Multiply the last ``Linear`` (weight and bias) by the ``T`` in ``factors`` that minimizes the
    training cross-entropy of ``T · model(x)``, in place; return ``T``.  ``argmax`` is unchanged.

    A least-squares readout regresses one-hot targets, so its outputs are not logits on a
    cross-entropy scale; this picks the scale before gradient training continues from it.
    """
    readout = model[-1]
    if not isinstance(readout, nn.Linear):
        raise TypeError(f"the model must end in nn.Linear, got {type(readout).__name__}")
    with torch.no_grad():
        logits = torch.cat([model(x[s : s + 8192]) for s in range(0, len(x), 8192)])
        losses = {float(t): float(F.cross_entropy(t * logits, y)) for t in factors}
        best = min(losses, key=losses.__getitem__)
        readout.weight.mul_(best)
        readout.bias.mul_(best)
    return best
