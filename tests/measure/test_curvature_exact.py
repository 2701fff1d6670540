"""The exact Hessian diagonal (second-order backpropagation, arXiv 1902.01813) against dense Hessians."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from zoo import lstm_classifier

from specinit.measure.curvature import (
    ExactUnsupportedError,
    exact_support,
    hessian_diagonal,
    hessian_trace,
    hessian_trace_per_layer,
)
from specinit.nn import activations

D = torch.float64


def _dense_hessian(model: nn.Module, loss: str, x: Tensor, y: Tensor) -> Tensor:
    """``∇²_θ L`` of all parameters, float64, by ``torch.autograd.functional.hessian``."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def value(theta: Tensor) -> Tensor:
        pieces = {n: c.reshape(s) for n, c, s in zip(names, torch.split(theta, sizes), shapes, strict=True)}
        out = torch.func.functional_call(model, pieces, (x,))
        return F.mse_loss(out, y.reshape(out.shape)) if loss == "mse" else F.cross_entropy(out, y)

    return torch.autograd.functional.hessian(value, flat)


def _data(loss: str, n: int, x_shape: tuple[int, ...], outputs: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *x_shape, generator=gen, dtype=D)
    if loss == "mse":
        return x, torch.randn(n, outputs, generator=gen, dtype=D)
    return x, torch.randint(0, outputs, (n,), generator=gen)


ACTIVATIONS = {
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "relu": nn.ReLU,
    "sine": lambda: activations.get("sine").module(),
    "silu": nn.SiLU,
}


def _mlp(act: str) -> nn.Module:
    torch.manual_seed(0)
    make = ACTIVATIONS[act]
    return nn.Sequential(
        nn.Linear(3, 6),
        make(),
        nn.Sequential(nn.Linear(6, 5), make()),
        nn.Linear(5, 4),
        make(),
        nn.Linear(4, 3),
    ).to(D)


def _conv_net() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, stride=2),
        nn.Tanh(),
        nn.Conv2d(3, 2, 2),
        nn.Sigmoid(),
        nn.Flatten(),
        nn.Linear(8, 4),
        nn.GELU(),
        nn.Linear(4, 3),
    ).to(D)


def _conv1d_net() -> nn.Module:
    torch.manual_seed(2)
    return nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=1), nn.Tanh(), nn.Conv1d(3, 2, 2, stride=2), nn.Flatten(), nn.Linear(6, 3)
    ).to(D)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_exact_diagonal_equals_the_dense_hessian_diagonal_of_an_mlp(act, loss):
    model = _mlp(act)
    x, y = _data(loss, 9, (3,), 3)
    dense = _dense_hessian(model, loss, x, y)
    result = hessian_diagonal(model, loss, (x, y))
    scale = float(dense.diagonal().abs().max())
    assert torch.allclose(result.flat(), dense.diagonal(), rtol=0, atol=1e-10 * max(scale, 1.0))
    assert result.trace == pytest.approx(float(dense.trace()), rel=1e-10, abs=1e-12)
    assert result.size == dense.shape[0] and result.n_samples == 9


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize(
    "make, x_shape", [(_conv_net, (2, 6, 6)), (_conv1d_net, (2, 6))], ids=["conv2d", "conv1d"]
)
def test_exact_diagonal_equals_the_dense_hessian_diagonal_of_a_conv_net(make, x_shape, loss):
    model = make()
    x, y = _data(loss, 5, x_shape, 3)
    dense = _dense_hessian(model, loss, x, y)
    result = hessian_diagonal(model, loss, (x, y))
    assert torch.allclose(result.flat(), dense.diagonal(), rtol=0, atol=1e-10)
    assert result.trace == pytest.approx(float(dense.trace()), rel=1e-10)


def test_per_parameter_and_per_layer_pieces_sum_to_the_trace_and_match_the_dense_blocks():
    model = _mlp("tanh")
    x, y = _data("cross_entropy", 9, (3,), 3)
    dense = _dense_hessian(model, "cross_entropy", x, y).diagonal()
    result = hessian_diagonal(model, "cross_entropy", (x, y))
    assert list(result.layer_traces) == ["0", "2.0", "3", "5"]
    assert sum(result.layer_traces.values()) == pytest.approx(result.trace, rel=1e-12)
    offset = 0
    for name, param in model.named_parameters():
        piece = dense[offset : offset + param.numel()].reshape(param.shape)
        assert result.diagonal[name].shape == param.shape
        assert torch.allclose(result.diagonal[name], piece, rtol=0, atol=1e-12), name
        offset += param.numel()
    assert "<dict of" in repr(result) or "tensor" in repr(result)
    assert "\n" not in repr(result) and len(repr(result)) < 300


def test_params_selects_parameters_and_batches_average_like_the_full_data():
    model = _mlp("gelu")
    x, y = _data("mse", 12, (3,), 3)
    full = hessian_diagonal(model, "mse", (x, y))
    chunks = hessian_diagonal(model, "mse", [(x[:5], y[:5]), (x[5:], y[5:])])
    assert torch.allclose(chunks.flat(), full.flat(), rtol=1e-12, atol=1e-14)
    assert chunks.loss_value == pytest.approx(full.loss_value, rel=1e-12)
    only = hessian_diagonal(model, "mse", (x, y), params=model[2])
    assert list(only.diagonal) == ["2.0.weight", "2.0.bias"]
    assert torch.equal(only.diagonal["2.0.weight"], full.diagonal["2.0.weight"])


def test_unsupported_layers_and_losses_are_named_in_one_line():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    x, y = torch.randn(5, 3), torch.randint(0, 2, (5,))
    with pytest.raises(ExactUnsupportedError, match=r"layer '1' \(LayerNorm\) is not supported") as info:
        hessian_diagonal(model, "cross_entropy", (x, y))
    assert "\n" not in str(info.value) and isinstance(info.value, ValueError)
    assert "PReLU" in str(exact_support(nn.Sequential(nn.Linear(3, 4), nn.PReLU()), "mse"))
    assert "loss" in str(exact_support(nn.Sequential(nn.Linear(3, 2)), lambda p, t: (p - t).abs().mean()))
    with pytest.raises(ExactUnsupportedError, match="LSTMClassifier"):
        hessian_diagonal(lstm_classifier()[0], "cross_entropy", lstm_classifier()[1:])


def test_hessian_trace_defaults_to_the_exact_trace_on_a_supported_model():
    # before: method="hutch++" with 99 products and a nonzero standard error
    model = _mlp("tanh")
    x, y = _data("cross_entropy", 9, (3,), 3)
    dense = float(_dense_hessian(model, "cross_entropy", x, y).trace())
    trace = hessian_trace(model, "cross_entropy", (x, y))
    assert trace.method == "exact" and trace.stderr == 0.0 and trace.num_matvecs == 0
    assert trace.estimate == pytest.approx(dense, rel=1e-10)
    assert hessian_trace(model, "cross_entropy", (x, y), method="exact").estimate == trace.estimate
    explicit = hessian_trace(model, "cross_entropy", (x, y), method="hutchinson", num_matvecs=8)
    assert explicit.method == "hutchinson" and explicit.num_matvecs == 8
    layers = hessian_trace_per_layer(model, "cross_entropy", (x, y))
    assert {r.method for r in layers.values()} == {"exact"}
    assert sum(r.estimate for r in layers.values()) == pytest.approx(dense, rel=1e-10)
    assert sum(r.size for r in layers.values()) == trace.size


def test_hessian_trace_falls_back_to_hutchpp_on_an_unsupported_model():
    model, x, y = lstm_classifier()
    trace = hessian_trace(model, "cross_entropy", (x[:3], y[:3]), num_matvecs=6, generator=0)
    assert trace.method == "hutch++" and trace.num_matvecs == 6
    with pytest.raises(ExactUnsupportedError, match="no exact Hessian diagonal"):
        hessian_trace(model, "cross_entropy", (x[:3], y[:3]), method="exact")
    with pytest.raises(ValueError, match="needs a model"):
        hessian_trace(torch.eye(3, dtype=D), method="exact")
    assert hessian_trace(torch.eye(3, dtype=D), num_matvecs=6).method == "hutch++"


def test_models_the_chain_rule_would_get_wrong_are_refused_or_computed_right():
    """Review findings: each of these gave a silently wrong diagonal before."""
    torch.manual_seed(0)
    x, y = _data("mse", 8, (3,), 2)
    shared = nn.Linear(3, 3)

    class Residual(nn.Sequential):  # a Sequential subclass with its own forward
        def forward(self, h: Tensor) -> Tensor:
            return h + super().forward(h)

    refused = {
        "shares a parameter": nn.Sequential(shared, nn.Tanh(), shared, nn.Tanh(), nn.Linear(3, 2)),
        "its own forward": nn.Sequential(Residual(nn.Linear(3, 3), nn.Tanh()), nn.Linear(3, 2)),
        "parametrized": nn.Sequential(
            nn.utils.parametrizations.weight_norm(nn.Linear(3, 4)), nn.Tanh(), nn.Linear(4, 2)
        ),
        "in-place": nn.Sequential(nn.Linear(3, 4), nn.ELU(inplace=True), nn.Linear(4, 2)),
    }
    for words, model in refused.items():
        model = model.double()
        assert words in (exact_support(model, "mse") or ""), words
        estimate = hessian_trace(model, "mse", (x, y), num_matvecs=8, generator=0)  # falls back, no crash
        assert estimate.method == "hutch++", words

    class Squared(nn.ReLU):  # a ReLU subclass that is not piecewise linear
        def forward(self, h: Tensor) -> Tensor:
            return torch.relu(h) ** 2

    model = nn.Sequential(nn.Linear(3, 4), Squared(), nn.Linear(4, 2)).double()
    dense = torch.diag(_dense_hessian(model, "mse", x, y))
    torch.testing.assert_close(hessian_diagonal(model, "mse", (x, y)).flat(), dense, atol=1e-10, rtol=1e-10)
