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
``(G Gᵀ) ∘ (A Aᵀ + 1)`` (the per-layer Gram route, the "structured derivatives" of Novak,
Sohl-Dickstein & Schoenholz 2022, arXiv 2206.08720).  A convolution's weight gradient is
``Σ_p g_{o,i}[:, p] unfold(a_i)[:, p]ᵀ`` over output positions ``p``: one ``einsum`` of the
signals and the unfolded inputs per chunk, then the same Gram product.  The traced kernel
``Σ_o Θ_oo`` and the diagonal ``Θ_oo`` contract the output axis *inside* each layer's product,
``Σ_o (g_{o,i}·g_{o,j})(a_i·a_j + 1)``, so the ``(n1, n2, O, O)`` kernel is never built.  Every
other parameter goes through per-point ``torch.func.vmap(jacrev)`` Jacobians, chunked over
points (one point at a time when ``vmap`` cannot batch the model, e.g. ``nn.GRU``).

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
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap
from torch.nn import functional as F

from specinit._core.autodiff import differentiable
from specinit._core.checks import as_tensor, check_int
from specinit._core.placement import full_precision, module_mode

__all__ = ["ntk", "OUTPUTS", "METHODS", "STRUCTURED", "DEFAULT_CHUNK"]

#: How :func:`ntk` treats several outputs: every output pair, the sum over outputs, or per output.
OUTPUTS = ("full", "trace", "diagonal")

#: :func:`ntk` routes: structured layers plus Jacobians, structured layers only, or Jacobians only.
METHODS = ("auto", "structured", "jacobian")

#: Layer types whose parameters :func:`ntk` contracts by their structure, never forming ``J``.
STRUCTURED = (nn.Linear, nn.Conv1d, nn.Conv2d)

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
    """A structured layer is not used once per forward on batched inputs: use Jacobians."""


class _Factor(NamedTuple):
    """One route's share of ``Θ`` at ``n`` points, ``Θ_part[i, j, o, q] = ⟨L[i, o], L[j, q]⟩ · S[i, j]``.

    ``left`` is ``L (n, O, D)``: output signals ``g_{o,i}`` of an ``nn.Linear`` layer, per-point
    gradients of a convolution, or Jacobian rows.  ``right`` is the Linear layer's inputs
    ``A (n, in)`` with ``S = A Aᵀ + bias`` (``None``: ``S = 1``).
    """

    left: Tensor
    right: Tensor | None
    bias: bool

    def rows(self, start: int, stop: int) -> _Factor:
        """The factor of points ``start:stop``."""
        right = None if self.right is None else self.right[start:stop]
        return _Factor(self.left[start:stop], right, self.bias)


def _structured_layers(model: nn.Module, diff: Mapping[str, Tensor]) -> dict[nn.Module, list[str]]:
    """Modules of an exact type in :data:`STRUCTURED` whose weight (and bias) are all differentiated.

    Convolutions with ``groups > 1``, a non-zero ``padding_mode`` or ``padding="same"`` are left to
    the Jacobian route.
    """
    holders: dict[int, int] = {}  # a tied parameter (held by two modules) goes to the Jacobian route
    for module in model.modules():
        for param in module.parameters(recurse=False):
            holders[id(param)] = holders.get(id(param), 0) + 1
    layers = {}
    for name, module in model.named_modules():
        if type(module) not in STRUCTURED or any(
            holders[id(p)] > 1 for p in module.parameters(recurse=False)
        ):
            continue
        if isinstance(module, nn.Conv1d | nn.Conv2d) and (
            module.groups != 1 or module.padding_mode != "zeros" or module.padding == "same"
        ):
            continue
        prefix = f"{name}." if name else ""
        names = [prefix + "weight"] + ([prefix + "bias"] if module.bias is not None else [])
        if all(k in diff for k in names):
            layers[module] = names
    return layers


def _conv_gradients(module: nn.Conv1d | nn.Conv2d, inputs: Tensor, signals: Tensor) -> Tensor:
    """Per-point parameter gradients ``(n, O, D)`` of a convolution from its inputs and output
    signals ``(n, O, C_out, *positions)``.

    With ``U_i = unfold(a_i)`` (``C_in·k`` by ``P`` output positions) and ``g_{o,i}`` the
    ``C_out × P`` output signal, ``∂f_o(x_i)/∂W = Σ_p g_{o,i}[:, p] U_i[:, p]ᵀ`` and
    ``∂f_o(x_i)/∂b = Σ_p g_{o,i}[:, p]``, so the layer's kernel ``Σ_{p,p'} (g_p·g'_{p'})(U_p·U'_{p'})``
    is a Gram product of these ``D = C_out·(C_in·k + 1)`` numbers per point and output.
    """
    n, n_out = signals.shape[:2]
    # "valid" is no padding; "same" never gets here (_structured_layers).
    pad = (0,) * len(module.kernel_size) if isinstance(module.padding, str) else tuple(module.padding)
    size, dilation, stride = tuple(module.kernel_size), tuple(module.dilation), tuple(module.stride)
    padding: tuple[int, ...] = tuple(int(p) for p in pad)
    if isinstance(module, nn.Conv1d):  # as a Conv2d of height 1
        inputs = inputs.unsqueeze(2)
        size, dilation, stride, padding = (1, *size), (1, *dilation), (1, *stride), (0, *padding)
    unfolded = F.unfold(inputs, size, dilation=dilation, padding=padding, stride=stride)  # (n, C_in·k, P)
    g = signals.reshape(n, n_out, module.out_channels, -1)
    grads = torch.einsum("nocp,nkp->nock", g, unfolded).reshape(n, n_out, -1)
    if module.bias is not None:
        grads = torch.cat([grads, g.sum(-1)], dim=2)
    return grads


_INPUT_DIMS = {nn.Linear: 2, nn.Conv1d: 3, nn.Conv2d: 4}


def _layer_signals(
    model: nn.Module, layers: Mapping[nn.Module, list[str]], state: dict[str, Tensor], x: Tensor, n_out: int
) -> list[_Factor]:
    """One :class:`_Factor` per structured layer at the points ``x``: one forward and ``O`` backward
    passes give the output signals ``G[o, i] = ∂f_o(x_i)/∂z_i`` of every layer output ``z``;
    assumes the points of a batch are processed independently.
    """
    seen: dict[nn.Module, list[tuple[Tensor, Tensor]]] = {m: [] for m in layers}
    versions: list[tuple[Tensor, int]] = []
    # The layers' own parameters carry the graph (not the input, which may hold integer ids).
    own = {k for names in layers.values() for k in names}
    state = {k: v.detach().requires_grad_(True) if k in own else v for k, v in state.items()}

    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        seen[module].append((inputs[0], output))
        versions.append((inputs[0], inputs[0]._version))
        # The model goes on with a copy: an in-place activation after the layer (ReLU(inplace=True))
        # must not overwrite the output whose gradient is the layer's signal.
        return output.clone()

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with torch.enable_grad():
            out = functional_call(model, state, (x,))
    finally:
        for handle in handles:
            handle.remove()
    if any(t._version != v for t, v in versions) or any(
        len(c) != 1
        or c[0][0].dim() != _INPUT_DIMS[type(m)]
        or c[0][0].shape[0] != x.shape[0]
        or not c[0][1].requires_grad
        for m, c in seen.items()
    ):
        raise _Unstructured
    out = out.reshape(x.shape[0], n_out)
    outputs = [c[0][1] for c in seen.values()]
    grads = []
    for o in range(n_out):
        g = torch.autograd.grad(out[:, o].sum(), outputs, retain_graph=o < n_out - 1, allow_unused=True)
        grads.append([torch.zeros_like(z) if gi is None else gi for gi, z in zip(g, outputs, strict=True)])
    factors = []
    for k, (module, calls) in enumerate(seen.items()):
        inputs = calls[0][0].detach()
        signals = torch.stack([g[k] for g in grads], dim=1)  # (n, O, *out)
        if isinstance(module, nn.Linear):
            factors.append(_Factor(signals, inputs, module.bias is not None))
        else:
            assert isinstance(module, nn.Conv1d | nn.Conv2d)
            factors.append(_Factor(_conv_gradients(module, inputs, signals), None, False))
    return factors


def _contract(f1: _Factor, f2: _Factor, outputs: str) -> Tensor:
    """``Θ_part`` between the points of ``f1`` and ``f2``, the output axes contracted as ``outputs``.

    ``"trace"`` sums ``o = q`` inside the product: ``Σ_o L1[i, o]·L2[j, o]`` is one matrix
    product over ``O·D`` numbers, ``(c, m)``; ``"diagonal"`` is one batched product over ``o``,
    ``(c, m, O)``; ``"full"`` is ``(c, m, O, O)``.  Then the Hadamard product with ``S``.
    """
    l1, l2 = f1.left, f2.left
    (c, n_out, dim), m = l1.shape, l2.shape[0]
    if outputs == "trace":
        k = l1.reshape(c, -1) @ l2.reshape(m, -1).T
    elif outputs == "diagonal":
        k = torch.bmm(l1.transpose(0, 1), l2.permute(1, 2, 0)).permute(1, 2, 0)
    else:
        k = (l1.reshape(c * n_out, dim) @ l2.reshape(m * n_out, dim).T).reshape(c, n_out, m, n_out)
        k = k.permute(0, 2, 1, 3)
    if f1.right is not None:
        assert f2.right is not None
        s = f1.right @ f2.right.T
        if f1.bias:
            s += 1.0
        k = k * s.reshape(c, m, *(1,) * (k.dim() - 2))
    return k


def _swap(block: Tensor) -> Tensor:
    """``Θ(x2, x1)`` from a block of ``Θ(x1, x2)``: swap the point axes (and the output axes)."""
    return block.permute(1, 0, *range(block.dim() - 1, 1, -1))


@full_precision
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

    * structured layers (:data:`STRUCTURED`: ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` with
      ``groups=1``, zero padding other than ``"same"``) whose weight and bias are all
      differentiated: the gradient of output ``o`` at point ``i`` with respect to a Linear weight
      is the outer product ``g_{o,i} a_iᵀ`` of the layer's output signal and input, so the layer
      contributes ``(g·g')(a·a' + 1)``; a convolution's is ``Σ_p g_{o,i,p} u_{i,p}ᵀ`` over output
      positions (``u = unfold(a)``), formed per point by one ``einsum``.  One forward and ``O``
      backward passes per chunk, no Jacobian.  It falls back to Jacobians if a layer runs more
      than once per forward or on inputs that are not batched ``(n, in)`` / ``(n, C, *spatial)``.
    * every other parameter (and all of them with ``method="jacobian"``): per-point Jacobians
      from ``torch.func.vmap(jacrev(f))`` over ``chunk_size`` points.

    Both contract the output axes as asked inside the per-block product: ``"trace"`` is one
    matrix product over ``O·D`` numbers per layer, ``Σ_o (g_{o,i}·g_{o,j})(a_i·a_j + 1)``, so the
    ``(n1, n2, O, O)`` kernel is never built.  ``x2 = None`` computes the blocks on and above the
    diagonal and mirrors them.  Memory: the per-layer factors of the ``n2`` column points
    (Linear: ``n2·(O·out + in)`` numbers; convolution and Jacobian: ``n2·O·D``), the result, and
    one block of ``chunk_size`` rows (``chunk_size·n2`` numbers per output pair kept).

    Both routes need the model to process the points of a batch independently (MLPs, CNNs,
    batch norm in eval mode); a model whose output at a point changes with the rest of the
    batch is refused with a ValueError rather than given a kernel of the wrong function.

    ``bench/ntk_vs_neural_tangents.py`` compares the traced and full kernels with
    neural-tangents' structured derivatives; ``bench/ntk_vs_jacobian_loop.py`` compares both
    with a per-sample ``autograd.grad`` loop and with the jvp∘vjp route (Novak et al. 2022,
    arXiv 2206.08720; slower here: one forward-mode pass over all points per column).

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
        method: ``"auto"`` (both routes), ``"structured"`` (the structured route only: a
            ValueError names the parameters it cannot take) or ``"jacobian"`` (Jacobians only).

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
        return _ntk(model, diff, a, b, n_out, chunk, "trace" if n_out == 1 else outputs, method)


def _ntk(
    model: nn.Module,
    diff: dict[str, Tensor],
    a: Tensor,
    b: Tensor | None,
    n_out: int,
    chunk: int,
    outputs: str,
    method: str,
) -> Tensor:
    """``Θ(a, b)`` with its output axes contracted as ``outputs``: the structured route for the
    layers it can take, the Jacobian route for every other differentiated parameter.

    Memory: the factors of all ``n2`` column points (per Linear layer ``n2·(O·out + in)`` numbers,
    per convolution or Jacobian ``n2·O·D``), the result, and one block of ``chunk_size`` rows.
    With ``b = None`` only the blocks on and above the diagonal are computed; the rest is their
    mirror image.
    """
    fixed = {k: v.detach() for k, v in (*model.named_parameters(), *model.named_buffers()) if k not in diff}
    layers = _structured_layers(model, diff) if method != "jacobian" else {}
    columns_at = a if b is None else b
    columns: list[_Factor] = []
    if layers:
        state = {**fixed, **diff}
        try:
            columns = _collect(lambda c: _layer_signals(model, layers, state, c, n_out), columns_at, chunk)
        except _Unstructured:
            if method == "structured":
                raise ValueError(
                    "method='structured' needs every Linear/Conv layer applied once per forward to "
                    "batched inputs; use method='auto'"
                ) from None
            layers = {}
    done = {k for names in layers.values() for k in names}
    rest = {k: v for k, v in diff.items() if k not in done}
    if rest and method == "structured":
        raise ValueError(
            f"method='structured' covers {', '.join(t.__name__ for t in STRUCTURED)} layers only; "
            f"parameters {sorted(rest)} need method='auto'"
        )
    held = {**fixed, **{k: v for k, v in diff.items() if k in done}}
    jacobian = _jacobian_fn(model, held) if rest else None

    def factors(x: Tensor) -> list[_Factor]:
        found = _layer_signals(model, layers, {**fixed, **diff}, x, n_out) if layers else []
        if jacobian is not None:
            found.append(_Factor(jacobian(rest, x), None, False))
        return found

    if jacobian is not None:
        columns += _collect(lambda c: [_Factor(jacobian(rest, c), None, False)], columns_at, chunk)
    n1, n2 = a.shape[0], columns_at.shape[0]
    tail = {"full": (n_out, n_out), "trace": (), "diagonal": (n_out,)}[outputs]
    theta = columns[0].left.new_empty((n1, n2, *tail))
    for s in range(0, n1, chunk):
        stop = min(s + chunk, n1)
        start = s if b is None else 0  # x2 = x1: blocks on and above the diagonal, then mirrored
        rows = [f.rows(s, stop) for f in columns] if b is None else factors(a[s:stop])
        block = _contract(rows[0], columns[0].rows(start, n2), outputs)
        for r, f in zip(rows[1:], columns[1:], strict=True):
            block += _contract(r, f.rows(start, n2), outputs)
        theta[s:stop, start:] = block
        if b is None:
            theta[stop:, s:stop] = _swap(block[:, stop - s :])
    return theta


def _collect(fn: Callable[[Tensor], list[_Factor]], x: Tensor, chunk: int) -> list[_Factor]:
    """``fn`` over consecutive chunks of ``x``, written into factors of all ``n`` points as it goes
    (never the chunks and their concatenation at once).
    """
    found: list[_Factor] = []
    for s in range(0, x.shape[0], chunk):
        part = fn(x[s : s + chunk])
        if not found:
            found = [
                _Factor(
                    f.left.new_empty((x.shape[0], *f.left.shape[1:])),
                    None if f.right is None else f.right.new_empty((x.shape[0], *f.right.shape[1:])),
                    f.bias,
                )
                for f in part
            ]
        for whole, f in zip(found, part, strict=True):
            whole.left[s : s + chunk] = f.left
            if whole.right is not None and f.right is not None:
                whole.right[s : s + chunk] = f.right
    return found
