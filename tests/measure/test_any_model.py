"""Curvature and NTK on models nobody here wrote: attention, recurrent layers, token inputs (issue 15).

Reference numbers come from dense Hessians (``torch.autograd.functional.hessian``, math attention
backend) and
per-sample Jacobians (``torch.autograd.functional.jacobian``) of tiny models.
"""

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn.attention import SDPBackend, sdpa_kernel
from zoo import bert, gpt2, gru_classifier, lstm_classifier, transformer_encoder

from specinit.measure.curvature import HessianOperator, hessian_eigs, hessian_trace
from specinit.measure.kernels import ntk

VOCAB, SEQ, BATCH, CLASSES = 7, 3, 4, 3


class TinyAttention(nn.Module):
    """Embedding(7, 4) → TransformerEncoderLayer(d_model=4, nhead=2, ff=8) → mean pool → Linear(4, 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 4)
        self.block = nn.TransformerEncoderLayer(4, nhead=2, dim_feedforward=8, dropout=0.0, batch_first=True)
        self.head = nn.Linear(4, CLASSES)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.embed(ids)).mean(1))


class TinyGRU(nn.Module):
    """Embedding(7, 3) → GRU(3, 4) → last state → Linear(4, 3): vmap cannot batch nn.GRU."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 3)
        self.gru = nn.GRU(3, 4, batch_first=True)
        self.head = nn.Linear(4, CLASSES)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.gru(self.embed(ids))[0][:, -1])


def _tiny(cls: type[nn.Module]) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    y = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    return cls().double(), x, y


def _dense_hessian(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss Hessian w.r.t. all parameters (flattened in ``named_parameters`` order), in eval mode."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def loss(theta: torch.Tensor) -> torch.Tensor:
        pieces = [c.reshape(s) for c, s in zip(torch.split(theta, sizes), shapes, strict=True)]
        out = functional_call(model, dict(zip(names, pieces, strict=True)), (x,))
        return nn.functional.cross_entropy(out, y)

    # torch.autograd.functional.hessian (double backward): torch.func.hessian and
    # jacrev(jacrev(...)) return an asymmetric matrix here on torch 2.13 (wrong in the rows of
    # the LayerNorm weights), while double backward gives a symmetric one.
    model.eval()
    with sdpa_kernel([SDPBackend.MATH]):
        return torch.autograd.functional.hessian(loss, flat)


def _jacobian_kernel(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``Θ[i, j] = J_i J_jᵀ`` from one ``autograd.functional.jacobian`` per point, ``(n, n, O, O)``."""
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach() for _, p in model.named_parameters())
    model.eval()
    rows = []
    for i in range(x.shape[0]):

        def f(*theta: torch.Tensor, i: int = i) -> torch.Tensor:
            return functional_call(model, dict(zip(names, theta, strict=True)), (x[i : i + 1],))[0]

        jac = torch.autograd.functional.jacobian(f, params)
        rows.append(torch.cat([j.reshape(CLASSES, -1) for j in jac], dim=1))
    J = torch.stack(rows)  # (n, O, P)
    return torch.einsum("iop,jqp->ijoq", J, J)


# --------------------------------------------------------------------------- exact on tiny models


def test_trace_and_top_eigenvalue_of_a_tiny_attention_model_equal_the_dense_hessians():
    model, x, y = _tiny(TinyAttention)
    H = _dense_hessian(model, x, y)
    size = H.shape[0]
    assert 150 < size < 400 and torch.allclose(H, H.T, atol=1e-10)
    model.train()  # measurements use eval mode by default and restore this
    # Hutch++ with a sketch of every dimension is exact (see the trace module)
    trace = hessian_trace(model, "cross_entropy", (x, y), method="hutch++", num_matvecs=3 * size, generator=0)
    assert trace.estimate == pytest.approx(float(torch.trace(H)), rel=1e-9, abs=1e-9)
    assert model.training
    top = hessian_eigs(model, "cross_entropy", (x, y), k=2, generator=0, tol=1e-12)
    dense = torch.linalg.eigvalsh(H)
    assert top.eigenvalues[0] == pytest.approx(float(dense[-1]), rel=1e-6)
    assert top.eigenvalues[1] == pytest.approx(float(dense[-2]), rel=1e-6)
    # one Hessian-vector product against the dense matrix
    op = HessianOperator(model, "cross_entropy", (x, y))
    v = torch.randn(size, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert torch.allclose(op.matvec(v), H @ v, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("method", ["auto", "jacobian"])
@pytest.mark.parametrize("cls", [TinyAttention, TinyGRU])
def test_ntk_of_tiny_token_models_equals_the_jacobian_products(cls, method):
    model, x, _ = _tiny(cls)
    expected = _jacobian_kernel(model, x)
    model.train()
    theta = ntk(model, x, method=method)  # int64 ids stay int64
    assert theta.shape == (BATCH, BATCH, CLASSES, CLASSES)
    assert torch.allclose(theta, expected, rtol=1e-10, atol=1e-12)
    assert model.training
    cross = ntk(model, x[:2], x[1:])
    assert torch.allclose(cross, expected[:2, 1:], rtol=1e-10, atol=1e-12)


def test_ntk_of_an_eval_mode_transformer_encoder_is_not_taken_through_the_fast_path():
    # nn.TransformerEncoder in eval mode takes torch._native_multi_head_attention / the fused
    # encoder layer when no gradient is needed; the NTK must see the differentiable ops.
    torch.manual_seed(0)
    block = nn.TransformerEncoderLayer(4, nhead=2, dim_feedforward=8, dropout=0.1, batch_first=True)
    model = (
        nn.Sequential(
            nn.Embedding(VOCAB, 4),
            nn.TransformerEncoder(block, 2, enable_nested_tensor=False),
            nn.Flatten(),
            nn.Linear(4 * SEQ, CLASSES),
        )
        .double()
        .eval()
    )
    x = torch.randint(0, VOCAB, (BATCH, SEQ), generator=torch.Generator().manual_seed(3))
    expected = _jacobian_kernel(model, x)
    assert torch.allclose(ntk(model, x, method="jacobian"), expected, rtol=1e-10, atol=1e-12)
    assert torch.allclose(ntk(model, x), expected, rtol=1e-10, atol=1e-12)
    assert torch.backends.mha.get_fastpath_enabled()  # restored


def test_float_points_of_a_token_model_are_not_silently_cast():
    model, x, _ = _tiny(TinyAttention)
    with pytest.raises(ValueError, match="same dtype"):
        ntk(model, x, x.double())


# --------------------------------------------------------------------------- the zoo (issue 15)


def test_hessian_of_nn_transformer_encoder_runs_through_the_math_attention_backend():
    # before: "derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented"
    model, x, y = transformer_encoder()
    trace = hessian_trace(model, "cross_entropy", (x, y), num_matvecs=4, generator=0)
    assert math.isfinite(trace.estimate) and trace.num_matvecs == 4
    top = hessian_eigs(model, "cross_entropy", (x, y), method="power", which="LM", max_iter=8, generator=0)
    assert math.isfinite(float(top.eigenvalues[0])) and top.eigenvalues[0] > 0


@pytest.mark.parametrize("make", [bert, gpt2], ids=["bert", "gpt2"])
def test_huggingface_models_get_hessian_and_ntk(make):
    model, x, y = make()
    x, y = x[:3], y[:3]
    trace = hessian_trace(model, "cross_entropy", (x, y), num_matvecs=4, generator=0)
    top = hessian_eigs(model, "cross_entropy", (x, y), method="power", which="LM", max_iter=4, generator=0)
    theta = ntk(model, x)
    assert math.isfinite(trace.estimate) and math.isfinite(float(top.eigenvalues[0]))
    assert theta.shape == (3, 3, CLASSES, CLASSES) and bool(torch.isfinite(theta).all())
    gram = theta.permute(0, 2, 1, 3).reshape(9, 9)
    assert torch.allclose(gram, gram.T, rtol=1e-4, atol=1e-5)
    assert float(torch.linalg.eigvalsh(gram.double()).min()) > -1e-4 * float(gram.abs().max())


@pytest.mark.parametrize("make", [lstm_classifier, gru_classifier], ids=["lstm", "gru"])
def test_recurrent_models_get_hessian_and_ntk(make):
    model, x, y = make()
    trace = hessian_trace(model, "cross_entropy", (x[:3], y[:3]), num_matvecs=4, generator=0)
    theta = ntk(model, x[:3], outputs="trace")
    assert math.isfinite(trace.estimate) and theta.shape == (3, 3) and bool(torch.isfinite(theta).all())
    assert bool((torch.diagonal(theta) > 0).all())
