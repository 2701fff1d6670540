"""The extreme eigenpairs of a symmetric operator from matrix-vector products.

For ``A = Σᵢ λᵢ uᵢ uᵢᵀ``, Lanczos builds an orthonormal basis ``V_j`` of the Krylov space
``span{v, A v, …, A^{j−1} v}`` in which ``T_j = V_jᵀ A V_j`` is tridiagonal; the extreme
eigenvalues of ``T_j`` (Ritz values) converge to those of ``A`` after few steps.  ARPACK's
implicitly restarted Lanczos (Lehoucq, Sorensen & Yang 1998, through ``scipy.sparse.linalg.eigsh``)
keeps the basis orthogonal and small.  Power iteration with deflation (PyHessian, Yao et al.
2020, arXiv 1912.07145, Alg. 2) finds one pair at a time,

    v ← P A P v / ‖P A P v‖,   P = I − Σ_{found} uᵢ uᵢᵀ,

until ``‖A v − λ v‖ ≤ tol |λ|``, ``λ = vᵀ A v``: the largest **magnitude** eigenvalues.
On a model the top eigenvalue of the loss Hessian is its sharpness; gradient descent with step
``η`` is unstable once ``λ_max > 2/η``.

>>> import torch
>>> A = torch.diag(torch.tensor([-4.0, 1.0, 2.0, 3.0], dtype=torch.float64))
>>> hessian_eigs(A, k=2, generator=0).eigenvalues.round(8).tolist()
[3.0, 2.0]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import Tensor, nn

from specinit._core.checks import check_int, check_positive
from specinit._core.deprecation import deprecated_alias, renamed_kwargs
from specinit._core.placement import full_precision
from specinit._core.records import compact_repr
from specinit._core.rng import GeneratorLike, derive_seed
from specinit.measure.curvature.operators import (
    Batch,
    Operator,
    Params,
    Target,
    _deprecated_per_layer,
    _frozen_array,
    _operator_for,
    _per_layer,
)
from specinit.training.losses import Loss

__all__ = ["EIG_METHODS", "WHICH", "Eigenpairs", "hessian_eigs", "hessian_eigs_per_layer"]

#: Eigenvalue methods of :func:`hessian_eigs`.
EIG_METHODS = ("lanczos", "power")
#: Which end of the spectrum :func:`hessian_eigs` returns: largest algebraic / largest magnitude.
WHICH = ("LA", "LM")


@dataclass(frozen=True)
class Eigenpairs:
    """Outcome of :func:`hessian_eigs`: ``eigenvalues`` (``k``, float64 NumPy, ordered by
    ``which`` — ``"LA"`` descending, ``"LM"`` by descending magnitude), unit ``eigenvectors`` as
    columns of a ``(size, k)`` tensor in the operator's dtype and device (``None`` unless
    requested), ``num_matvecs`` products used, and whether every pair met the tolerance
    (``converged``; Lanczos raises instead when ARPACK does not converge).  ``n_matvecs`` is a
    deprecated alias.
    """

    eigenvalues: np.ndarray
    eigenvectors: Tensor | None
    num_matvecs: int
    method: str
    which: str
    converged: bool
    size: int
    seed: int

    __repr__ = compact_repr
    n_matvecs = deprecated_alias("n_matvecs", "num_matvecs")


def _solver(
    k: int, method: str, which: str, tol: float | None, max_iter: int, return_eigenvectors: bool
) -> Callable[[Operator, int], Eigenpairs]:
    """The checked eigensolver ``(operator, seed) → Eigenpairs`` for these settings."""
    if method not in EIG_METHODS:
        raise ValueError(f"unknown eigenvalue method {method!r}; choose one of {', '.join(EIG_METHODS)}")
    if which not in WHICH:
        raise ValueError(f"which must be one of {', '.join(WHICH)}, got {which!r}")
    if method == "power" and which != "LM":
        raise ValueError(
            "power iteration finds the largest-magnitude eigenvalues: use which='LM' "
            "(or method='lanczos' for which='LA')"
        )
    k = check_int(k, "k")
    max_iter = check_int(max_iter, "max_iter")
    if tol is not None:
        check_positive(tol, "tol")
    if not isinstance(return_eigenvectors, bool):
        raise TypeError(f"return_eigenvectors must be a bool, got {return_eigenvectors!r}")

    def run(op: Operator, seed: int) -> Eigenpairs:
        if k >= op.size:
            raise ValueError(f"k={k} must be smaller than the number of parameters ({op.size})")
        rtol = math.sqrt(torch.finfo(op.dtype).eps) if tol is None else float(tol)
        solve = _lanczos_eigs if method == "lanczos" else _power_eigs
        return solve(op, k, which, rtol, max_iter, return_eigenvectors, seed)

    return run


@overload
def hessian_eigs(
    target: Target,
    loss: Loss | None = ...,
    data: Batch | Iterable[Batch] | None = ...,
    *,
    k: int = ...,
    method: str = ...,
    which: str = ...,
    tol: float | None = ...,
    max_iter: int = ...,
    return_eigenvectors: bool = ...,
    generator: GeneratorLike = ...,
    params: Params = ...,
    train_mode: bool = ...,
    per_layer: Literal[False] = ...,
) -> Eigenpairs: ...


@overload
def hessian_eigs(
    target: Target,
    loss: Loss | None = ...,
    data: Batch | Iterable[Batch] | None = ...,
    *,
    k: int = ...,
    method: str = ...,
    which: str = ...,
    tol: float | None = ...,
    max_iter: int = ...,
    return_eigenvectors: bool = ...,
    generator: GeneratorLike = ...,
    params: Params = ...,
    train_mode: bool = ...,
    per_layer: Literal[True],
) -> dict[str, Eigenpairs]: ...


@full_precision
@renamed_kwargs(seed="generator")
def hessian_eigs(
    target: Target,
    loss: Loss | None = None,
    data: Batch | Iterable[Batch] | None = None,
    *,
    k: int = 1,
    method: str = "lanczos",
    which: str = "LA",
    tol: float | None = None,
    max_iter: int = 1000,
    return_eigenvectors: bool = False,
    generator: GeneratorLike = 0,
    params: Params = None,
    train_mode: bool = False,
    per_layer: bool = False,
) -> Eigenpairs | dict[str, Eigenpairs]:
    """Top-``k`` eigenvalues (and unit eigenvectors) of a symmetric operator.

    ``"lanczos"``: implicitly restarted Lanczos (ARPACK through ``scipy.sparse.linalg.eigsh``,
    which keeps the Krylov basis orthogonal) for the ``k`` largest algebraic (``which="LA"``,
    the sharpest directions, PyHessian's top eigenvalues, arXiv 1912.07145) or largest
    magnitude (``"LM"``) eigenvalues; start vector from ``generator``; ``max_iter`` restarts.
    ``"power"``: power iteration with deflation (arXiv 1912.07145, Alg. 2): each pair in turn by
    ``v ← P A P v / ‖·‖`` with ``P`` projecting out the pairs already found, until
    ``‖A v − λ v‖ ≤ tol |λ|`` or ``max_iter`` products; it finds the largest **magnitude**
    eigenvalues, so only ``which="LM"`` applies.

    ``tol``: relative tolerance, default ``√eps`` of the operator's dtype.  ``k`` must be below
    the operator's size.  ``per_layer`` is deprecated (use :func:`hessian_eigs_per_layer`);
    ``seed=`` is a deprecated alias of ``generator=``.  Other arguments as in
    :func:`hessian_trace`.
    """
    run = _solver(k, method, which, tol, max_iter, return_eigenvectors)
    if _deprecated_per_layer(per_layer, "hessian_eigs"):  # hessian_eigs_per_layer's result
        seed = derive_seed(generator)
        return _per_layer(target, loss, data, params, train_mode, seed, lambda op: run(op, seed))
    seed = derive_seed(generator)
    return run(_operator_for(target, loss, data, params, train_mode, seed), seed)


@full_precision
def hessian_eigs_per_layer(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    k: int = 1,
    method: str = "lanczos",
    which: str = "LA",
    tol: float | None = None,
    max_iter: int = 1000,
    return_eigenvectors: bool = False,
    generator: GeneratorLike = 0,
    params: Params = None,
    train_mode: bool = False,
) -> dict[str, Eigenpairs]:
    """:func:`hessian_eigs` of each layer's diagonal Hessian block ``H_ll`` (:func:`layer_blocks`):
    a dict ``layer name → Eigenpairs`` (the per-layer top eigenvalues of arXiv 1912.07145).
    ``k`` must be below every block's size.  Arguments as in :func:`hessian_eigs`.
    """
    run = _solver(k, method, which, tol, max_iter, return_eigenvectors)
    seed = derive_seed(generator)
    return _per_layer(model, loss, data, params, train_mode, seed, lambda op: run(op, seed))


def _lanczos_eigs(
    op: Operator, k: int, which: str, tol: float, max_iter: int, vectors: bool, seed: int
) -> Eigenpairs:
    start = op.num_matvecs

    def apply(v: np.ndarray) -> np.ndarray:
        out = op.matvec(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64).reshape(-1)))
        return out.detach().to(device="cpu", dtype=torch.float64).numpy()

    linear = LinearOperator((op.size, op.size), matvec=apply, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(op.size)
    arpack_which: Literal["LA", "LM"] = "LA" if which == "LA" else "LM"  # checked by _solver
    values, vecs = eigsh(linear, k=k, which=arpack_which, v0=v0, tol=tol, maxiter=max_iter)
    order = np.argsort(-(values if which == "LA" else np.abs(values)), kind="stable")
    eigvecs = torch.from_numpy(vecs[:, order]).to(dtype=op.dtype, device=op.device) if vectors else None
    return Eigenpairs(
        eigenvalues=_frozen_array(values[order]),
        eigenvectors=eigvecs,
        num_matvecs=op.num_matvecs - start,
        method="lanczos",
        which=which,
        converged=True,
        size=op.size,
        seed=seed,
    )


def _power_eigs(
    op: Operator, k: int, which: str, tol: float, max_iter: int, vectors: bool, seed: int
) -> Eigenpairs:
    start = op.num_matvecs
    generator = torch.Generator().manual_seed(seed)
    found = torch.zeros(op.size, 0, dtype=op.dtype, device=op.device)
    values: list[float] = []
    converged = True
    for _ in range(k):
        v = torch.randn(op.size, generator=generator, dtype=op.dtype).to(op.device)
        value, done = 0.0, False
        for _ in range(max_iter):
            v = v - found @ (found.T @ v)  # deflation: power iteration on P A P
            v = v / torch.linalg.vector_norm(v)
            w = op.matvec(v)
            w = w - found @ (found.T @ w)
            value = float(v @ w)
            residual = float(torch.linalg.vector_norm(w - value * v))
            norm = float(torch.linalg.vector_norm(w))
            if residual <= tol * abs(value) or norm == 0.0:
                done = True
                break
            v = w / norm
        converged &= done
        values.append(value)
        found = torch.cat([found, v.unsqueeze(1)], dim=1)
    if not converged:
        # stack: warnings.warn, here, the solver closure, the estimator, renamed_kwargs, the caller
        warnings.warn(
            f"power iteration did not reach tol={tol:g} within max_iter={max_iter} "
            "products for every eigenvalue",
            RuntimeWarning,
            stacklevel=5,
        )
    return Eigenpairs(
        eigenvalues=_frozen_array(values),
        eigenvectors=found if vectors else None,
        num_matvecs=op.num_matvecs - start,
        method="power",
        which=which,
        converged=converged,
        size=op.size,
        seed=seed,
    )
