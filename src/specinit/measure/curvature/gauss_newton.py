"""The generalized Gauss-Newton matrix, the Fisher and the empirical Fisher of a model's loss.

For a model ``f(x; θ)`` with outputs ``f_n = f(x_n; θ)`` and a loss ``L = ℓ(f_1, …, f_N)``
that averages over its terms, the Hessian splits (Schraudolph 2002, "Fast curvature
matrix-vector products for second-order gradient descent"; Martens 2020, arXiv 1412.1193) as

    ∇²_θ L = Σ_n J_nᵀ (∇²_{f_n} L) J_n + Σ_n Σ_c (∂L/∂f_{nc}) ∇²_θ f_{nc},

``J_n = ∂f_n/∂θ``.  Dropping the second term, which holds the network's own curvature, gives
the **generalized Gauss-Newton** ``G = Σ_n J_nᵀ Λ_n J_n`` with ``Λ_n = ∇²_{f_n} L``: positive
semi-definite for a convex loss, equal to the Hessian for a model linear in ``θ``.  Three
operators share that form and differ in ``Λ_n`` only:

* :class:`GGNOperator` — ``Λ_n`` the loss's Hessian in the outputs, in closed form: for
  ``"mse"`` (``F.mse_loss``, the mean over all ``E`` output entries) ``Λ = (2/E) I``; for
  ``"cross_entropy"`` (the mean over ``N`` samples, ``p_n = softmax(f_n)``)
  ``Λ_n = (diag p_n − p_n p_nᵀ)/N``; any other callable loss by automatic differentiation in the
  outputs only (a double backward through the loss, never through the network).
* :class:`FisherOperator` — the Fisher ``F = Σ_n J_nᵀ E_{ŷ∼p(·|f_n)}[∇ℓ ∇ℓᵀ] J_n /R`` of the
  model's predictive distribution, whose negative log-likelihood the loss is (a Gaussian of
  variance ½ per output for ``"mse"``, the softmax categorical for ``"cross_entropy"``); there
  the expectation equals the output Hessian, so ``F = G`` exactly (Martens 2020, §9.2).
  :class:`FisherMCOperator` replaces the expectation by ``mc_samples`` labels ``ŷ`` drawn
  from ``p(·|f_n)`` with ``generator`` (curvlinops' ``FisherMCLinearOperator``): unbiased for
  ``F`` with variance ``O(1/mc_samples)``.
* :class:`EmpiricalFisherOperator` — ``Σ_n g_n g_nᵀ / R`` with ``g_n = J_nᵀ ∇_{f_n} ℓ_n`` the
  gradient of sample ``n``'s loss terms at its **true** label.  Not a curvature matrix in
  general: it matches the Fisher only when the labels follow the model and the model is well
  specified, and can mislead where they do not (Kunstner, Balles & Hennig 2019, arXiv
  1905.12558).

``R`` is the number of terms the loss averages: ``N`` for cross-entropy, ``N·C`` for mse with
``C`` outputs a sample, ``N`` for a callable (as in curvlinops, so the three agree in
expectation).  For batches ``b`` of sizes ``n_b`` every operator is the ``n_b/N``-weighted mean
of the batches' matrices, as :class:`.operators.HessianOperator` is.

A product ``G v`` costs one forward pass in forward mode (``J v`` for every sample at once, by
``torch.autograd.forward_ad``), the closed-form ``Λ (J v)`` and one backward pass
(``Jᵀ u``): about 2.5 forward passes, no double backward, and memory of one batch's
activations plus its outputs — ``J`` is never formed, however many outputs the model has.

**Exact diagonals.**  With a factorization ``Λ_n = S_n S_nᵀ`` (``S_n`` with ``K`` columns
``s_{n,k}``), ``diag G = Σ_n Σ_k (J_nᵀ s_{n,k})²``, each ``J_nᵀ s_{n,k}`` a per-sample
vector-Jacobian product (``torch.func.vjp``, vmapped over the columns and the samples of a
chunk): for any differentiable model, ``K`` backward passes a sample.  ``K = C`` for mse
(``S = √(2/E) I``) and cross-entropy (``S_n = (diag √p_n − p_n √p_nᵀ)/√N``, since
``Σ p = 1``), ``K = 1`` for the empirical Fisher (``S_n = g_n/√R`` in the outputs: the mean
of squared per-sample gradients), ``K = mc_samples`` for the sampled Fisher.  The diagonals
evaluate every sample alone, so they need ``train_mode=False``.

Every operator is an :class:`.operators.Operator`, so :func:`.trace.hessian_trace`,
:func:`.eigs.hessian_eigs` and :func:`.density.hessian_density` take it in place of a model.

>>> import torch
>>> from specinit.measure.curvature import HessianOperator
>>> model = torch.nn.Linear(3, 1, dtype=torch.float64)
>>> x, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)
>>> G = GGNOperator(model, "mse", (x, y))  # a linear model: the GGN is the Hessian
>>> H = HessianOperator(model, "mse", (x, y))
>>> v = torch.randn(G.size, dtype=torch.float64)
>>> bool(torch.allclose(G.matvec(v), H.matvec(v)))
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch import Tensor, nn

from specinit._core.autodiff import differentiable
from specinit._core.checks import check_int
from specinit._core.placement import full_precision
from specinit._core.rng import GeneratorLike
from specinit.measure.curvature.exact import ExactUnsupportedError, _backprop_diagonal
from specinit.measure.curvature.operators import (
    Batch,
    Params,
    _flat,
    _ModelOperator,
    _or_zeros,
)
from specinit.training.losses import Loss

__all__ = [
    "GGNOperator",
    "FisherOperator",
    "FisherMCOperator",
    "EmpiricalFisherOperator",
    "ggn_diagonal",
    "empirical_fisher_diagonal",
]


class _OutputCurvatureOperator(_ModelOperator):
    """``Σ_b (n_b/N) J_bᵀ Λ_b J_b`` for an output matrix ``Λ_b`` given by the subclass
    (``_output_product``, and ``_output_factor`` for the exact diagonal).
    """

    _what = "curvature"

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
        super().__init__(model, loss, data, params=params, train_mode=train_mode, generator=generator)
        self._check_loss()
        self.n_samples = 0
        total = 0.0
        with (
            differentiable(model, type(self).__name__, replay=self._replay),
            self._context(),
            torch.no_grad(),
        ):
            for xb, yb in self._prepared():
                value = self._loss(xb, yb)
                if self._example is None:
                    self._example = (xb, yb)
                self.n_samples += xb.shape[0]
                total += float(value) * xb.shape[0]
        if self.n_samples == 0:
            raise ValueError("data holds no batch")
        self.loss_value = total / self.n_samples

    # ------------------------------------------------------------------ the subclass's part

    def _check_loss(self) -> None:
        """Refuse a loss this operator has no output matrix for (default: accept any)."""

    def _output_product(self, pred: Tensor, y: Tensor, u: Tensor, generator: torch.Generator) -> Tensor:
        """``Λ_b u`` for a batch's outputs ``pred`` (detached) and a tangent ``u`` shaped like them."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _output_factor(self, pred: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        """``(n, D, K)`` per-sample factors ``S_n`` with ``Λ_b = blockdiag_n S_n S_nᵀ`` (``D``
        outputs a sample).
        """
        raise NotImplementedError  # pragma: no cover - abstract

    # ------------------------------------------------------------------ products and diagonal

    def _apply(self, v: Tensor) -> Tensor:
        self._check_unchanged()
        pieces = self._split(v)
        out = torch.zeros_like(v)
        with differentiable(self.model, f"{self._what}-vector product", replay=self._replay), self._context():
            generator = self._generator()
            for xb, yb in self._prepared():
                with fwAD.dual_level():
                    duals = [fwAD.make_dual(p, t) for p, t in zip(self._params, pieces, strict=True)]
                    pred, jv = fwAD.unpack_dual(self._forward(xb, duals))
                if jv is None:  # outputs do not depend on the selected parameters
                    continue
                u = self._output_product(pred.detach(), yb, jv.detach(), generator)
                u = u * (xb.shape[0] / self.n_samples)
                grads = torch.autograd.grad(pred, self._params, grad_outputs=u, allow_unused=True)
                out += _flat([_or_zeros(g, p) for g, p in zip(grads, self._params, strict=True)])
        return out

    @full_precision  # forward passes and products outside any caller autocast
    def diagonal(self, *, chunk_size: int = 32) -> Tensor:
        """The exact diagonal, flat like a vector of the operator (split it with :meth:`unflatten`).

        ``Σ_n Σ_k (J_nᵀ s_{n,k})²`` from the factors ``Λ_n = S_n S_nᵀ`` (module docstring):
        per-sample vector-Jacobian products, ``chunk_size`` samples at a time (memory
        ``chunk_size × K × size`` numbers).  Needs ``train_mode=False``.
        """
        chunk = check_int(chunk_size, "chunk_size")
        if self.train_mode:
            raise ValueError(
                f"{type(self).__name__}.diagonal() evaluates each sample alone; it needs train_mode=False"
            )
        self._check_unchanged()
        primals = tuple(p.detach() for p in self._params)
        pieces = [torch.zeros_like(p) for p in primals]

        def per_sample(x: Tensor, factor: Tensor) -> tuple[Tensor, ...]:
            vjp = torch.func.vjp(lambda *values: self._forward(x[None], values).reshape(-1), *primals)[1]
            columns = torch.func.vmap(vjp)(factor.T)  # (K, *shape) per parameter
            return tuple((c**2).sum(0) for c in columns)

        with differentiable(self.model, f"{self._what} diagonal", replay=self._replay), self._context():
            generator = self._generator()
            for xb, yb in self._prepared():
                with torch.no_grad():
                    pred = self._forward(xb)
                factor = self._output_factor(pred, yb, generator)
                factor = factor * math.sqrt(xb.shape[0] / self.n_samples)
                for start in range(0, xb.shape[0], chunk):
                    parts = torch.func.vmap(per_sample)(
                        xb[start : start + chunk], factor[start : start + chunk]
                    )
                    for piece, part in zip(pieces, parts, strict=True):
                        piece += part.sum(0)
        return _flat(pieces)

    def _generator(self) -> torch.Generator:
        """A generator seeded with ``seed`` at each pass, so every pass draws the same samples."""
        return torch.Generator(device=self._device).manual_seed(self.seed)

    # ------------------------------------------------------------------ shared by the subclasses

    def _terms(self, pred: Tensor) -> int:
        """``R_b``: how many terms the batch's loss averages (mse: entries; cross-entropy:
        samples × positions; a callable: samples).
        """
        if self._loss_name == "mse":
            return pred.numel()
        if self._loss_name == "cross_entropy":
            return pred.numel() // pred.shape[1]
        return pred.shape[0]

    def _check_classes(self, pred: Tensor) -> None:
        if self._loss_name == "cross_entropy" and pred.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} needs (n, classes) outputs for cross_entropy, "
                f"got shape {tuple(pred.shape)}"
            )


class GGNOperator(_OutputCurvatureOperator):
    """The generalized Gauss-Newton ``G = Σ_n J_nᵀ ∇²_{f_n}L J_n`` of a model's mean loss, as an
    :class:`.operators.Operator` (Schraudolph 2002; Martens 2020, arXiv 1412.1193).

    Products by forward-mode ``J v``, the output Hessian in closed form (``"mse"``,
    ``"cross_entropy"``; a callable loss by automatic differentiation in the outputs) and one
    backward pass ``Jᵀ u``; ``J`` is never formed.  :meth:`diagonal` is exact (``"mse"`` and
    ``"cross_entropy"``).  Arguments, data handling, model state and attributes as in
    :class:`.operators.HessianOperator`.
    """

    _what = "GGN"

    def _output_product(self, pred: Tensor, y: Tensor, u: Tensor, generator: torch.Generator) -> Tensor:
        if self._loss_name == "mse":
            return u * (2.0 / pred.numel())
        if self._loss_name == "cross_entropy":
            p = torch.softmax(pred, dim=1)
            pu = p * u
            return (pu - p * pu.sum(dim=1, keepdim=True)) / self._terms(pred)
        # any other loss: the Hessian-vector product in the outputs only
        with torch.enable_grad():
            out = pred.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self._loss_fn(out, y), out, create_graph=True)
            if not grad.requires_grad:  # a loss linear in the outputs
                return torch.zeros_like(u)
            (hu,) = torch.autograd.grad(grad, out, grad_outputs=u, allow_unused=True)
        return torch.zeros_like(u) if hu is None else hu

    def _output_factor(self, pred: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        n = pred.shape[0]
        if self._loss_name == "mse":
            d = pred[0].numel()
            eye = torch.eye(d, dtype=pred.dtype, device=pred.device) * math.sqrt(2.0 / pred.numel())
            return eye.expand(n, d, d)
        if self._loss_name == "cross_entropy":
            self._check_classes(pred)
            p = torch.softmax(pred, dim=1)
            root = p.sqrt()
            factor = torch.diag_embed(root) - p[:, :, None] * root[:, None, :]  # diag √p − p √pᵀ
            return factor / math.sqrt(n)
        raise ValueError(
            f"{type(self).__name__}.diagonal() knows the output Hessian of 'mse' and 'cross_entropy' only"
        )

    _backprop = True  # the output matrix is the loss Hessian itself (not FisherMC's sample)

    @full_precision  # forward passes and products outside any caller autocast
    def diagonal(self, *, chunk_size: int = 32) -> Tensor:
        """The exact diagonal, flat like a vector of the operator.

        On an ``nn.Sequential`` that :func:`.exact.hessian_diagonal` covers, with ``"mse"`` or
        ``"cross_entropy"``, one second-order backward pass of the factored output Hessian
        without the residual terms of curved activations (BackPACK's ``DiagGGNExact``, arXiv
        1902.01813); otherwise per-sample vector-Jacobian products, ``chunk_size`` samples at
        a time.  Needs ``train_mode=False``.
        """
        if self._backprop and not self.train_mode and self._loss_name in ("mse", "cross_entropy"):
            self._check_unchanged()
            try:  # the same refusal as hessian_trace's exact path: an uncovered model falls back
                diagonal, _, _ = _backprop_diagonal(
                    self.model, self._loss_name, self._batches, params=list(self.names), residual=False
                )
            except ExactUnsupportedError:
                pass
            else:
                return _flat([diagonal[name] for name in self.names]).to(self.dtype)
        return super().diagonal(chunk_size=chunk_size)


class FisherOperator(GGNOperator):
    """The Fisher information of the model's predictive distribution, in exact expectation.

    For ``"mse"`` (a Gaussian of variance ½ per output) and ``"cross_entropy"`` (the softmax
    categorical) the loss is that distribution's negative log-likelihood, and
    ``E_ŷ[∇_f ℓ ∇_f ℓᵀ] = ∇²_f ℓ``, so the Fisher **is** the GGN (Martens 2020, arXiv
    1412.1193, §9.2): same products and diagonal as :class:`GGNOperator`.  Other losses name no
    distribution and are refused; :class:`FisherMCOperator` samples instead.
    """

    _what = "Fisher"

    def _check_loss(self) -> None:
        if self._loss_name not in ("mse", "cross_entropy"):
            raise ValueError(
                f"{type(self).__name__} needs loss 'mse' or 'cross_entropy' (a likelihood), "
                f"got {self._loss_name!r}"
            )


class FisherMCOperator(FisherOperator):
    """The Fisher with the expectation over labels replaced by ``mc_samples`` draws (curvlinops'
    ``FisherMCLinearOperator``): ``F̂ = Σ_n J_nᵀ ((1/M) Σ_m g_{nm} g_{nm}ᵀ) J_n / R`` with
    ``g_{nm} = ∇_{f_n} ℓ(f_n, ŷ_{nm})``, ``ŷ_{nm} ∼ p(·|f_n)``: ``p_n − onehot(ŷ)`` for
    cross-entropy, ``2(f_n − ŷ) = √2 ε`` (``ε`` standard normal) for mse.

    The labels come from a generator seeded with ``generator``'s int at every product, so the
    operator is one fixed symmetric PSD matrix of rank at most ``N · mc_samples``; its entries
    deviate from :class:`FisherOperator`'s by ``O(1/√mc_samples)``.  Cross-entropy needs
    ``(n, classes)`` outputs.  Other arguments as in :class:`GGNOperator`.
    """

    _backprop = False  # the sampled output matrix has no backpropagated closed form

    _what = "Fisher (MC)"

    @full_precision  # forward passes and products outside any caller autocast
    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: Batch | Iterable[Batch],
        *,
        mc_samples: int = 1,
        params: Params = None,
        train_mode: bool = False,
        generator: GeneratorLike = 0,
    ) -> None:
        self.mc_samples = check_int(mc_samples, "mc_samples")
        super().__init__(model, loss, data, params=params, train_mode=train_mode, generator=generator)

    def _samples(self, pred: Tensor, generator: torch.Generator) -> Tensor:
        """``(M, *pred.shape)`` output gradients ``g`` at sampled labels."""
        m = self.mc_samples
        if self._loss_name == "mse":
            noise = torch.randn((m, *pred.shape), generator=generator, dtype=pred.dtype, device=pred.device)
            return math.sqrt(2.0) * noise
        self._check_classes(pred)
        p = torch.softmax(pred, dim=1)
        labels = torch.multinomial(p, m, replacement=True, generator=generator).T  # (M, n)
        return p[None] - F.one_hot(labels, pred.shape[1]).to(pred.dtype)

    def _output_product(self, pred: Tensor, y: Tensor, u: Tensor, generator: torch.Generator) -> Tensor:
        g = self._samples(pred, generator)
        inner = (g * u[None]).flatten(2).sum(-1)  # (M, n): g_{nm} · u_n
        weighted = inner.reshape(*inner.shape, *([1] * (g.ndim - 2))) * g
        return weighted.sum(0) / (self.mc_samples * self._terms(pred))

    def _output_factor(self, pred: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        g = self._samples(pred, generator).flatten(2)  # (M, n, D)
        return g.permute(1, 2, 0) / math.sqrt(self.mc_samples * self._terms(pred))


class EmpiricalFisherOperator(_OutputCurvatureOperator):
    """The empirical Fisher ``Σ_n g_n g_nᵀ / R``, ``g_n`` the gradient of sample ``n``'s loss
    terms at its true label (``R`` terms averaged by the loss; ``N`` for cross-entropy, so the
    mean of per-sample gradient outer products).

    Products never form a per-sample gradient: ``g_nᵀ v = (∇_{f_n} ℓ_n)ᵀ (J_n v)`` in forward
    mode for every sample at once, then one backward pass of ``Σ_n (g_nᵀ v) ∇_{f_n} ℓ_n``; the
    cost of a :class:`GGNOperator` product.  :meth:`diagonal` is the mean of the squared
    per-sample gradients.  Arguments as in :class:`GGNOperator`; a callable loss must average
    over its samples.  Not the Fisher (Kunstner et al. 2019, arXiv 1905.12558).
    """

    _what = "empirical Fisher"

    def _output_grads(self, pred: Tensor, y: Tensor) -> Tensor:
        """``R_b ∇_{f} L_b``: each sample's loss-term gradient in its outputs."""
        with torch.enable_grad():
            out = pred.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self._loss_fn(out, y), out)
        return grad * self._terms(pred)

    def _output_product(self, pred: Tensor, y: Tensor, u: Tensor, generator: torch.Generator) -> Tensor:
        g = self._output_grads(pred, y)
        inner = (g * u).flatten(1).sum(-1)
        return inner.reshape(-1, *([1] * (g.ndim - 1))) * g / self._terms(pred)

    def _output_factor(self, pred: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        g = self._output_grads(pred, y).flatten(1)
        return g[:, :, None] / math.sqrt(self._terms(pred))


@full_precision
def ggn_diagonal(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    params: Params = None,
    chunk_size: int = 32,
) -> dict[str, Tensor]:
    """The exact diagonal of the GGN (= the Fisher for ``"mse"``/``"cross_entropy"``), one
    tensor per parameter shaped like it, keyed by name.

    ``diag G = Σ_n Σ_k (J_nᵀ s_{n,k})²`` with ``∇²_{f_n} L = S_n S_nᵀ`` (module docstring):
    ``C`` per-sample backward passes a sample for ``C`` outputs, any differentiable model.  The
    model is evaluated in eval mode.  Arguments as in :class:`GGNOperator`.
    """
    op = GGNOperator(model, loss, data, params=params)
    return op.unflatten(op.diagonal(chunk_size=chunk_size))


@full_precision
def empirical_fisher_diagonal(
    model: nn.Module,
    loss: Loss,
    data: Batch | Iterable[Batch],
    *,
    params: Params = None,
    chunk_size: int = 32,
) -> dict[str, Tensor]:
    """The exact diagonal of the empirical Fisher: ``Σ_n g_n² / R``, the mean of squared
    per-sample gradients for cross-entropy, one tensor per parameter keyed by name.  Arguments
    as in :func:`ggn_diagonal`.
    """
    op = EmpiricalFisherOperator(model, loss, data, params=params)
    return op.unflatten(op.diagonal(chunk_size=chunk_size))
