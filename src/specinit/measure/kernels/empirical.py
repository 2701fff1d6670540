"""The empirical neural tangent kernel of any ``nn.Module``.

For a network ``f_θ : R^d → R^O`` with parameters ``θ ∈ R^P`` and Jacobian
``J(x) = ∂f_θ(x)/∂θ ∈ R^{O×P}``, the neural tangent kernel is (Jacot, Gabriel & Hongler 2018,
arXiv 1806.07572)

    Θ(x, x') = J(x) J(x')ᵀ ∈ R^{O×O},   Θ[i, j, o, q] = ∂f_o(x_i)/∂θ · ∂f_q(x_j)/∂θ.

In the kernel (lazy) regime a network stays linear in its parameters,
``f_θ(x) ≈ f_0(x) + J(x)(θ − θ_0)``, and gradient flow on the squared loss becomes kernel
gradient flow with ``Θ`` (:mod:`.dynamics`).

:func:`ntk` never forms ``J`` for ``nn.Linear`` layers: the gradient of output ``o`` at point
``i`` w.r.t. a weight ``W`` with input ``a_i`` and output signal ``g_{o,i} = ∂f_o/∂z_i`` is the
outer product ``g_{o,i} a_iᵀ``, so ``⟨g aᵀ, g' a'ᵀ⟩ = (g·g')(a·a')`` and the layer contributes
``(G Gᵀ) ∘ (A Aᵀ + 1)`` (the per-layer Gram route).  Every other parameter goes through
per-point ``torch.func.vmap(jacrev)`` Jacobians, chunked over points (one point at a time when
``vmap`` cannot batch the model, e.g. ``nn.GRU``).

Any model: attention runs through the math backend of ``F.scaled_dot_product_attention`` (it has
vmap batching rules; the fused kernels do not) with the ``nn.MultiheadAttention`` fast path off
(:func:`specinit._core.autodiff.differentiable`); integer points (token ids) stay integer, since
the kernel differentiates w.r.t. the parameters only; what torch cannot differentiate is a
one-line ValueError naming the op and the layer.

>>> import torch
>>> from specinit.nn.models import ShallowNTKNet
>>> net = ShallowNTKNet(1, 64, "relu", generator=0)
>>> x = torch.linspace(-1, 1, 5).unsqueeze(1)
>>> theta = ntk(net, x)
>>> theta.shape, bool(torch.allclose(theta, theta.T))
(torch.Size([5, 5]), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

from specinit._core.autodiff import differentiable
from specinit._core.checks import as_tensor, check_int
from specinit._core.placement import module_mode

__all__ = ["ntk", "OUTPUTS", "METHODS", "DEFAULT_CHUNK"]

#: How :func:`ntk` treats several outputs: every output pair, the sum over outputs, or per output.
OUTPUTS = ("full", "trace", "diagonal")

#: :func:`ntk` routes: per-layer Gram products for ``nn.Linear`` plus Jacobians, or Jacobians only.
METHODS = ("auto", "jacobian")

#: Default number of points per forward (Gram route) or ``vmap(jacrev)`` call in :func:`ntk`.
DEFAULT_CHUNK = 256


def _params_of(model: nn.Module, params: Mapping[str, Tensor] | None) -> dict[str, Tensor]:
    """The parameters to differentiate: ``params`` (checked against the model) or all trainable ones."""
    named = dict(model.named_parameters())
    if params is None:
        chosen = {k: p.detach() for k, p in named.items() if p.requires_grad}
    else:
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a mapping name -> tensor, got {type(params).__name__}")
        unknown = sorted(set(params) - set(named))
        if unknown:
            raise ValueError(
                f"params names {unknown} are not parameters of the model; known: {', '.join(named) or 'none'}"
            )
        chosen = {}
        for k, p in params.items():
            if not isinstance(p, Tensor) or p.shape != named[k].shape:
                raise ValueError(f"params[{k!r}] must be a tensor of shape {tuple(named[k].shape)}")
            chosen[k] = p.detach()
    if not chosen:
        raise ValueError("the model has no trainable parameters to differentiate")
    return chosen


def _points(
    x: Any, name: str, dtype: torch.dtype, device: torch.device, *, keep_integer: bool = False
) -> Tensor:
    """``x`` as ``(n, *features)`` on ``device``; a 1-D ``x`` is ``n`` scalar inputs.

    Floating points are cast to ``dtype``.  Integer (and boolean) points, e.g. token ids for an
    ``nn.Embedding``, keep their dtype with ``keep_integer`` (the NTK differentiates w.r.t. the
    parameters only) and are cast to ``dtype`` otherwise.
    """
    t = as_tensor(x, name)
    if t.is_floating_point() or t.is_complex() or not keep_integer:
        t = t.to(dtype=dtype, device=device)
    else:
        t = t.to(device=device)
    return t.unsqueeze(1) if t.dim() == 1 else t


def _jacobian_fn(model: nn.Module, fixed: dict[str, Tensor]) -> Callable[[dict[str, Tensor], Tensor], Tensor]:
    """``(params, points) ↦ J`` with ``J[i, o, p] = ∂f_o(x_i)/∂θ_p``, one ``vmap(jacrev)`` call.

    A model that ``vmap`` cannot batch (``nn.GRU`` updates its unbatched initial state in
    place; ``.item()`` or data-dependent control flow in ``forward``) gets the same Jacobian
    from ``jacrev`` one point at a time: slower, never different.
    """

    def one(p: dict[str, Tensor], xi: Tensor) -> Tensor:
        return functional_call(model, {**fixed, **p}, (xi.unsqueeze(0),)).reshape(-1)

    per_point = vmap(jacrev(one), in_dims=(None, 0))
    vmapped = [True]  # cleared after the first failure: the loop from then on

    def jacobian(p: dict[str, Tensor], x: Tensor) -> Tensor:
        blocks: dict[str, Tensor] | None = None
        if vmapped[0]:
            try:
                blocks = per_point(p, x)
            except (RuntimeError, NotImplementedError):
                vmapped[0] = False
        if blocks is None:
            rows = [jacrev(one)(p, x[i]) for i in range(x.shape[0])]
            blocks = {k: torch.stack([r[k] for r in rows]) for k in p}
        return torch.cat([blocks[k].reshape(x.shape[0], blocks[k].shape[1], -1) for k in p], dim=2)

    return jacobian


def _chunked(fn: Callable[[Tensor], Any], x: Tensor, chunk: int) -> list:
    """``fn`` applied to consecutive slices of ``chunk`` rows of ``x``."""
    return [fn(x[s : s + chunk]) for s in range(0, x.shape[0], chunk)]


def _check_model_takes(model: nn.Module, x: Tensor, other: Tensor | None, name: str) -> int:
    """Run the model on one point, then on it with a second point; returns the output count ``O``.

    A shape mismatch is a ValueError naming ``name``.  Both routes of :func:`ntk` need the
    output at a point to depend on that point alone (the Gram route backpropagates the batch
    sum, the Jacobian route evaluates batches of one), so a point whose output changes when a
    second point joins the batch (e.g. ``x − x.mean(0)`` inside ``forward``) is a ValueError.
    """
    try:
        with torch.no_grad():
            alone = model(x[:1]).reshape(-1)
            paired = None if other is None else model(torch.cat([x[:1], other[-1:]]))
    except RuntimeError as exc:
        raise ValueError(
            f"the model cannot be applied to {name} with feature shape {tuple(x.shape[1:])}: {exc}"
        ) from exc
    if paired is not None:
        first = paired.reshape(2, -1)[0]
        tol = math.sqrt(torch.finfo(alone.dtype).eps) * (1.0 + float(alone.abs().max()))
        if first.shape != alone.shape or float((first - alone).abs().max()) > tol:
            raise ValueError(
                "the model's output at a point depends on the other points of the batch "
                "(batch statistics?); the NTK needs points processed independently"
            )
    return alone.numel()


class _Unstructured(Exception):
    """A Linear layer is not used once per forward on ``(n, in)`` inputs: use Jacobians."""


def _linear_layers(model: nn.Module, diff: Mapping[str, Tensor]) -> dict[nn.Linear, list[str]]:
    """``nn.Linear`` modules (exact type) whose weight (and bias, if any) are all differentiated."""
    layers = {}
    for name, module in model.named_modules():
        if type(module) is nn.Linear:
            prefix = f"{name}." if name else ""
            names = [prefix + "weight"] + ([prefix + "bias"] if module.bias is not None else [])
            if all(k in diff for k in names):
                layers[module] = names
    return layers


def _layer_signals(
    model: nn.Module, layers: Mapping[nn.Linear, list[str]], state: dict[str, Tensor], x: Tensor, n_out: int
) -> list[tuple[Tensor, Tensor]]:
    """Per Linear layer: its inputs ``A (n, in)`` and output signals ``G (O, n, out)``,
    ``G[o, i] = ∂f_o(x_i)/∂z_i`` for the layer output ``z``; assumes the points of a batch
    are processed independently (one backward pass per output then gives per-point signals).
    """
    seen: dict[nn.Module, list[tuple[Tensor, Tensor]]] = {m: [] for m in layers}
    # The layers' own parameters carry the graph (not the input, which may hold integer ids).
    own = {k for names in layers.values() for k in names}
    state = {k: v.detach().requires_grad_(True) if k in own else v for k, v in state.items()}

    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        seen[module].append((inputs[0], output))

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with torch.enable_grad():
            out = functional_call(model, state, (x,))
    finally:
        for handle in handles:
            handle.remove()
    calls = list(seen.values())
    if any(
        len(c) != 1 or c[0][0].dim() != 2 or c[0][0].shape[0] != x.shape[0] or not c[0][1].requires_grad
        for c in calls
    ):
        raise _Unstructured
    out = out.reshape(x.shape[0], n_out)
    outputs = [c[0][1] for c in calls]
    grads = []
    for o in range(n_out):
        g = torch.autograd.grad(out[:, o].sum(), outputs, retain_graph=o < n_out - 1, allow_unused=True)
        grads.append([torch.zeros_like(z) if gi is None else gi for gi, z in zip(g, outputs, strict=True)])
    return [(c[0][0].detach(), torch.stack([g[k] for g in grads]).detach()) for k, c in enumerate(calls)]


def _gram(left: Tensor, right: Tensor) -> Tensor:
    """``(O, n1, u) × (O, n2, u) → (n1, n2, O, O)`` inner products over ``u``."""
    n_out, n1, n2 = left.shape[0], left.shape[1], right.shape[1]
    flat = left.reshape(n_out * n1, -1) @ right.reshape(n_out * n2, -1).T
    return flat.reshape(n_out, n1, n_out, n2).permute(1, 3, 0, 2)


def _structured_ntk(
    model: nn.Module,
    layers: Mapping[nn.Linear, list[str]],
    state: dict[str, Tensor],
    a: Tensor,
    b: Tensor | None,
    n_out: int,
    chunk: int,
) -> Tensor:
    """Σ over Linear layers of ``(G1 G2ᵀ) ∘ (A1 A2ᵀ + [bias])``: the weight gradient of a point
    is the outer product ``g aᵀ``, so ``⟨g aᵀ, g' a'ᵀ⟩ = (g·g')(a·a')`` and ``J`` is never formed.
    """

    def signals(x: Tensor) -> list[tuple[Tensor, Tensor]]:
        parts = _chunked(lambda c: _layer_signals(model, layers, state, c, n_out), x, chunk)
        return [
            (torch.cat([p[k][0] for p in parts]), torch.cat([p[k][1] for p in parts], 1))
            for k in range(len(layers))
        ]

    s1 = signals(a)
    s2 = s1 if b is None else signals(b)
    theta: Tensor | None = None
    for (a1, g1), (a2, g2), (module, _) in zip(s1, s2, layers.items(), strict=True):
        inputs = a1 @ a2.T + (1.0 if module.bias is not None else 0.0)
        term = _gram(g1, g2) * inputs[:, :, None, None]
        theta = term if theta is None else theta + term
    assert theta is not None, "_structured_ntk needs at least one layer"
    return theta


def _jacobian_ntk(
    model: nn.Module,
    diff: dict[str, Tensor],
    fixed: dict[str, Tensor],
    a: Tensor,
    b: Tensor | None,
    chunk: int,
) -> Tensor:
    """``J(a) J(b)ᵀ`` from chunked ``vmap(jacrev)`` Jacobians, as ``(n1, n2, O, O)``."""
    jacobian = _jacobian_fn(model, fixed)
    j2 = torch.cat(_chunked(lambda c: jacobian(diff, c), a if b is None else b, chunk))
    n2, n_out, _ = j2.shape
    flat2 = j2.reshape(n2 * n_out, -1)
    blocks = []
    for s in range(0, a.shape[0], chunk):
        j1 = j2[s : s + chunk] if b is None else jacobian(diff, a[s : s + chunk])
        block = (j1.reshape(-1, flat2.shape[1]) @ flat2.T).reshape(j1.shape[0], n_out, n2, n_out)
        blocks.append(block.permute(0, 2, 1, 3))
    return torch.cat(blocks)


def ntk(
    model: nn.Module,
    x1: Any,
    x2: Any = None,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    params: Mapping[str, Tensor] | None = None,
    outputs: str = "full",
    method: str = "auto",
) -> Tensor:
    """Empirical NTK ``Θ(x1, x2) = J(x1) J(x2)ᵀ`` with ``J = ∂f/∂θ`` (Jacot et al. 2018,
    arXiv 1806.07572).

    Two routes, summed over the parameters each handles (``method="auto"``):

    * ``nn.Linear`` layers whose weight and bias are both differentiated: the gradient of
      output ``o`` at point ``i`` with respect to the weight is the outer product
      ``g_{o,i} a_iᵀ`` of the layer's output signal and input, so the layer contributes
      ``(g·g')(a·a' + 1)`` — one forward and ``O`` backward passes per chunk, no Jacobian.
      It falls back to Jacobians if a layer runs more than once per forward or on inputs
      that are not ``(n, in)`` (e.g. a ``Linear`` after a ``Conv2d`` without ``Flatten``).
    * every other parameter (and all of them with ``method="jacobian"``): per-point Jacobians
      from ``torch.func.vmap(jacrev(f))`` over ``chunk_size`` points, contracted by one
      matrix product per block.  Memory: ``J(x2)`` (``n2 · O · P`` numbers) plus a chunk.

    Both routes need the model to process the points of a batch independently (MLPs, CNNs,
    batch norm in eval mode); a model whose output at a point changes with the rest of the
    batch is refused with a ValueError rather than given a kernel of the wrong function.

    ``bench/ntk_vs_jacobian_loop.py`` compares both with a per-sample ``autograd.grad`` loop
    and with the jvp∘vjp route (Novak et al. 2022, arXiv 2206.08720; slower here: one
    forward-mode pass over all points per column).

    Args:
        model: any module mapping ``(n, *features)`` to ``(n,)`` or ``(n, O)``.  It is always
            evaluated in eval mode, also when it is in train mode: dropout is off and batch
            norm uses (and does not update) its running statistics, so the kernel is that of
            the eval-mode function; the modes of all submodules are restored.
        x1: points ``(n1, *features)``; a 1-D tensor is ``n1`` scalar inputs.  Cast to the
            model's dtype, as is ``x2``.
        x2: points ``(n2, *features)`` like ``x1``; ``None`` means ``x2 = x1``.
        chunk_size: points per forward/Jacobian call (the same kernel, up to round-off).
        params: the parameters to differentiate at (name → tensor); default every trainable
            parameter at its current value.  Other parameters are held fixed.
        outputs: with ``O > 1`` outputs, ``"full"`` gives ``Θ[i, j, o, q] = ∂f_o(x_i)·∂f_q(x_j)``
            of shape ``(n1, n2, O, O)``, ``"trace"`` the sum over ``o = q`` ``(n1, n2)``, and
            ``"diagonal"`` the ``o = q`` terms ``(n1, n2, O)``.  A single-output model always
            gives ``(n1, n2)``.
        method: ``"auto"`` (both routes) or ``"jacobian"`` (Jacobians only).

    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs must be one of {OUTPUTS}, got {outputs!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    chunk = check_int(chunk_size, "chunk_size")
    diff = _params_of(model, params)
    first = next(iter(diff.values()))
    a = _points(x1, "x1", first.dtype, first.device, keep_integer=True)
    b = None if x2 is None else _points(x2, "x2", first.dtype, first.device, keep_integer=True)
    if b is not None and a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"x1 and x2 must have the same feature shape, got {tuple(a.shape[1:])} and {tuple(b.shape[1:])}"
        )
    if b is not None and a.dtype != b.dtype:
        raise ValueError(f"x1 and x2 must have the same dtype, got {a.dtype} and {b.dtype}")
    with module_mode(model, False), differentiable(model, "ntk", replay=lambda: model(a[:1])):
        n_out = _check_model_takes(model, a, a[1:] if a.shape[0] > 1 else b, "x1")
        theta = _full_ntk(model, diff, a, b, n_out, chunk, gram=method == "auto")
    if n_out == 1:
        return theta[:, :, 0, 0]
    if outputs == "full":
        return theta
    diagonal = theta.diagonal(dim1=2, dim2=3)
    return diagonal.sum(-1) if outputs == "trace" else diagonal


def _full_ntk(
    model: nn.Module,
    diff: dict[str, Tensor],
    a: Tensor,
    b: Tensor | None,
    n_out: int,
    chunk: int,
    *,
    gram: bool,
) -> Tensor:
    """``Θ`` as ``(n1, n2, O, O)``: the Gram route for the Linear layers it can take (``gram``),
    the Jacobian route for every other differentiated parameter.
    """
    fixed = {k: v.detach() for k, v in (*model.named_parameters(), *model.named_buffers()) if k not in diff}
    layers = _linear_layers(model, diff) if gram else {}
    theta: Tensor | None = None
    if layers:
        try:
            theta = _structured_ntk(model, layers, {**fixed, **diff}, a, b, n_out, chunk)
        except _Unstructured:
            layers = {}
    done = {k for names in layers.values() for k in names}
    rest = {k: v for k, v in diff.items() if k not in done}
    if rest:
        held = {**fixed, **{k: v for k, v in diff.items() if k in done}}
        part = _jacobian_ntk(model, rest, held, a, b, chunk)
        theta = part if theta is None else theta + part
    assert theta is not None, "diff is not empty: some route took its parameters"
    return theta
