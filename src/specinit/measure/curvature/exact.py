"""The exact Hessian diagonal and trace by second-order backpropagation (no products, no probes).

Hessian backpropagation (Dangel, Harmeling & Hennig 2020, "Modular Block-diagonal Curvature
Approximations for Feedforward Architectures", arXiv 1902.01813; BackPACK's ``DiagHessian``,
arXiv 1912.10985).  For a chain ``z_0 = x → z_1 → … → z_L = f`` of layers and a loss
``L = (1/N) Σ_n ℓ(f_n, y_n)`` the Hessian w.r.t. one sample's layer output ``z_l`` obeys

    H_{z_{l-1}} = J_lᵀ H_{z_l} J_l + Σ_j (∂L/∂z_l)_j ∇² (z_l)_j,

where ``J_l = ∂z_l/∂z_{l-1}``; the second term (the *residual*) vanishes for a Linear or
convolution layer and is ``diag(f''(z) ⊙ ∂L/∂h)`` for an elementwise activation ``h = f(z)``
(zero for ReLU and the other piecewise-linear ones; it is what separates the Hessian from the
Gauss–Newton matrix).  A layer's parameters ``θ_l`` enter only through ``z_l`` and linearly,
so the diagonal of their Hessian block is ``diag(J_θᵀ H_{z_l} J_θ)``, summed over the samples.

``H_{z_l}`` is never formed: it is carried as a sum of *factored* terms ``F Σ Fᵀ`` with a
factor ``F`` of a few columns and signs ``Σ = diag(±1)`` per sample, or as a diagonal.

* The loss: for cross-entropy the output Hessian of one sample is ``(diag p − p pᵀ)/N = S Sᵀ``
  with ``S = (diag √p − p √pᵀ)/√N`` (``p = softmax f``, ``C`` columns); for the mean squared
  error over ``D`` outputs it is ``(2/(N D)) I``, a diagonal.
* Backwards through a Linear layer ``z = W a + b``: ``F ↦ Wᵀ F`` (a diagonal ``diag(r)`` becomes
  the factor ``Wᵀ diag(√|r|)`` with signs ``sign r``, kept lazy: its diagonal after an
  activation, ``f'(a)² ⊙ (r (W ⊙ W))``, costs one matrix product); through a convolution, the
  transposed convolution of each column; through an activation ``F ↦ f'(z) ⊙ F`` plus the
  residual diagonal ``r = f''(z) ⊙ ∂L/∂h``.  BackPACK splits ``r`` into its positive and negative
  parts, each with its own square-root factor; the signs ``Σ`` here do the same with one factor.
* Diagonals: a Linear weight gets ``Σ_n Σ_k σ_{nk} S_{n,o,k}² a_{n,i}²``, its bias
  ``Σ_n Σ_k σ_{nk} S_{n,o,k}²``; a convolution weight gets ``Σ_n Σ_k σ_{nk} (Σ_p S_{n,o,p,k}
  x_{n,i,p+κ})²`` (its bias with ``x ≡ 1``), and ``Σ_p r_{n,o,p} x_{n,i,p+κ}²`` from a diagonal.

The trace ``tr H = Σ diag H`` is then exact, with no variance and no Hessian-vector product:
on MLP 64-256-256-10 (batch 1000, cross-entropy) it costs less than one Hessian-vector product
(bench/RESULTS.md).  Scope: ``nn.Sequential`` models (nested ones too) of ``nn.Linear`` (on
``(n, features)`` inputs), ``nn.Conv1d``/``nn.Conv2d`` (zero padding given as numbers, one
group), parameter-free elementwise activations (:func:`specinit.nn.activations.is_activation`),
``nn.Flatten`` and ``nn.Identity``, with the ``"mse"`` or ``"cross_entropy"`` loss; anything
else is an :class:`ExactUnsupportedError` naming the layer (:func:`specinit.measure.curvature.
hessian_trace` then falls back to Hutch++).

>>> import torch
>>> from torch import nn
>>> torch.manual_seed(0) and None
>>> net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
>>> x, y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
>>> diag = hessian_diagonal(net, "mse", (x, y))
>>> sorted(diag.diagonal), diag.size
(['0.bias', '0.weight', '2.bias', '2.weight'], 32)
>>> round(diag.diagonal["2.bias"][0].item(), 12)  # ∂²/∂b₀² of (1/16) Σ (f − y)²: 8 · 2 / 16
1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.grad import conv2d_input, conv2d_weight
from torch.nn.utils import parametrize

from specinit._core.placement import full_precision, placement
from specinit._core.records import compact_repr
from specinit.measure.curvature.operators import (
    Batch,
    Params,
    _is_batch,
    _loss_kind,
    _select_params,
    layer_blocks,
)
from specinit.nn.activations import ActivationModule, is_activation
from specinit.training.losses import Loss, check_labels, prepare

__all__ = ["HessianDiagonal", "ExactUnsupportedError", "hessian_diagonal", "exact_support"]


class ExactUnsupportedError(ValueError):
    """The exact Hessian diagonal does not cover this model, loss or data (a one-line reason)."""


@dataclass(frozen=True)
class HessianDiagonal:
    """Outcome of :func:`hessian_diagonal`.

    ``diagonal`` maps each selected parameter's name to ``diag H`` for it (shaped like the
    parameter), ``trace`` is ``tr H`` over them, ``layer_traces`` the trace of each layer's
    diagonal block (layers as in :func:`layer_blocks`; they sum to ``trace``), ``size`` the
    number of parameters, ``loss_value`` the full-data mean loss and ``n_samples`` ``N``.
    """

    diagonal: dict[str, Tensor]
    trace: float
    layer_traces: dict[str, float]
    size: int
    loss_value: float
    n_samples: int

    __repr__ = compact_repr

    def flat(self) -> Tensor:
        """The diagonal as one vector, parameters in model order (as :class:`HessianOperator`)."""
        return torch.cat([d.reshape(-1) for d in self.diagonal.values()])


# --------------------------------------------------------------------------- what is supported

_PIECEWISE_LINEAR = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardtanh, nn.Identity)
_PIECEWISE_LINEAR_NAMES = {"relu", "relu6", "leaky_relu", "hardtanh", "identity", "linear"}
_LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Flatten, nn.Identity)


def _is_chain(module: nn.Module) -> bool:
    """An ``nn.Sequential`` whose forward is the plain chain (a subclass may add a skip)."""
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _chain(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """The leaves of a (nested) ``nn.Sequential``, with qualified names, in order."""
    if _is_chain(model):
        return [
            leaf
            for name, child in model._modules.items()  # named_children() skips a reused module
            if child is not None
            for leaf in _chain(child, f"{prefix}.{name}" if prefix else name)
        ]
    return [(prefix, model)]


def _unsupported(name: str, module: nn.Module) -> str | None:
    """Why the exact path cannot run through ``module`` (``None`` when it can)."""
    what = f"layer {name!r} ({type(module).__name__})"
    if isinstance(module, nn.Sequential):
        return f"{what}: a Sequential subclass with its own forward is not a plain chain"
    if module._forward_hooks or module._forward_pre_hooks:
        return f"{what}: forward hooks may change what the layer computes"
    if parametrize.is_parametrized(module):
        return f"{what}: parametrized weights are not supported"
    if getattr(module, "inplace", False):
        return f"{what}: in-place activations are not supported (inplace=True)"
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)) and type(module) not in (
        nn.Linear,
        nn.Conv1d,
        nn.Conv2d,
    ):
        return f"{what}: a subclass of {type(module).__mro__[1].__name__} may compute something else"
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        if isinstance(module.padding, str) or module.padding_mode != "zeros":
            return f"{what}: only zero padding given as numbers is supported"
        if module.groups != 1:
            return f"{what}: grouped convolutions are not supported"
        return None
    if isinstance(module, _LAYER_TYPES):
        return None
    if is_activation(module) and not isinstance(module, nn.RReLU):
        if next(module.parameters(), None) is not None:
            return f"{what}: activations with parameters are not supported"
        return None
    return f"{what} is not supported (Linear, Conv1d/2d, elementwise activations, Flatten)"


def exact_support(model: nn.Module, loss: Loss) -> str | None:
    """Why :func:`hessian_diagonal` cannot run on ``model`` with ``loss``, or ``None`` if it can.

    >>> exact_support(nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)), "mse") is None
    True
    >>> exact_support(nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3)), "mse")
    "layer '1' (LayerNorm) is not supported (Linear, Conv1d/2d, elementwise activations, Flatten)"
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    kind, reason = _loss_kind(loss)
    if kind is None:
        return f"{reason} is not supported by the exact Hessian diagonal"
    container = isinstance(model, nn.Sequential) or next(model.children(), None) is not None
    if container and not _is_chain(model):
        return f"model {type(model).__name__} is not a plain nn.Sequential (its own forward)"
    chain = _chain(model)
    for name, module in chain:
        reason_ = _unsupported(name, module)
        if reason_ is not None:
            return reason_
    owners: dict[int, str] = {}
    for name, module in chain:
        for param in module.parameters():
            if owners.setdefault(id(param), name) != name:
                return (
                    f"layer {name!r} shares a parameter with layer {owners[id(param)]!r} (a module used "
                    "twice or tied weights): the diagonal then has cross terms between the uses"
                )
    return None


# --------------------------------------------------------------------------- curvature terms


class _Diag:
    """``H = diag(r)`` per sample; ``r`` shaped like the layer output ``(N, ...)``."""

    def __init__(self, r: Tensor) -> None:
        self.r = r

    def diagonal(self) -> Tensor:
        return self.r

    def scale(self, d: Tensor) -> _Diag:
        return _Diag(self.r * d * d)

    def dense(self) -> _Dense:  # only reached through Flatten or a convolution: small layers
        n, m = self.r.shape[0], self.r[0].numel()
        r = self.r.reshape(n, m)
        eye = torch.diag_embed(r.abs().sqrt()).reshape(*self.r.shape, m)
        return _Dense(eye, torch.sign(r))


class _Dense:
    """``H = F diag(σ) Fᵀ`` per sample; ``F`` of shape ``(N, ..., K)``, signs ``σ`` ``(N, K)`` or all +1."""

    def __init__(self, f: Tensor, sign: Tensor | None = None) -> None:
        self.f, self.sign = f, sign

    def diagonal(self) -> Tensor:
        sq = self.f * self.f
        if self.sign is None:
            return sq.sum(-1)
        n, k = self.sign.shape
        return (sq.reshape(n, -1, k) @ self.sign.unsqueeze(-1)).reshape(sq.shape[:-1])

    def scale(self, d: Tensor) -> _Dense:
        return _Dense(self.f * d.unsqueeze(-1), self.sign)

    def dense(self) -> _Dense:
        return self


class _Projected:
    """``H = diag(s) A diag(r) Aᵀ diag(s)``: a diagonal ``r`` taken back through one Linear
    layer (``A = Wᵀ``, shared by the samples) and scaled by ``s``; its diagonal
    ``s² ⊙ (r (A ⊙ A)ᵀ)`` is one matrix product, the factor ``s A √|r|`` is built only when it
    must go back further.
    """

    def __init__(self, a: Tensor, r: Tensor, s: Tensor | None = None) -> None:
        self.a, self.r, self.s = a, r, s

    def diagonal(self) -> Tensor:
        d = self.r @ (self.a * self.a).T
        return d if self.s is None else d * self.s * self.s

    def scale(self, d: Tensor) -> _Projected:
        return _Projected(self.a, self.r, d if self.s is None else self.s * d)

    def dense(self) -> _Dense:
        f = self.a.unsqueeze(0) * self.r.abs().sqrt().unsqueeze(1)
        if self.s is not None:
            f = f * self.s.unsqueeze(-1)
        return _Dense(f, torch.sign(self.r))


_Term = _Diag | _Dense | _Projected


# --------------------------------------------------------------------------- the layers


def _conv_args(module: nn.Conv1d | nn.Conv2d) -> tuple[Tensor, dict[str, tuple[int, int]]]:
    """The weight and stride/padding/dilation of ``module`` as a 2-D convolution (a Conv1d as
    one of height 1).
    """
    if isinstance(module, nn.Conv1d):
        first = {"stride": 1, "padding": 0, "dilation": 1}
        args = {k: (first[k], int(getattr(module, k)[0])) for k in first}
        return module.weight.unsqueeze(2), args
    args = {}
    for k in ("stride", "padding", "dilation"):
        a, b = getattr(module, k)
        args[k] = (int(a), int(b))
    return module.weight, args


def _conv_back(module: nn.Conv1d | nn.Conv2d, x: Tensor, t: Tensor) -> Tensor:
    """``Jᵀ t`` of a convolution with input ``x``, for ``t`` of shape ``(N, C_out, ..., K)``."""
    weight, args = _conv_args(module)
    conv1d = isinstance(module, nn.Conv1d)
    x2 = x.unsqueeze(2) if conv1d else x
    t2 = t.unsqueeze(2) if conv1d else t  # (N, C_out, H, W, K)
    n, k = t2.shape[0], t2.shape[-1]
    columns = t2.movedim(-1, 1).reshape(n * k, *t2.shape[1:4])
    out = conv2d_input([n * k, *x2.shape[1:]], weight, columns, **args)
    out = out.reshape(n, k, *x2.shape[1:]).movedim(1, -1)
    return out.squeeze(2) if conv1d else out


def _conv_diagonals(module: nn.Conv1d | nn.Conv2d, x: Tensor, terms: list[_Term]) -> tuple[Tensor, Tensor]:
    """``diag H`` of a convolution's weight and bias from the terms of its output Hessian."""
    weight, args = _conv_args(module)
    conv1d = isinstance(module, nn.Conv1d)
    x2 = x.unsqueeze(2) if conv1d else x
    w_diag = torch.zeros_like(weight)
    b_diag = torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device)
    diagonals = [t.r for t in terms if isinstance(t, _Diag)]
    if diagonals:
        r = sum(diagonals[1:], diagonals[0])
        r = r.unsqueeze(2) if conv1d else r
        w_diag += conv2d_weight(x2 * x2, list(weight.shape), r, **args)
        b_diag += r.sum(dim=(0, 2, 3))
    cols = F.unfold(
        x2, weight.shape[2:], dilation=args["dilation"], padding=args["padding"], stride=args["stride"]
    )
    for term in terms:
        if isinstance(term, _Diag):
            continue
        dense = term.dense()
        n, k = dense.f.shape[0], dense.f.shape[-1]
        s = dense.f.reshape(n, weight.shape[0], -1, k)  # (N, C_out, positions, K)
        sign = torch.ones(n, k, dtype=s.dtype, device=s.device) if dense.sign is None else dense.sign
        g = torch.einsum("nip,nopk->nkoi", cols, s)
        w_diag += torch.einsum("nk,nkoi->oi", sign, g * g).reshape(weight.shape)
        sums = s.sum(2)
        b_diag += torch.einsum("nk,nok->o", sign, sums * sums)
    return (w_diag.squeeze(2) if conv1d else w_diag), b_diag


def _derivatives(module: nn.Module, z: Tensor) -> tuple[Tensor, Tensor | None]:
    """``f'(z)`` and ``f''(z)`` (``None`` when ``f`` is piecewise linear) of an elementwise activation."""
    linear = type(module) in _PIECEWISE_LINEAR or (
        isinstance(module, ActivationModule) and module.activation.name in _PIECEWISE_LINEAR_NAMES
    )
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        (d1,) = torch.autograd.grad(module(zz).sum(), zz, create_graph=not linear)
        if linear or not d1.requires_grad:
            return d1.detach(), None
        (d2,) = torch.autograd.grad(d1.sum(), zz)
    return d1.detach(), d2


# --------------------------------------------------------------------------- one batch


def _batch_diagonal(
    chain: list[tuple[str, nn.Module]],
    kind: str,
    x: Tensor,
    y: Tensor,
    wanted: set[int],
    n_total: int,
    residual: bool = True,
) -> tuple[dict[int, Tensor], Tensor]:
    """``n_b/N``-weighted diagonals (by parameter id) and the summed loss of one batch; without
    the ``residual`` terms of curved activations, the diagonal of the Gauss-Newton matrix.
    """
    inputs = []
    with torch.no_grad():
        z = x
        for _, module in chain:
            inputs.append(z)
            z = module(z)
    out = z
    if kind == "cross_entropy":
        if out.ndim != 2:
            raise ExactUnsupportedError(
                f"cross_entropy on outputs of shape {tuple(out.shape)}; the exact path needs (n, classes)"
            )
        check_labels(out, y, "y")
        logp = torch.log_softmax(out, dim=1)
        p = logp.exp()
        loss = -logp.gather(1, y.unsqueeze(1)).sum()
        grad = (p - F.one_hot(y, out.shape[1]).to(p.dtype)) / n_total
        root = p.sqrt()
        factor = (torch.diag_embed(root) - p.unsqueeze(2) * root.unsqueeze(1)) / math.sqrt(n_total)
        terms: list[_Term] = [_Dense(factor)]
    else:
        if y.shape != out.shape:
            if kind == "mse!" or y.numel() != out.numel():
                raise ExactUnsupportedError(
                    f"mse: target shape {tuple(y.shape)} differs from the output shape {tuple(out.shape)}"
                )
            y = y.reshape(out.shape)
        per = out[0].numel()
        loss = ((out - y) ** 2).sum() / per
        grad = 2 * (out - y) / (n_total * per)
        terms = [_Diag(torch.full_like(out, 2.0 / (n_total * per)))]
    earliest = min(
        (i for i, (_, m) in enumerate(chain) if any(id(p) in wanted for p in m.parameters())), default=0
    )
    found: dict[int, Tensor] = {}
    for i in range(len(chain) - 1, earliest - 1, -1):
        name, module = chain[i]
        a = inputs[i]
        if isinstance(module, nn.Linear):
            if a.ndim != 2:
                raise ExactUnsupportedError(
                    f"layer {name!r} (Linear) gets inputs of shape {tuple(a.shape)}; "
                    "the exact path needs (n, features)"
                )
            if id(module.weight) in wanted or (module.bias is not None and id(module.bias) in wanted):
                d = sum((t.diagonal() for t in terms[1:]), terms[0].diagonal())
                found[id(module.weight)] = d.T @ (a * a)
                if module.bias is not None:
                    found[id(module.bias)] = d.sum(0)
            if i > earliest:
                grad = grad @ module.weight
                terms = [_linear_back(t, module.weight) for t in terms]
        elif isinstance(module, (nn.Conv1d, nn.Conv2d)):
            if id(module.weight) in wanted or (module.bias is not None and id(module.bias) in wanted):
                w_diag, b_diag = _conv_diagonals(module, a, terms)
                found[id(module.weight)] = w_diag
                if module.bias is not None:
                    found[id(module.bias)] = b_diag
            if i > earliest:
                grad = _conv_back(module, a, grad.unsqueeze(-1)).squeeze(-1)
                dense = [t.dense() for t in terms]
                terms = [_Dense(_conv_back(module, a, t.f), t.sign) for t in dense]
        elif isinstance(module, nn.Flatten):
            grad = grad.reshape(a.shape)
            dense = [t.dense() for t in terms]
            terms = [_Dense(t.f.reshape(*a.shape, -1), t.sign) for t in dense]
        elif not isinstance(module, nn.Identity):  # an elementwise activation h = f(a)
            d1, d2 = _derivatives(module, a)
            terms = [t.scale(d1) for t in terms]
            if d2 is not None and residual:
                terms.append(_Diag(d2 * grad))  # the residual diag(f''(z) ⊙ ∂L/∂h)
            grad = grad * d1
        terms = _merged(terms)
    return found, loss


def _linear_back(term: _Term, weight: Tensor) -> _Term:
    """The term ``Wᵀ H W`` at a Linear layer's input."""
    if isinstance(term, _Diag):
        return _Projected(weight.T, term.r)
    dense = term.dense()
    return _Dense(torch.einsum("nok,oi->nik", dense.f, weight), dense.sign)


def _merged(terms: list[_Term]) -> list[_Term]:
    """Diagonal terms summed into one; unsigned dense factors joined along their columns."""
    diagonals = [t.r for t in terms if isinstance(t, _Diag)]
    plain = [t.f for t in terms if isinstance(t, _Dense) and t.sign is None]
    rest: list[_Term] = [
        t for t in terms if not (isinstance(t, _Diag) or (isinstance(t, _Dense) and t.sign is None))
    ]
    if plain:
        rest.insert(0, _Dense(torch.cat(plain, dim=-1)) if len(plain) > 1 else _Dense(plain[0]))
    if diagonals:
        rest.append(_Diag(sum(diagonals[1:], diagonals[0])))
    return rest


# --------------------------------------------------------------------------- the public function


def _batches(data: Batch | Iterable[Batch]) -> Iterable[Any]:
    if _is_batch(data):
        return [data]
    if isinstance(data, Iterator) or not isinstance(data, Iterable):
        raise TypeError(
            "data must be a batch (x, y) or a re-iterable of batches (a list, a DataLoader), "
            f"got {type(data).__name__}"
        )
    return data


def _backprop_diagonal(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    params: Params = None,
    residual: bool = True,
) -> tuple[dict[str, Tensor], float, int]:
    """``(diagonal by parameter name, summed loss, samples)`` by second-order backpropagation:
    the Hessian's with the ``residual`` terms of curved activations, the Gauss-Newton matrix's
    without them (BackPACK's ``DiagGGNExact``; arXiv 1902.01813).  Arguments as in
    :func:`hessian_diagonal`; an :class:`ExactUnsupportedError` for a model or loss it does not
    cover.
    """
    reason = exact_support(model, loss)
    if reason is not None:
        raise ExactUnsupportedError(
            f"no exact {'Hessian' if residual else 'Gauss-Newton'} diagonal: {reason}"
        )
    kind = _loss_kind(loss)[0]
    assert kind is not None
    named = _select_params(model, params)
    wanted = {id(p) for _, p in named}
    chain = _chain(model)
    device, dtype = placement(model)
    prepared = [
        prepare(
            b[0],
            b[1],
            "cross_entropy" if kind == "cross_entropy" else "mse",
            device,
            dtype,
            f"x (batch {i})",
            f"y (batch {i})",
        )
        for i, b in enumerate(_checked(_batches(data)))
    ]
    n_total = sum(x.shape[0] for x, _ in prepared)
    if n_total == 0:
        raise ValueError("data holds no batch")
    diagonal = {n: torch.zeros_like(p, memory_format=torch.contiguous_format).detach() for n, p in named}
    total = 0.0
    for x, y in prepared:
        with torch.no_grad():
            found, value = _batch_diagonal(chain, kind, x, y, wanted, n_total, residual)
        if not math.isfinite(float(value)):
            raise ValueError(f"loss is {float(value)} on a batch; the Hessian is undefined")
        total += float(value)
        for n, p in named:
            diagonal[n] += found.get(id(p), 0.0)
    return diagonal, total, n_total


@full_precision
def hessian_diagonal(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    params: Params = None,
) -> HessianDiagonal:
    """The exact diagonal of the loss Hessian ``diag ∇²_θ L`` and its trace, per parameter and layer.

    One forward pass and one backward pass of the factored output Hessian per batch (Dangel,
    Harmeling & Hennig 2020, arXiv 1902.01813; see the module docstring): exact up to
    round-off, the residual terms of curved activations included, no Hessian-vector product.
    The Hessian is the one of :class:`HessianOperator`: the full-data mean loss over the
    batches, restricted to the selected parameters (``params=``, as there).

    Args:
        model: an ``nn.Sequential`` (nested ones too) of supported layers (module docstring).
        loss: ``"mse"`` or ``"cross_entropy"`` (or ``F.mse_loss``, ``F.cross_entropy``, and
            their ``nn`` modules with the default mean reduction).
        data: one batch ``(x, y)`` or a re-iterable of batches.
        params: the parameters, as in :class:`HessianOperator`.

    Raises:
        ExactUnsupportedError: a ValueError naming the unsupported layer or loss.

    """
    diagonal, total, n_total = _backprop_diagonal(model, loss, data, params=params, residual=True)
    blocks = layer_blocks(model, params)
    layer_traces = {layer: sum(float(diagonal[n].sum()) for n in names) for layer, names in blocks.items()}
    return HessianDiagonal(
        diagonal=diagonal,
        trace=float(sum(layer_traces.values())),
        layer_traces=layer_traces,
        size=sum(d.numel() for d in diagonal.values()),
        loss_value=total / n_total,
        n_samples=n_total,
    )


def _checked(batches: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    for i, batch in enumerate(batches):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"batch {i} must be a pair (x, y), got {type(batch).__name__}")
        yield batch[0], batch[1]
