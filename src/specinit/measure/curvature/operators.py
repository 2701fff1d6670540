"""Symmetric operators ``v ↦ A v``, above all the Hessian of a model's loss, never formed.

PyHessian's approach (Yao et al. 2020, arXiv 1912.07145): the Hessian ``H = ∇²_θ L`` of the
loss ``L(θ)`` w.r.t. the parameters ``θ ∈ R^P`` is never built, only products

    H v = ∇_θ (∇_θ L(θ) · v)

by automatic differentiation (Pearlmutter 1994: one more backward pass through the gradient's
graph), and the estimators of :mod:`.trace`, :mod:`.eigs` and :mod:`.density` need nothing else.
Their interface is :class:`Operator` (``size``, ``dtype``, ``device``, ``matvec`` and the count
``num_matvecs``), so they run on a model's Hessian (:class:`HessianOperator`), on a dense
symmetric matrix or on a symmetric ``callable`` + size (:func:`as_operator`) — which is how
they are tested against known spectra.

For batches ``b`` of sizes ``n_b`` (``N = Σ_b n_b``) and a loss ``L_b`` that averages over its
batch, :class:`HessianOperator` is the Hessian of the full-data mean loss
``L = Σ_b (n_b/N) L_b``, restricted to the selected parameters: the diagonal block
``H_SS = ∇²_{θ_S} L`` for a subset ``S`` (``params=``), one block per layer with
:func:`layer_blocks`.

How a Hessian-vector product is computed (measured on this project's 2-core CPU, one thread,
float32, MLP 64-256-256-10 with ReLU, batch 1000, cross-entropy; median of 5 × 10 products,
the four ways side by side in one scratch script)::

    cached gradient graph, one backward per product   13.3 ms
    double backward (forward + grad + grad)           19.2 ms
    torch.func jvp(grad) (forward-over-reverse)       21.2 ms
    torch.func vjp(grad) (reverse-over-reverse)       22.1 ms

This module's two paths, best of 5 × 20 (``one``: a single batch, ``many``: a list of batches)::

    S='import torch,torch.nn as nn; torch.set_num_threads(1)
       from specinit.measure.curvature import HessianOperator; torch.manual_seed(0)
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
backward agrees with ``torch.autograd.functional.hessian`` (tests/measure/test_curvature.py).

Models with attention, recurrent layers and token inputs.  Every forward pass and product runs
inside :func:`specinit._core.autodiff.differentiable`: ``F.scaled_dot_product_attention`` uses
its math backend (the fused flash / memory-efficient kernels have no double backward; the same
function up to round-off), the ``nn.MultiheadAttention`` fast path is off, and on CUDA cuDNN is
off for models with ``nn.LSTM``/``nn.GRU``.  An op that still has no second derivative (e.g.
``torch.cdist``), or a custom ``autograd.Function`` marked ``@once_differentiable`` (whose second
derivative torch would silently take as 0), is a one-line ValueError naming the op, the layer and
the workaround.  Token ids (integer ``x``) reach the model unchanged.  ``torch.func.hessian`` is
not used: on torch 2.13 it is also asymmetric through ``nn.LayerNorm`` weights, while double
backward agrees with ``torch.autograd.functional.hessian`` (tests/measure/test_any_model.py).

Model state.  Nothing about the model changes: the Hessian is that of the loss with the model in
**eval mode** by default (BatchNorm normalizes with its running statistics, dropout is off);
``train_mode=True`` uses train mode instead (BatchNorm batch statistics, so the Hessian includes
their dependence on the parameters; dropout masks are drawn once per batch from ``generator``
and reused by every product, so the operator is one fixed symmetric matrix).  Every forward pass
runs inside a context that sets the mode and forks the global RNG, restoring every submodule's
mode and the caller's RNG state afterwards; the model runs through
``torch.func.functional_call`` on copies of its buffers, so running statistics and
``num_batches_tracked`` are never updated; parameters and their ``.grad`` are never written
(products use ``torch.autograd.grad``).

>>> import torch
>>> op = as_operator(torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)))
>>> op.matvec(torch.ones(3, dtype=torch.float64)).tolist(), op.num_matvecs
([1.0, 2.0, 3.0], 1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeGuard

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from specinit._core.autodiff import differentiable, refuse_once_differentiable
from specinit._core.checks import check_finite, check_int
from specinit._core.deprecation import deprecated_alias, warn_deprecated
from specinit._core.placement import autocast_off, full_precision, module_mode, placement
from specinit._core.rng import GeneratorLike, derive_seed, fork_rng
from specinit.training.losses import LOSSES, Loss, prepare, resolve_loss

__all__ = ["Operator", "HessianOperator", "as_operator", "layer_blocks"]

Batch = tuple[Any, Any]
#: Which parameters a Hessian is taken over: all trainable ones (``None``), a submodule, or a
#: sequence of parameter names or ``nn.Parameter`` objects.
Params = nn.Module | Sequence[str] | Sequence[nn.Parameter] | None


# --------------------------------------------------------------------------- operators


class Operator:
    """A symmetric linear operator ``v ↦ A v`` on vectors of length ``size`` (the interface the
    estimators use).  Subclasses implement ``_apply``; :meth:`matvec` checks the vector and counts
    the call in ``num_matvecs``.
    """

    def __init__(self, size: int, dtype: torch.dtype, device: torch.device) -> None:
        self.size = check_int(size, "size")
        self.dtype = dtype
        self.device = torch.device(device)
        self.num_matvecs = 0

    n_matvecs = deprecated_alias("n_matvecs", "num_matvecs")

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
        self.num_matvecs += 1
        with autocast_off():  # a curvature product in the operator's own dtype, never autocast
            out = self._apply(v.to(dtype=self.dtype, device=self.device))
        if out.shape != (self.size,):
            raise ValueError(f"operator returned shape {tuple(out.shape)}, expected ({self.size},)")
        return out

    def __matmul__(self, v: Tensor) -> Tensor:
        return self.matvec(v)

    def _apply(self, v: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class _FunctionOperator(Operator):
    @full_precision  # forward passes and products outside any caller autocast
    def __init__(
        self, fn: Callable[[Tensor], Tensor], size: int, dtype: torch.dtype, device: torch.device
    ) -> None:
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
    receives vectors of ``dtype`` on ``device``.  An operator is returned unchanged.  (The
    matrix-free interface of PyHessian, arXiv 1912.07145.)
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


class _ModelOperator(Operator):
    """What every operator of a model's loss shares: the checks of ``model``, ``loss``,
    ``data``, ``params=``, ``train_mode=`` and ``generator=`` (see :class:`HessianOperator`),
    the batches prepared for the model, the measurement context (mode and forked RNG), forward
    passes on copies of the buffers, and the flat parameter-vector layout.
    """

    @full_precision  # forward passes and products outside any caller autocast
    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: Batch | Iterable[Batch],
        *,
        params: Params = None,
        train_mode: bool = False,
        generator: GeneratorLike = 0,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(train_mode, bool):
            raise TypeError(f"train_mode must be a bool, got {train_mode!r}")
        self.model = model
        self.train_mode = train_mode
        self.seed = derive_seed(generator)
        self._loss_fn, self._loss_name = resolve_loss(loss)
        kind, _ = _loss_kind(loss)  # F.mse_loss, nn.MSELoss() and "mse" are one loss, one scale
        if kind is not None:
            self._loss_name = kind.rstrip("!")
        named = _select_params(model, params)
        self.names = tuple(name for name, _ in named)
        self._params = [p for _, p in named]
        self._shapes = [p.shape for p in self._params]
        self._numels = [p.numel() for p in self._params]
        self._versions = [p._version for p in self._params]
        device, dtype = placement(model)
        super().__init__(sum(p.numel() for p in self._params), self._params[0].dtype, self._params[0].device)
        self._device, self._data_dtype = device, dtype
        self._batches: Iterable[Batch]
        self._single = False
        if _is_batch(data):
            self._single, self._batches = True, [data]
        elif isinstance(data, Iterator) or not isinstance(data, Iterable):
            raise TypeError(
                "data must be a batch (x, y) or a re-iterable of batches (a list, a "
                f"DataLoader), got {type(data).__name__}: a one-shot iterator is "
                "used up after one product"
            )
        else:
            self._batches = data
        self._example: tuple[Tensor, Tensor] | None = None  # the first batch, for _replay

    def unflatten(self, v: Tensor) -> dict[str, Tensor]:
        """Split a flat vector into one tensor per parameter, keyed by name."""
        if v.shape != (self.size,):
            raise ValueError(f"need a vector of shape ({self.size},), got {tuple(v.shape)}")
        return dict(zip(self.names, self._split(v), strict=True))

    def _split(self, v: Tensor) -> list[Tensor]:
        """``v`` cut into one tensor per parameter, shaped like it."""
        return [c.reshape(s) for c, s in zip(torch.split(v, self._numels), self._shapes, strict=True)]

    def _check_unchanged(self) -> None:
        """Refuse to multiply once a selected parameter changed in place (an optimizer step)."""
        changed = [
            n for n, p, old in zip(self.names, self._params, self._versions, strict=True) if p._version != old
        ]
        if changed:
            raise RuntimeError(
                f"parameter(s) {', '.join(changed)} changed in place since this "
                f"{type(self).__name__} was built; build a new one for the new values"
            )

    def _forward(self, x: Tensor, values: Sequence[Tensor] | None = None) -> Tensor:
        """The model's output on ``x`` with copies of its buffers, and the selected parameters
        replaced by ``values`` when given (for ``torch.func`` transforms).
        """
        # Copies of the buffers: BatchNorm in train mode updates its running statistics in
        # place, and restoring the originals afterwards would also bump their version and
        # break a cached graph, which saves them for the backward pass.
        state: dict[str, Tensor] = {name: b.detach().clone() for name, b in self.model.named_buffers()}
        if values is not None:
            state.update(zip(self.names, values, strict=True))
        return torch.func.functional_call(self.model, state, (x,))

    def _loss(self, x: Tensor, y: Tensor) -> Tensor:
        value = self._loss_fn(self._forward(x), y)
        if not isinstance(value, Tensor) or value.ndim != 0:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"loss must return a scalar tensor, got {shape}")
        if not torch.isfinite(value):
            raise ValueError(f"loss is {float(value)} on a batch; the Hessian is undefined")
        return value

    def _replay(self) -> None:
        """One forward pass on the first batch, as the measurement runs it (for locating a failing
        layer, :func:`specinit._core.autodiff.measurement_errors`).
        """
        if self._example is not None:
            with self._context():
                self._loss(*self._example)

    def _prepared(self) -> Iterable[tuple[Tensor, Tensor]]:
        for i, batch in enumerate(self._batches):
            if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
                raise TypeError(f"batch {i} must be a pair (x, y), got {type(batch).__name__}")
            yield prepare(
                batch[0],
                batch[1],
                self._loss_name,
                self._device,
                self._data_dtype,
                f"x (batch {i})",
                f"y (batch {i})",
            )

    @contextmanager
    def _context(self) -> Iterator[None]:
        """The model's mode set for the measurement (every submodule's restored on exit) and the
        global RNG seeded inside a fork; buffers are protected separately, by the copies
        :meth:`_loss` runs the model with.
        """
        with module_mode(self.model, self.train_mode), fork_rng(self.seed, self._device):
            yield


class HessianOperator(_ModelOperator):
    """The Hessian of a model's mean loss w.r.t. (some of) its parameters, as an :class:`Operator`.

    For batches ``b`` of sizes ``n_b`` (``N = Σ n_b``) and a loss ``L_b`` that averages over its
    batch, the operator is the Hessian of the full-data mean loss ``L = Σ_b (n_b/N) L_b``:
    ``H v = Σ_b (n_b/N) ∇²L_b v``, each product by double backward (arXiv 1912.07145).  Vectors
    are the selected parameters flattened and concatenated in ``names`` order (:meth:`unflatten`
    splits one back).

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
        generator: an int seed, a ``torch.Generator`` (one int is drawn from it) or ``None``
            (one draw from the global RNG).  That int seeds the global RNG, inside a fork, for
            each pass over the data (dropout in train mode, a shuffling ``DataLoader``), so every
            product sees the same masks and order.  ``seed=`` is a deprecated alias.

    Attributes: ``names`` (parameter names), ``loss_value`` (the full-data mean loss),
    ``n_samples`` (``N``), ``seed`` (the int used), ``num_matvecs``.

    """

    @full_precision  # forward passes and products outside any caller autocast
    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: Batch | Iterable[Batch],
        *,
        params: Params = None,
        train_mode: bool = False,
        generator: GeneratorLike = 0,
        **deprecated: Any,
    ) -> None:
        if "seed" in deprecated:
            if "generator" in deprecated or generator != 0:
                raise TypeError("HessianOperator() got both seed= (deprecated) and generator=")
            warn_deprecated(
                "HessianOperator(seed=...) is deprecated and will be removed in the next "
                "release; use generator="
            )
            generator = check_int(deprecated.pop("seed"), "seed", minimum=0)
        if deprecated:
            raise TypeError(f"HessianOperator() got unexpected keyword(s) {sorted(deprecated)}")
        super().__init__(model, loss, data, params=params, train_mode=train_mode, generator=generator)
        single = self._single
        self.n_samples = 0
        total = 0.0
        with differentiable(model, "HessianOperator", replay=self._replay), self._context():
            for xb, yb in self._prepared():
                value = self._loss(xb, yb)
                if self._example is None:
                    self._example = (xb, yb)
                    refuse_once_differentiable(value, "HessianOperator")
                self.n_samples += xb.shape[0]
                total += float(value.detach()) * xb.shape[0]
                if single:
                    grads = torch.autograd.grad(value, self._params, create_graph=True, allow_unused=True)
                    self._graph = [_or_zeros(g, p) for g, p in zip(grads, self._params, strict=True)]
        if self.n_samples == 0:
            raise ValueError("data holds no batch")
        self.loss_value = total / self.n_samples

    def _apply(self, v: Tensor) -> Tensor:
        self._check_unchanged()
        with differentiable(self.model, "Hessian-vector product", replay=self._replay):
            return self._product(v)

    def _product(self, v: Tensor) -> Tensor:
        """``H v``: one backward pass through the cached gradient graph, or forward + double
        backward batch by batch.
        """
        pieces = self._split(v)
        if self._single:
            return _flat(self._hvp(self._graph, pieces, retain=True))
        out = torch.zeros_like(v)
        with self._context():
            for xb, yb in self._prepared():
                value = self._loss(xb, yb)
                raw = torch.autograd.grad(value, self._params, create_graph=True, allow_unused=True)
                grads = [_or_zeros(g, p) for g, p in zip(raw, self._params, strict=True)]
                out += (xb.shape[0] / self.n_samples) * _flat(self._hvp(grads, pieces, retain=False))
        return out

    def _hvp(self, grads: list[Tensor], pieces: list[Tensor], *, retain: bool) -> list[Tensor]:
        live = [i for i, g in enumerate(grads) if g.requires_grad]  # others: linear in the parameters
        if not live:
            return [torch.zeros_like(p) for p in self._params]
        hv = torch.autograd.grad(
            [grads[i] for i in live],
            self._params,
            grad_outputs=[pieces[i] for i in live],
            retain_graph=retain,
            allow_unused=True,
        )
        return [_or_zeros(h, p) for h, p in zip(hv, self._params, strict=True)]


def _is_batch(data: Any) -> TypeGuard[Batch]:
    """A pair (tuple or list) whose first element is a tensor or array, rather than a
    collection of batches.
    """
    return isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (Tensor, np.ndarray))


def _or_zeros(g: Tensor | None, p: Tensor) -> Tensor:
    return torch.zeros_like(p) if g is None else g


def _flat(tensors: Sequence[Tensor]) -> Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


# --------------------------------------------------------------------------- parameter selection


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
                name = by_id[id(item)]
                chosen.append((name, by_name[name]))  # by_name[name] is item itself
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
    in module order; the model's own direct parameters form the layer ``""``.  Each group is a
    diagonal block ``H_ll`` of the Hessian (the per-layer curvature of arXiv 1912.07145).
    """
    blocks: dict[str, list[str]] = {}
    for name, _ in _select_params(model, params):
        blocks.setdefault(name.rpartition(".")[0], []).append(name)
    return blocks


# --------------------------------------------------------------------------- shared by the estimators

#: What an estimator runs on: an :class:`Operator`, a dense symmetric matrix, or a model.
Target = Operator | Tensor | np.ndarray | nn.Module


def _frozen_array(values: Any) -> np.ndarray:
    """A read-only float64 copy (record fields are immutable)."""
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


def _rademacher(count: int, op: Operator, generator: torch.Generator) -> Tensor:
    """``(size, count)`` independent ±1 probes, drawn one probe after the other (so the first
    probes of a seed are the same whatever ``count`` is, and the same in every estimator).
    """
    signs = torch.randint(0, 2, (count, op.size), generator=generator, dtype=torch.int64)
    return (2 * signs - 1).T.to(dtype=op.dtype, device=op.device)


def _operator_for(
    target: Target, loss: Loss | None, data: Any, params: Params, train_mode: bool, seed: int
) -> Operator:
    """The operator ``target`` names: itself or a matrix, or a model's :class:`HessianOperator`."""
    if not isinstance(target, nn.Module):
        if loss is not None or data is not None or params is not None or train_mode:
            raise ValueError(
                "loss, data, params, per_layer and train_mode apply to a model, not to an operator or matrix"
            )
        return as_operator(target)
    if loss is None or data is None:
        raise ValueError("a model needs a loss and data: e.g. hessian_trace(model, 'mse', (x, y))")
    return HessianOperator(target, loss, data, params=params, train_mode=train_mode, generator=seed)


def _per_layer(
    model: Target,
    loss: Loss | None,
    data: Any,
    params: Params,
    train_mode: bool,
    seed: int,
    estimate: Callable[[Operator], Any],
) -> dict[str, Any]:
    """``estimate`` on each layer's diagonal Hessian block (:func:`layer_blocks`), by layer name."""
    if not isinstance(model, nn.Module):
        raise ValueError(
            "per-layer estimates need a model (an nn.Module) with a loss and data, "
            f"got {type(model).__name__}"
        )
    if loss is None or data is None:
        raise ValueError("a model needs a loss and data: e.g. hessian_trace_per_layer(model, 'mse', (x, y))")
    return {
        layer: estimate(
            HessianOperator(model, loss, data, params=names, train_mode=train_mode, generator=seed)
        )
        for layer, names in layer_blocks(model, params).items()
    }


def _deprecated_per_layer(per_layer: bool, name: str) -> bool:
    """Check the deprecated ``per_layer=`` flag of ``name``; warn when it is set."""
    if not isinstance(per_layer, bool):
        raise TypeError(f"per_layer must be a bool, got {per_layer!r}")
    if per_layer:
        # stack: warn_deprecated, this check, the estimator, its renamed_kwargs wrapper, the caller
        warn_deprecated(
            f"{name}(..., per_layer=True) is deprecated and will be removed in the next "
            f"release; use {name}_per_layer(...), which always returns a dict",
            stacklevel=5,
        )
    return per_layer


def _loss_kind(loss: Loss) -> tuple[str | None, str]:
    """``("mse" | "cross_entropy", name)``, or ``(None, reason)``; ``"mse!"``: shapes must match."""
    fn, name = resolve_loss(loss)
    if isinstance(loss, str) or fn is LOSSES.get(name):
        return name, name
    if fn is F.cross_entropy:
        return "cross_entropy", name
    if fn is F.mse_loss:
        return "mse!", name
    if isinstance(fn, nn.CrossEntropyLoss):
        plain = fn.weight is None and fn.label_smoothing == 0.0 and fn.reduction == "mean"
        return ("cross_entropy", name) if plain else (None, f"loss {fn!r} (weights, smoothing or a sum)")
    if isinstance(fn, nn.MSELoss) and fn.reduction == "mean":
        return "mse!", name
    return None, f"loss {name!r} (only 'mse' and 'cross_entropy' are)"
