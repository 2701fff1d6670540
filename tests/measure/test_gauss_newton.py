"""GGN, Fisher and empirical-Fisher operators against dense ``Jᵀ Λ J`` and ``Σ g gᵀ / R``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from specinit.measure.curvature import (
    EmpiricalFisherOperator,
    FisherMCOperator,
    FisherOperator,
    GGNOperator,
    HessianOperator,
    empirical_fisher_diagonal,
    ggn_diagonal,
    hessian_density,
    hessian_eigs,
    hessian_trace,
)

N = 12


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()


def _cnn() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3)).double()


def _data(model: nn.Module, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    conv = isinstance(model[0], nn.Conv2d)
    x = torch.randn((N, 1, 5, 5) if conv else (N, 4), generator=g, dtype=torch.float64)
    if loss == "mse":
        return x, torch.randn(N, 3, generator=g, dtype=torch.float64)
    return x, torch.randint(0, 3, (N,), generator=g)


def _jacobian(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs ``(N, C)`` and the dense Jacobian ``(N·C, P)``."""
    names = [n for n, _ in model.named_parameters()]
    values = tuple(p.detach() for p in model.parameters())

    def f(*vals: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, dict(zip(names, vals, strict=True)), (x,))

    jac = torch.autograd.functional.jacobian(f, values)
    pred = f(*values)
    return pred, torch.cat([j.reshape(pred.numel(), -1) for j in jac], dim=1)


def _output_hessian(pred: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "mse":
        return torch.eye(pred.numel(), dtype=pred.dtype) * 2 / pred.numel()
    p = torch.softmax(pred, dim=1)
    return torch.block_diag(*[(torch.diag(q) - torch.outer(q, q)) / len(p) for q in p])


def _dense(op: object) -> torch.Tensor:
    eye = torch.eye(op.size, dtype=torch.float64)  # type: ignore[attr-defined]
    return torch.stack([op.matvec(e) for e in eye], dim=1)  # type: ignore[attr-defined]


def _per_sample_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    rows = []
    for i in range(len(x)):
        pred = model(x[i : i + 1])
        value = (
            F.mse_loss(pred, y[i : i + 1], reduction="sum")
            if loss == "mse"
            else F.cross_entropy(pred, y[i : i + 1])
        )
        rows.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(value, list(model.parameters()))]))
    return torch.stack(rows)


MODELS = {"mlp": _mlp, "cnn": _cnn}


@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_ggn_matches_dense_jacobian_form(arch: str, loss: str) -> None:
    model = MODELS[arch]()
    x, y = _data(model, loss)
    pred, J = _jacobian(model, x)
    G = J.T @ _output_hessian(pred, loss) @ J
    op = GGNOperator(model, loss, (x, y))
    torch.testing.assert_close(_dense(op), G, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(op.diagonal(chunk_size=5), torch.diag(G), atol=1e-10, rtol=0)
    fisher = FisherOperator(model, loss, (x, y))  # exact expectation: the GGN itself
    v = torch.randn(op.size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(fisher.matvec(v), G @ v, atol=1e-12, rtol=1e-10)
    diag = ggn_diagonal(model, loss, (x, y))
    torch.testing.assert_close(
        torch.cat([d.reshape(-1) for d in diag.values()]), torch.diag(G), atol=1e-10, rtol=0
    )


@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_empirical_fisher_matches_per_sample_gradients(arch: str, loss: str) -> None:
    model = MODELS[arch]()
    x, y = _data(model, loss)
    grads = _per_sample_grads(model, x, y, loss)
    terms = y.numel() if loss == "mse" else N  # R: the terms the loss averages
    E = grads.T @ grads / terms
    op = EmpiricalFisherOperator(model, loss, (x, y))
    torch.testing.assert_close(_dense(op), E, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(op.diagonal(chunk_size=5), torch.diag(E), atol=1e-10, rtol=0)
    diag = empirical_fisher_diagonal(model, loss, (x, y))
    torch.testing.assert_close(
        torch.cat([d.reshape(-1) for d in diag.values()]), torch.diag(E), atol=1e-10, rtol=0
    )


def test_ggn_equals_hessian_for_a_linear_model() -> None:
    torch.manual_seed(0)
    model = nn.Linear(5, 2).double()
    x, y = torch.randn(30, 5, dtype=torch.float64), torch.randn(30, 2, dtype=torch.float64)
    torch.testing.assert_close(
        _dense(GGNOperator(model, "mse", (x, y))),
        _dense(HessianOperator(model, "mse", (x, y))),
        atol=1e-12,
        rtol=0,
    )


def test_callable_loss_uses_the_output_hessian() -> None:
    model = _mlp()
    x, y = _data(model, "mse")
    named = GGNOperator(model, "mse", (x, y))
    custom = GGNOperator(model, lambda p, t: ((p - t) ** 2).mean(), (x, y))
    v = torch.randn(named.size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(custom.matvec(v), named.matvec(v), atol=1e-12, rtol=1e-10)
    with pytest.raises(ValueError, match="likelihood"):
        FisherOperator(model, lambda p, t: ((p - t) ** 2).mean(), (x, y))


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_fisher_mc_converges_to_the_fisher(loss: str) -> None:
    model = _mlp()
    x, y = _data(model, loss)
    G = _dense(GGNOperator(model, loss, (x, y)))
    errors = []
    for samples in (10, 1000):
        op = FisherMCOperator(model, loss, (x, y), mc_samples=samples, generator=3)
        D = _dense(op)
        torch.testing.assert_close(D, D.T, atol=1e-14, rtol=0)  # a fixed symmetric matrix
        torch.testing.assert_close(op.diagonal(), torch.diag(D), atol=1e-12, rtol=0)
        errors.append(float((D - G).norm() / G.norm()))
    # relative error ~ c/√M: from 10 to 1000 samples it falls ~10×; allow 3× slack
    assert errors[1] < errors[0] / 3
    assert errors[1] < 0.1


def test_estimators_run_on_every_operator() -> None:
    model = _mlp()
    x, y = _data(model, "cross_entropy")
    for cls in (GGNOperator, FisherOperator, EmpiricalFisherOperator, FisherMCOperator):
        op = cls(model, "cross_entropy", (x, y))
        D = _dense(op)
        exact = np.linalg.eigvalsh(D.numpy())[::-1]
        top = hessian_eigs(op, k=3, generator=0)
        np.testing.assert_allclose(top.eigenvalues, exact[:3], rtol=1e-8)
        trace = hessian_trace(op, method="hutch++", num_matvecs=3 * op.size, generator=0)
        np.testing.assert_allclose(trace.estimate, float(torch.trace(D)), rtol=1e-8)
        assert abs(
            hessian_trace(op, method="xtrace", num_matvecs=40).estimate - float(torch.trace(D))
        ) < 0.2 * float(torch.trace(D))
        density = hessian_density(op, n_probes=2, n_steps=op.size, generator=0)
        # full-length Lanczos: the Ritz values are eigenvalues, the largest one the top
        assert abs(density.nodes.max() - exact[0]) < 1e-8 * exact[0]
        assert density.nodes.min() > exact[-1] - 1e-8 * exact[0]


def test_batches_equal_their_concatenation() -> None:
    model = _mlp()
    for loss in ("mse", "cross_entropy"):
        x, y = _data(model, loss)
        batches = [(x[:5], y[:5]), (x[5:], y[5:])]
        for cls in (GGNOperator, EmpiricalFisherOperator, FisherOperator):
            one, many = cls(model, loss, (x, y)), cls(model, loss, batches)
            torch.testing.assert_close(_dense(many), _dense(one), atol=1e-12, rtol=1e-10)
            torch.testing.assert_close(many.diagonal(), one.diagonal(), atol=1e-12, rtol=1e-10)
            assert many.n_samples == N and abs(many.loss_value - one.loss_value) < 1e-12


def test_model_state_and_parameter_subsets() -> None:
    model = _mlp()
    x, y = _data(model, "cross_entropy")
    full = _dense(GGNOperator(model, "cross_entropy", (x, y)))
    sub = GGNOperator(model, "cross_entropy", (x, y), params=["2.weight", "2.bias"])
    torch.testing.assert_close(_dense(sub), full[-sub.size :, -sub.size :], atol=1e-12, rtol=0)
    assert model.training and all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="train_mode=False"):
        GGNOperator(model, "cross_entropy", (x, y), train_mode=True).diagonal()
    op = GGNOperator(model, "cross_entropy", (x, y))
    with torch.no_grad():
        model[2].bias.add_(1.0)
    with pytest.raises(RuntimeError, match="changed in place"):
        op.matvec(torch.zeros(op.size, dtype=torch.float64))


def test_one_loss_spelled_three_ways_has_one_scale():
    """Review finding: the empirical Fisher of F.mse_loss / nn.MSELoss() was D times that of "mse"."""
    model = _mlp()
    x, y = _data(model, "mse")
    sums = {
        str(spelling): (
            float(EmpiricalFisherOperator(model, spelling, (x, y)).diagonal().sum()),
            float(GGNOperator(model, spelling, (x, y)).diagonal().sum()),
        )
        for spelling in ("mse", F.mse_loss, nn.MSELoss())
    }
    first = next(iter(sums.values()))
    assert all(v == pytest.approx(first, rel=1e-12) for v in sums.values()), sums
    xc, yc = _data(model, "cross_entropy")
    a = GGNOperator(model, nn.CrossEntropyLoss(), (xc, yc)).diagonal()
    torch.testing.assert_close(
        a, GGNOperator(model, "cross_entropy", (xc, yc)).diagonal(), atol=1e-14, rtol=0
    )
