"""Loss curvature: Hessian-vector products and the Hessian's trace, top eigenvalues and density.

The approach of PyHessian (Yao et al. 2020, arXiv 1912.07145): never form the Hessian ``H`` of
the loss w.r.t. the parameters, only products ``H v`` by automatic differentiation, and feed them
to matrix-free estimators — Hutchinson / Hutch++ for ``tr H``, Lanczos or power iteration for the
top eigenvalues, stochastic Lanczos quadrature for the spectral density.

The estimators are free functions over a tiny operator interface (:class:`Operator`: ``size``,
``dtype``, ``device``, ``matvec``, a matvec counter), so they run on a model's Hessian
(:class:`HessianOperator`), on any dense symmetric matrix or on a symmetric ``callable`` +
size (:func:`as_operator`) — which is how they are tested against known spectra.  Each returns
a frozen record; given a model instead of an operator they build the Hessian themselves, for
all trainable parameters, a subset (``params=``) or each layer's diagonal block
(``per_layer=True``).

>>> import torch
>>> A = torch.diag(torch.arange(1.0, 101.0, dtype=torch.float64))
>>> hessian_trace(A, method="hutchinson", n_matvecs=10, seed=0).estimate  # Rademacher: exact on a diagonal
5050.0

How a Hessian-vector product is computed (measured on this project's 2-core CPU, one thread,
float32, MLP 64-256-256-10 with ReLU, batch 1000, cross-entropy; median of 5 × 10 products,
the four ways side by side in one scratch script)::

    cached gradient graph, one backward per product   13.3 ms
    double backward (forward + grad + grad)           19.2 ms
    torch.func jvp(grad) (forward-over-reverse)       21.2 ms
    torch.func vjp(grad) (reverse-over-reverse)       22.1 ms

This module's two paths, best of 5 × 20 (``one``: a single batch, ``many``: a list of batches)::

    S='import torch,torch.nn as nn; torch.set_num_threads(1)
       from specinit.curvature import HessianOperator; torch.manual_seed(0)
       m=nn.Sequential(nn.Linear(64,256),nn.ReLU(),nn.Linear(256,256),nn.ReLU(),nn.Linear(256,10))
       x=torch.randn(1000,64); y=torch.randint(0,10,(1000,))
       one=HessianOperator(m,"cross_entropy",(x,y)); many=HessianOperator(m,"cross_entropy",[(x,y)])
       v=torch.randn(one.size)'
    OMP_NUM_THREADS=1 python -m timeit -r 5 -n 20 -s "$S" "one.matvec(v)"    # 11.1 ms
    OMP_NUM_THREADS=1 python -m timeit -r 5 -n 20 -s "$S" "many.matvec(v)"   # 20.2 ms

(``S`` on one line).  So one batch is differentiated once with ``create_graph=True`` and every
product is one more backward pass through that graph (``retain_graph=True``), as PyHessian
does.  For several batches (a ``DataLoader``) keeping every batch's graph would hold all
activations at once, so each product re-runs forward + double backward batch by batch (the
19 ms path), bounding memory by one batch.  torch.func is also wrong for BatchNorm in train
mode on torch 2.13: ``torch.func.hessian`` returns an asymmetric matrix there, while double
backward agrees with ``torch.autograd.functional.hessian`` (tests/test_curvature.py).

Model state.  Nothing about the model changes: the Hessian is that of the loss with the model in
**eval mode** by default (BatchNorm normalizes with its running statistics, dropout is off);
``train_mode=True`` uses train mode instead (BatchNorm batch statistics, so the Hessian includes
their dependence on the parameters; dropout masks are drawn once per batch from ``seed`` and
reused by every product, so the operator is one fixed symmetric matrix).  Every forward pass runs
inside a context that sets the mode and forks the global RNG, restoring every submodule's mode
and the caller's RNG state afterwards; the model runs through ``torch.func.functional_call`` on
copies of its buffers, so running statistics and ``num_batches_tracked`` are never updated;
parameters and their ``.grad`` are never written (products use ``torch.autograd.grad``).
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import Tensor, nn

from specinit._core.checks import check_finite, check_float, check_int, check_positive
from specinit._core.placement import module_mode, placement
from specinit._core.plotting import new_axes
from specinit._core.rng import fork_rng
from specinit.training.losses import Loss, prepare, resolve_loss

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    # operators
    "Operator",
    "HessianOperator",
    "as_operator",
    # estimators and their records
    "hessian_trace",
    "hessian_eigs",
    "hessian_density",
    "TraceEstimate",
    "Eigenpairs",
    "SpectralDensity",
    # parameter selection
    "layer_blocks",
    # one row of curvature measurements
    "curvature_summary",
    "TRACE_METHODS",
    "EIG_METHODS",
]

#: Trace estimators of :func:`hessian_trace`.
TRACE_METHODS = ("hutchinson", "hutch++")
#: Eigenvalue methods of :func:`hessian_eigs`.
EIG_METHODS = ("lanczos", "power")
#: Which end of the spectrum :func:`hessian_eigs` returns: largest algebraic / largest magnitude.
WHICH = ("LA", "LM")

Batch = tuple[Any, Any]
Params = Union[None, nn.Module, Sequence[str], Sequence[nn.Parameter]]


# --------------------------------------------------------------------------- operators


class Operator:
    """A symmetric linear operator ``v ↦ A v`` on vectors of length ``size`` (the interface the
    estimators use).  Subclasses implement ``_apply``; :meth:`matvec` checks the vector and counts
    the call in ``n_matvecs``."""

    def __init__(self, size: int, dtype: torch.dtype, device: torch.device) -> None:
        self.size = check_int(size, "size")
        self.dtype = dtype
        self.device = torch.device(device)
        self.n_matvecs = 0

    @property
    def shape(self) -> tuple[int, int]:
        """``(size, size)``."""
        return (self.size, self.size)

    def matvec(self, v: Tensor) -> Tensor:
        """``A v`` for a vector ``v`` of shape ``(size,)`` (cast to the operator's dtype/device)."""
        if not isinstance(v, Tensor):
            raise TypeError(f"matvec needs a torch.Tensor, got {type(v).__name__}")
        if v.shape != (self.size,):
            raise ValueError(f"matvec needs a vector of shape ({self.size},), got {tuple(v.shape)}")
        self.n_matvecs += 1
        out = self._apply(v.to(dtype=self.dtype, device=self.device))
        if out.shape != (self.size,):
            raise ValueError(f"operator returned shape {tuple(out.shape)}, expected ({self.size},)")
        return out

    def __matmul__(self, v: Tensor) -> Tensor:
        return self.matvec(v)

    def _apply(self, v: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class _FunctionOperator(Operator):
    def __init__(self, fn: Callable[[Tensor], Tensor], size: int, dtype: torch.dtype,
                 device: torch.device) -> None:
        super().__init__(size, dtype, device)
        self._fn = fn

    def _apply(self, v: Tensor) -> Tensor:
        out = self._fn(v)
        if not isinstance(out, Tensor):
            raise TypeError(f"the operator's callable must return a tensor, got {type(out).__name__}")
        return out.to(dtype=self.dtype, device=self.device).reshape(-1)


def as_operator(
    matrix: Tensor | np.ndarray | Callable[[Tensor], Tensor] | Operator,
    size: int | None = None,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> Operator:
    """An :class:`Operator` from a dense symmetric matrix or a symmetric ``callable(v) -> A v``.

    A matrix must be square, finite and symmetric (to a relative ``1e-6``, float32 round-off);
    its dtype and device are kept.  A callable needs ``size``; it is trusted to be symmetric and
    receives vectors of ``dtype`` on ``device``.  An operator is returned unchanged.
    """
    if isinstance(matrix, Operator):
        return matrix
    if isinstance(matrix, (Tensor, np.ndarray)):
        A = torch.as_tensor(matrix)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(f"need a non-empty square matrix, got shape {tuple(A.shape)}")
        if not A.is_floating_point():
            A = A.to(torch.get_default_dtype())
        check_finite(A, "matrix")
        scale = float(A.abs().max())
        if float((A - A.T).abs().max()) > 1e-6 * max(scale, 1e-300):
            raise ValueError("matrix is not symmetric; the estimators need a symmetric operator")
        return _FunctionOperator(lambda v: A @ v, A.shape[0], A.dtype, A.device)
    if callable(matrix):
        if size is None:
            raise TypeError("a callable operator needs its size: as_operator(fn, size)")
        return _FunctionOperator(matrix, size, dtype, torch.device(device))
    raise TypeError(f"cannot make an operator from {type(matrix).__name__}")


class HessianOperator(Operator):
    """The Hessian of a model's mean loss w.r.t. (some of) its parameters, as an :class:`Operator`.

    For batches ``b`` of sizes ``n_b`` (``N = Σ n_b``) and a loss ``L_b`` that averages over its
    batch, the operator is the Hessian of the full-data mean loss ``L = Σ_b (n_b/N) L_b``:
    ``H v = Σ_b (n_b/N) ∇²L_b v``.  Vectors are the selected parameters flattened and concatenated
    in ``names`` order (:meth:`unflatten` splits one back).

    Args:
        model: any ``nn.Module``; data are moved to its device and floats cast to its dtype.
        loss: ``"mse"``, ``"cross_entropy"`` or ``callable(pred, target) -> scalar`` that
            averages over the batch (resolved as in :func:`specinit.train`).
        data: one batch ``(x, y)`` or a re-iterable of ``(x, y)`` batches (a list, a
            ``DataLoader``; a one-shot iterator is refused).  One batch: its gradient graph is
            built once and each product is a single backward pass.  Several batches: each
            product re-runs every batch.  Either way the operator belongs to the parameter
            values it was built at: after an in-place change of a selected parameter (an
            optimizer step) :meth:`matvec` raises; build a new operator.
        params: ``None`` (every parameter with ``requires_grad``), a submodule of ``model``, or
            a sequence of parameter names or of ``nn.Parameter`` objects of ``model``; the
            operator is then the corresponding diagonal block of the Hessian.
        train_mode: evaluate in train mode instead of eval mode (see the module docstring).
        seed: seeds the global RNG, inside a fork, for each pass over the data (dropout in train
            mode, a shuffling ``DataLoader``), so every product sees the same masks and order.

    Attributes: ``names`` (parameter names), ``loss_value`` (the full-data mean loss),
    ``n_samples`` (``N``), ``n_matvecs``.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: Batch | Iterable[Batch],
        *,
        params: Params = None,
        train_mode: bool = False,
        seed: int = 0,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(train_mode, bool):
            raise TypeError(f"train_mode must be a bool, got {train_mode!r}")
        self.model = model
        self.train_mode = train_mode
        self.seed = check_int(seed, "seed", minimum=0)
        self._loss_fn, self._loss_name = resolve_loss(loss)
        named = _select_params(model, params)
        self.names = tuple(name for name, _ in named)
        self._params = [p for _, p in named]
        self._shapes = [p.shape for p in self._params]
        self._numels = [p.numel() for p in self._params]
        self._versions = [p._version for p in self._params]
        device, dtype = placement(model)
        super().__init__(sum(p.numel() for p in self._params), self._params[0].dtype, self._params[0].device)
        self._device, self._data_dtype = device, dtype
        single = _is_batch(data)
        if not single and (isinstance(data, Iterator) or not isinstance(data, Iterable)):
            raise TypeError("data must be a batch (x, y) or a re-iterable of batches (a list, a "
                            f"DataLoader), got {type(data).__name__}: a one-shot iterator is "
                            "used up after one product")
        self._batches: list[Batch] | Iterable[Batch] = [data] if single else data  # type: ignore[list-item]
        self.n_samples = 0
        total = 0.0
        with self._context():
            for xb, yb in self._prepared():
                value = self._loss(xb, yb)
                self.n_samples += xb.shape[0]
                total += float(value.detach()) * xb.shape[0]
                if single:
                    grads = torch.autograd.grad(value, self._params, create_graph=True, allow_unused=True)
                    self._graph = [_or_zeros(g, p) for g, p in zip(grads, self._params)]
        if self.n_samples == 0:
            raise ValueError("data holds no batch")
        self.loss_value = total / self.n_samples
        self._single = single

    def unflatten(self, v: Tensor) -> dict[str, Tensor]:
        """Split a flat vector into one tensor per parameter, keyed by name."""
        if v.shape != (self.size,):
            raise ValueError(f"need a vector of shape ({self.size},), got {tuple(v.shape)}")
        return dict(zip(self.names, self._split(v)))

    def _split(self, v: Tensor) -> list[Tensor]:
        """``v`` cut into one tensor per parameter, shaped like it."""
        return [c.reshape(s) for c, s in zip(torch.split(v, self._numels), self._shapes)]

    def _apply(self, v: Tensor) -> Tensor:
        changed = [n for n, p, old in zip(self.names, self._params, self._versions) if p._version != old]
        if changed:
            raise RuntimeError(f"parameter(s) {', '.join(changed)} changed in place since this "
                               "HessianOperator was built; build a new one for the new values")
        pieces = self._split(v)
        if self._single:
            return _flat(self._hvp(self._graph, pieces, retain=True))
        out = torch.zeros_like(v)
        with self._context():
            for xb, yb in self._prepared():
                value = self._loss(xb, yb)
                grads = torch.autograd.grad(value, self._params, create_graph=True, allow_unused=True)
                grads = [_or_zeros(g, p) for g, p in zip(grads, self._params)]
                out += (xb.shape[0] / self.n_samples) * _flat(self._hvp(grads, pieces, retain=False))
        return out

    def _hvp(self, grads: list[Tensor], pieces: list[Tensor], *, retain: bool) -> list[Tensor]:
        live = [i for i, g in enumerate(grads) if g.requires_grad]  # others: linear in the parameters
        if not live:
            return [torch.zeros_like(p) for p in self._params]
        hv = torch.autograd.grad([grads[i] for i in live], self._params,
                                 grad_outputs=[pieces[i] for i in live], retain_graph=retain,
                                 allow_unused=True)
        return [_or_zeros(h, p) for h, p in zip(hv, self._params)]

    def _loss(self, x: Tensor, y: Tensor) -> Tensor:
        # Run on copies of the buffers: BatchNorm in train mode updates its running statistics
        # in place, and restoring the originals afterwards would also bump their version and
        # break the cached graph, which saves them for the backward pass.
        buffers = {name: b.detach().clone() for name, b in self.model.named_buffers()}
        value = self._loss_fn(torch.func.functional_call(self.model, buffers, (x,)), y)
        if not isinstance(value, Tensor) or value.ndim != 0:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"loss must return a scalar tensor, got {shape}")
        if not torch.isfinite(value):
            raise ValueError(f"loss is {float(value)} on a batch; the Hessian is undefined")
        return value

    def _prepared(self) -> Iterable[tuple[Tensor, Tensor]]:
        for i, batch in enumerate(self._batches):
            if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
                raise TypeError(f"batch {i} must be a pair (x, y), got {type(batch).__name__}")
            yield prepare(batch[0], batch[1], self._loss_name, self._device, self._data_dtype,
                           f"x (batch {i})", f"y (batch {i})")

    @contextmanager
    def _context(self) -> Iterator[None]:
        """The model's mode set for the measurement (every submodule's restored on exit) and the
        global RNG seeded inside a fork; buffers are protected separately, by the copies
        :meth:`_loss` runs the model with."""
        with module_mode(self.model, self.train_mode), fork_rng(self.seed, self._device):
            yield


def _is_batch(data: Any) -> bool:
    """A pair whose first element is a tensor or array, rather than a collection of batches."""
    return isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (Tensor, np.ndarray))


def _or_zeros(g: Tensor | None, p: Tensor) -> Tensor:
    return torch.zeros_like(p) if g is None else g


def _flat(tensors: Sequence[Tensor]) -> Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _select_params(model: nn.Module, params: Params) -> list[tuple[str, nn.Parameter]]:
    """``(name, parameter)`` pairs of ``model`` chosen by ``params`` (see :class:`HessianOperator`)."""
    named = list(model.named_parameters())
    if params is None:
        chosen = [(n, p) for n, p in named if p.requires_grad]
        if not chosen:
            raise ValueError("model has no trainable parameters")
        return chosen
    if isinstance(params, nn.Module):
        ids = {id(p) for p in params.parameters()}
        if not ids:
            raise ValueError("params= module has no parameters")
        chosen = [(n, p) for n, p in named if id(p) in ids]
        if len(chosen) != len(ids):
            raise ValueError("params= module is not a submodule of model")
    else:
        items = list(params)
        if not items:
            raise ValueError("params= is empty")
        by_name = dict(named)
        by_id = {id(p): n for n, p in named}
        chosen = []
        for item in items:
            if isinstance(item, str):
                if item not in by_name:
                    raise ValueError(f"model has no parameter named {item!r}")
                chosen.append((item, by_name[item]))
            elif isinstance(item, Tensor):
                if id(item) not in by_id:
                    raise ValueError("params= holds a tensor that is not a parameter of model")
                chosen.append((by_id[id(item)], item))
            else:
                raise TypeError(f"params= entries must be names or parameters, got {type(item).__name__}")
        if len({n for n, _ in chosen}) != len(chosen):
            raise ValueError("params= names a parameter twice")
    frozen = [n for n, p in chosen if not p.requires_grad]
    if frozen:
        raise ValueError(f"parameter(s) {', '.join(frozen)} do not require grad")
    return chosen


def layer_blocks(model: nn.Module, params: Params = None) -> dict[str, list[str]]:
    """Parameter names grouped by the module that owns them (``"0.weight"`` → layer ``"0"``),
    in module order; the model's own direct parameters form the layer ``""``."""
    blocks: dict[str, list[str]] = {}
    for name, _ in _select_params(model, params):
        blocks.setdefault(name.rpartition(".")[0], []).append(name)
    return blocks


# --------------------------------------------------------------------------- records


def _frozen_array(values: Any) -> np.ndarray:
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class TraceEstimate:
    """Outcome of :func:`hessian_trace`.

    ``estimate`` of ``tr A`` and its ``std_error`` (the sample standard deviation of the
    Hutchinson terms over ``√samples``; for Hutch++ conditional on the sketch, whose exact part
    ``exact_part`` has no variance); ``samples`` are the terms ``zᵢᵀ A zᵢ`` (Hutch++: of the
    deflated operator), ``n_matvecs`` the products used, ``size`` the dimension.
    """

    estimate: float
    std_error: float
    n_matvecs: int
    samples: np.ndarray
    exact_part: float
    method: str
    size: int
    seed: int


@dataclass(frozen=True)
class Eigenpairs:
    """Outcome of :func:`hessian_eigs`: ``eigenvalues`` (``k``, ordered by ``which`` — ``"LA"``
    descending, ``"LM"`` by descending magnitude), unit ``eigenvectors`` as columns of a
    ``(size, k)`` tensor (``None`` unless requested), products used, and whether every pair met
    the tolerance (``converged``; Lanczos raises instead when ARPACK does not converge)."""

    eigenvalues: np.ndarray
    eigenvectors: Tensor | None
    n_matvecs: int
    method: str
    which: str
    converged: bool
    size: int
    seed: int


@dataclass(frozen=True)
class SpectralDensity:
    """Outcome of :func:`hessian_density`: a Gaussian-smoothed spectral density on ``grid``.

    ``nodes`` / ``weights`` are the Gauss quadrature nodes (Ritz values) and weights of all probes
    (each probe's weights sum to ``1 / n_probes``, so all sum to 1); ``density(t) = Σᵢ wᵢ
    N(t; θᵢ, sigma²)``.
    """

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    sigma: float
    n_probes: int
    n_steps: int
    n_matvecs: int
    size: int
    seed: int

    @property
    def mean(self) -> float:
        """``Σ wᵢ θᵢ``, the mean eigenvalue's estimate (``tr A / size``; a Hutchinson estimate)."""
        return float(np.dot(self.weights, self.nodes))

    def plot(self, ax: "Axes | None" = None, *, log: bool = True, label: str | None = None) -> "Axes":
        """Density against eigenvalue (log-scaled density by default, as in arXiv 1901.10159)."""
        ax = new_axes() if ax is None else ax
        ax.plot(self.grid, self.density, label=label)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(bottom=max(float(self.density.max()) * 1e-8, 1e-300))
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        if label is not None:
            ax.legend()
        return ax


# --------------------------------------------------------------------------- estimators


Target = Union[Operator, Tensor, np.ndarray, nn.Module]


def hessian_trace(
    target: Target,
    loss: Loss | None = None,
    data: Batch | Iterable[Batch] | None = None,
    *,
    method: str = "hutch++",
    n_matvecs: int = 99,
    seed: int = 0,
    params: Params = None,
    per_layer: bool = False,
    train_mode: bool = False,
) -> TraceEstimate | dict[str, TraceEstimate]:
    """Estimate ``tr A`` from ``n_matvecs`` products with Rademacher probes ``z`` (``±1`` entries).

    ``"hutchinson"``: ``tr A ≈ (1/m) Σᵢ zᵢᵀ A zᵢ`` (Hutchinson 1989), standard error
    ``std(zᵢᵀ A zᵢ)/√m``.  ``"hutch++"`` (Meyer et al. 2021, arXiv 2010.09649): with
    ``s = ⌊m/3⌋`` sketch columns ``S``, ``Q = qr(A S)``, ``tr A ≈ tr(Qᵀ A Q) + (1/g) Σᵢ gᵢᵀ
    (I−QQᵀ) A (I−QQᵀ) gᵢ`` for ``g = m − 2s`` probes; the error shrinks like ``1/m`` instead of
    ``1/√m`` when the spectrum decays.  Its standard error is the Hutchinson one of the second
    term, conditional on ``Q``.

    Args:
        target: an :class:`Operator`, a dense symmetric matrix, or a model (then ``loss`` and
            ``data`` build a :class:`HessianOperator`; see there for ``params``, ``train_mode``).
        method: ``"hutchinson"`` (``n_matvecs ≥ 2``) or ``"hutch++"`` (``n_matvecs ≥ 4``).
        seed: seeds the probes (``torch.Generator``) and, for a model, the operator.
        per_layer: for a model, a dict ``layer name → estimate`` of each layer's diagonal Hessian
            block (:func:`layer_blocks`), each with its own ``n_matvecs``; their sum estimates the
            trace of the selected parameters' Hessian.
    """
    if method not in TRACE_METHODS:
        raise ValueError(f"unknown trace method {method!r}; choose one of {', '.join(TRACE_METHODS)}")
    n_matvecs = check_int(n_matvecs, "n_matvecs")
    if method == "hutchinson" and n_matvecs < 2:
        raise ValueError("hutchinson needs n_matvecs >= 2 (for a standard error)")
    if method == "hutch++" and n_matvecs < 4:
        raise ValueError(f"hutch++ needs n_matvecs >= 4 (sketch, its image and >= 2 probes), got {n_matvecs}")
    seed = check_int(seed, "seed", minimum=0)
    estimate = _hutchinson if method == "hutchinson" else _hutchpp
    return _per_target(target, loss, data, params, per_layer, train_mode, seed,
                       lambda op: estimate(op, n_matvecs, seed))


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
    seed: int = 0,
    params: Params = None,
    per_layer: bool = False,
    train_mode: bool = False,
) -> Eigenpairs | dict[str, Eigenpairs]:
    """Top-``k`` eigenvalues (and unit eigenvectors) of a symmetric operator.

    ``"lanczos"``: implicitly restarted Lanczos (ARPACK through ``scipy.sparse.linalg.eigsh``,
    which keeps the Krylov basis orthogonal) for the ``k`` largest algebraic (``which="LA"``,
    the sharpest directions, PyHessian's top eigenvalues) or largest magnitude (``"LM"``)
    eigenvalues; start vector from ``seed``; ``max_iter`` restarts.  ``"power"``: power iteration
    with deflation (arXiv 1912.07145, Alg. 2): each pair in turn by ``v ← P A P v / ‖·‖`` with
    ``P`` projecting out the pairs already found, until ``‖A v − λ v‖ ≤ tol |λ|`` or ``max_iter``
    products; it finds the largest **magnitude** eigenvalues, so only ``which="LM"`` applies.

    ``tol``: relative tolerance, default ``√eps`` of the operator's dtype.  ``k`` must be below
    the operator's size.  Other arguments as in :func:`hessian_trace`.
    """
    if method not in EIG_METHODS:
        raise ValueError(f"unknown eigenvalue method {method!r}; choose one of {', '.join(EIG_METHODS)}")
    if which not in WHICH:
        raise ValueError(f"which must be one of {', '.join(WHICH)}, got {which!r}")
    if method == "power" and which != "LM":
        raise ValueError("power iteration finds the largest-magnitude eigenvalues: use which='LM' "
                         "(or method='lanczos' for which='LA')")
    k = check_int(k, "k")
    max_iter = check_int(max_iter, "max_iter")
    if tol is not None:
        check_positive(tol, "tol")
    if not isinstance(return_eigenvectors, bool):
        raise TypeError(f"return_eigenvectors must be a bool, got {return_eigenvectors!r}")
    seed = check_int(seed, "seed", minimum=0)

    def run(op: Operator) -> Eigenpairs:
        if k >= op.size:
            raise ValueError(f"k={k} must be smaller than the number of parameters ({op.size})")
        rtol = math.sqrt(torch.finfo(op.dtype).eps) if tol is None else float(tol)
        solve = _lanczos_eigs if method == "lanczos" else _power_eigs
        return solve(op, k, which, rtol, max_iter, return_eigenvectors, seed)

    return _per_target(target, loss, data, params, per_layer, train_mode, seed, run)


def hessian_density(
    target: Target,
    loss: Loss | None = None,
    data: Batch | Iterable[Batch] | None = None,
    *,
    n_probes: int = 1,
    n_steps: int = 90,
    sigma: float | None = None,
    n_grid: int = 1000,
    seed: int = 0,
    params: Params = None,
    per_layer: bool = False,
    train_mode: bool = False,
) -> SpectralDensity | dict[str, SpectralDensity]:
    """Spectral density by stochastic Lanczos quadrature (Ghorbani et al. 2019, arXiv 1901.10159).

    For each of ``n_probes`` unit Rademacher probes ``q = z/√n``, ``n_steps`` Lanczos steps (full
    reorthogonalization) give a tridiagonal ``T = U diag(θ) Uᵀ``; its Ritz values ``θⱼ`` with
    weights ``τⱼ = U₀ⱼ²`` are the Gauss quadrature of the spectral measure seen from ``q``, so
    ``φ(t) ≈ (1/n_probes) Σ_probes Σⱼ τⱼ N(t; θⱼ, σ²)`` with ``E[Σⱼ τⱼ θⱼ] = tr A / n``.  The
    Lanczos recursion stops early (fewer nodes) when the Krylov space is exhausted.

    ``sigma``: the smoothing width, default 1% of the span of the nodes.  The density is evaluated
    on ``n_grid`` points covering the nodes ± 5σ.  Memory: the Lanczos basis holds ``n_steps``
    vectors of the operator's size.  Other arguments as in :func:`hessian_trace`.
    """
    n_probes = check_int(n_probes, "n_probes")
    n_steps = check_int(n_steps, "n_steps")
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    if sigma is not None:
        check_positive(sigma, "sigma")
    seed = check_int(seed, "seed", minimum=0)
    return _per_target(target, loss, data, params, per_layer, train_mode, seed,
                       lambda op: _slq(op, n_probes, n_steps, sigma, n_grid, seed))


# --------------------------------------------------------------------------- dispatch


def _per_target(
    target: Target, loss: Loss | None, data: Any, params: Params, per_layer: bool, train_mode: bool,
    seed: int, estimate: Callable[[Operator], Any],
) -> Any:
    """Run ``estimate`` on the operator ``target`` names, or on each layer block of a model."""
    if not isinstance(per_layer, bool):
        raise TypeError(f"per_layer must be a bool, got {per_layer!r}")
    if not isinstance(target, nn.Module):
        if loss is not None or data is not None or params is not None or per_layer or train_mode:
            raise ValueError("loss, data, params, per_layer and train_mode apply to a model, "
                             "not to an operator or matrix")
        return estimate(as_operator(target))
    if loss is None or data is None:
        raise ValueError("a model needs a loss and data: e.g. hessian_trace(model, 'mse', (x, y))")
    if not per_layer:
        return estimate(HessianOperator(target, loss, data, params=params, train_mode=train_mode, seed=seed))
    return {
        layer: estimate(HessianOperator(target, loss, data, params=names, train_mode=train_mode, seed=seed))
        for layer, names in layer_blocks(target, params).items()
    }


def _rademacher(count: int, op: Operator, generator: torch.Generator) -> Tensor:
    """``(size, count)`` independent ±1 probes, drawn one probe after the other (so the first
    probes of a seed are the same whatever ``count`` is, and the same in every estimator)."""
    signs = torch.randint(0, 2, (count, op.size), generator=generator, dtype=torch.int64)
    return (2 * signs - 1).T.to(dtype=op.dtype, device=op.device)


def _apply_columns(op: Operator, block: Tensor) -> Tensor:
    """``A B`` for an ``(n, c)`` block, one product per column."""
    return torch.stack([op.matvec(block[:, j]) for j in range(block.shape[1])], dim=1)


def _hutchinson(op: Operator, m: int, seed: int) -> TraceEstimate:
    start = op.n_matvecs
    probes = _rademacher(m, op, torch.Generator().manual_seed(seed))
    samples = _quadratic_forms(op, probes)
    return _trace_record(samples, 0.0, "hutchinson", op, start, seed)


def _hutchpp(op: Operator, m: int, seed: int) -> TraceEstimate:
    start = op.n_matvecs
    generator = torch.Generator().manual_seed(seed)
    s = min(m // 3, op.size)
    sketch = _rademacher(s, op, generator)
    q, _ = torch.linalg.qr(_apply_columns(op, sketch))
    exact = float(torch.trace(q.T @ _apply_columns(op, q)))
    if s == op.size:  # the sketch spans everything: the trace is exact
        return _trace_record(np.zeros(0), exact, "hutch++", op, start, seed)
    probes = _rademacher(m - 2 * s, op, generator)
    probes = probes - q @ (q.T @ probes)
    return _trace_record(_quadratic_forms(op, probes), exact, "hutch++", op, start, seed)


def _quadratic_forms(op: Operator, probes: Tensor) -> np.ndarray:
    """``zᵢᵀ A zᵢ`` for the columns ``zᵢ`` of ``probes``."""
    return np.array([float(probes[:, j] @ op.matvec(probes[:, j])) for j in range(probes.shape[1])])


def _trace_record(samples: np.ndarray, exact: float, method: str, op: Operator, start: int,
                  seed: int) -> TraceEstimate:
    mean = float(samples.mean()) if samples.size else 0.0
    error = float(samples.std(ddof=1) / math.sqrt(samples.size)) if samples.size > 1 else 0.0
    return TraceEstimate(estimate=exact + mean, std_error=error, n_matvecs=op.n_matvecs - start,
                         samples=_frozen_array(samples), exact_part=exact, method=method,
                         size=op.size, seed=seed)


def _lanczos_eigs(op: Operator, k: int, which: str, tol: float, max_iter: int, vectors: bool,
                  seed: int) -> Eigenpairs:
    start = op.n_matvecs

    def apply(v: np.ndarray) -> np.ndarray:
        out = op.matvec(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64).reshape(-1)))
        return out.detach().to(device="cpu", dtype=torch.float64).numpy()

    linear = LinearOperator((op.size, op.size), matvec=apply, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(op.size)
    values, vecs = eigsh(linear, k=k, which=which, v0=v0, tol=tol, maxiter=max_iter)
    order = np.argsort(-(values if which == "LA" else np.abs(values)), kind="stable")
    eigvecs = torch.from_numpy(vecs[:, order]).to(dtype=op.dtype, device=op.device) if vectors else None
    return Eigenpairs(eigenvalues=_frozen_array(values[order]), eigenvectors=eigvecs,
                      n_matvecs=op.n_matvecs - start, method="lanczos", which=which, converged=True,
                      size=op.size, seed=seed)


def _power_eigs(op: Operator, k: int, which: str, tol: float, max_iter: int, vectors: bool,
                seed: int) -> Eigenpairs:
    start = op.n_matvecs
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
        warnings.warn(f"power iteration did not reach tol={tol:g} within max_iter={max_iter} "
                      "products for every eigenvalue", RuntimeWarning, stacklevel=3)
    return Eigenpairs(eigenvalues=_frozen_array(values), eigenvectors=found if vectors else None,
                      n_matvecs=op.n_matvecs - start, method="power", which=which,
                      converged=converged, size=op.size, seed=seed)


def _lanczos_tridiagonal(op: Operator, q: Tensor, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal ``α`` and off-diagonal ``β`` of the Lanczos tridiagonal from unit ``q``.

    Full reorthogonalization (Gram–Schmidt twice against every previous vector) keeps the basis
    orthogonal in floating point, so no spurious copies of converged Ritz values appear.
    """
    basis = torch.zeros(min(steps, op.size), op.size, dtype=op.dtype, device=op.device)
    alphas: list[float] = []
    betas: list[float] = []
    eps = torch.finfo(op.dtype).eps
    for j in range(basis.shape[0]):
        basis[j] = q
        w = op.matvec(q)
        alpha = float(q @ w)
        alphas.append(alpha)
        for _ in range(2):
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(torch.linalg.vector_norm(w))
        scale = max(abs(a) for a in alphas) + max(betas, default=0.0)
        if j == basis.shape[0] - 1 or beta <= 100 * eps * scale:
            break  # the Krylov space is exhausted (or the step budget spent)
        betas.append(beta)
        q = w / beta
    return np.array(alphas), np.array(betas)


def _slq(op: Operator, n_probes: int, n_steps: int, sigma: float | None, n_grid: int,
         seed: int) -> SpectralDensity:
    start = op.n_matvecs
    generator = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for _ in range(n_probes):
        q = _rademacher(1, op, generator)[:, 0] / math.sqrt(op.size)
        alpha, beta = _lanczos_tridiagonal(op, q, n_steps)
        theta, u = eigh_tridiagonal(alpha, beta)
        nodes.append(theta)
        weights.append(u[0] ** 2 / n_probes)
    theta, tau = np.concatenate(nodes), np.concatenate(weights)
    if sigma is None:
        span = float(theta.max() - theta.min())
        sigma = 0.01 * span if span > 0 else max(abs(float(theta.max())), 1.0) * 1e-3
    sigma = check_float(sigma, "sigma")
    grid = np.linspace(theta.min() - 5 * sigma, theta.max() + 5 * sigma, n_grid)
    gauss = np.exp(-0.5 * ((grid[:, None] - theta[None, :]) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return SpectralDensity(grid=_frozen_array(grid), density=_frozen_array(gauss @ tau),
                           nodes=_frozen_array(theta), weights=_frozen_array(tau), sigma=sigma,
                           n_probes=n_probes, n_steps=n_steps, n_matvecs=op.n_matvecs - start,
                           size=op.size, seed=seed)


def curvature_summary(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    trace_matvecs: int = 100,
    slq_steps: int = 80,
    slq_probes: int = 1,
    generator: int = 0,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The Hessian of ``model``'s loss on ``data`` in one row: trace, top eigenvalue and density.

    Row: ``trace`` and ``trace_se`` (Hutchinson, ``trace_matvecs`` Rademacher probes),
    ``top_eig`` (Lanczos, largest algebraic), ``mean_eig`` (the SLQ density's mean, ``≈ tr H / P``,
    PyHessian's "expected eigenvalue") and ``n_params`` ``P``.  Arrays: the smoothed density on
    its grid and the quadrature nodes and weights.  One operator serves the three estimators
    (the flat-minima measurement of arXiv 2206.08558, Exp 5).
    """
    op = HessianOperator(model, loss, data)
    trace = hessian_trace(op, method="hutchinson", n_matvecs=trace_matvecs, seed=generator)
    top = hessian_eigs(op, k=1, method="lanczos", seed=generator)
    density = hessian_density(op, n_probes=slq_probes, n_steps=slq_steps, seed=generator)
    row = {
        "trace": trace.estimate,
        "trace_se": trace.std_error,
        "top_eig": float(top.eigenvalues[0]),
        "mean_eig": density.mean,
        "n_params": op.size,
    }
    arrays = {
        "density_grid": np.asarray(density.grid),
        "density": np.asarray(density.density),
        "density_nodes": np.asarray(density.nodes),
        "density_weights": np.asarray(density.weights),
    }
    return row, arrays
