"""Issue 15's acceptance suite: every public entry point on models nobody here wrote.

Each zoo model (tests/zoo.py: nn.TransformerEncoder, LSTM and GRU classifiers, a residual CNN,
HuggingFace BERT and GPT-2 from small configs) goes through ``init_`` with its plan,
``diagnose``, ``hessian_trace``, ``hessian_eigs`` and ``ntk``.  Numbers are checked against
identities that hold for any model and would break if a measurement were wrong:

* the NTK's diagonal ``Θ(x_i, x_i)_oo = ‖∂f_o(x_i)/∂θ‖²``, computed here by plain autograd;
* the top Hessian eigenvalue bounds every Rayleigh quotient ``vᵀHv / vᵀv`` from above, and its
  eigenvector attains it (``H v`` by finite differences of plain-autograd gradients);
* Hutchinson's trace estimate with many probes sits within a few standard errors of the mean of
  ``vᵀHv`` over fresh Rademacher probes, computed here.

Exact comparisons with dense Hessians and Jacobians on tiny attention models live in
tests/measure/test_any_model.py; the layer rules in tests/initializers/test_layer_rules.py.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import Tensor, nn
from zoo import ZOO

import specinit
from specinit.doctor import diagnose
from specinit.measure.curvature import hessian_eigs, hessian_trace
from specinit.measure.kernels import ntk

MODELS = sorted(ZOO)


def _loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return nn.functional.cross_entropy(model(x), y)


def _flat_grad(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(_loss(model, x, y), params, allow_unused=True)
    return torch.cat(
        [(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params, strict=True)]
    )


def _hvp_fd(model: nn.Module, x: Tensor, y: Tensor, v: Tensor, eps: float = 1e-6) -> Tensor:
    """``H v`` by central differences of gradients (float64 model, eval mode)."""
    params = [p for p in model.parameters() if p.requires_grad]
    base = [p.detach().clone() for p in params]

    def shifted(step: float) -> Tensor:
        offset = 0
        with torch.no_grad():
            for p, p0 in zip(params, base, strict=True):
                p.copy_(p0 + step * v[offset : offset + p.numel()].view_as(p))
                offset += p.numel()
        return _flat_grad(model, x, y)

    try:
        return (shifted(eps) - shifted(-eps)) / (2 * eps)
    finally:
        with torch.no_grad():
            for p, p0 in zip(params, base, strict=True):
                p.copy_(p0)


def _model(name: str) -> tuple[nn.Module, Tensor, Tensor]:
    model, x, y = ZOO[name]()
    model = model.double().eval()
    return model, (x.double() if x.is_floating_point() else x), y


@pytest.mark.parametrize("name", MODELS)
def test_init_with_plan(name: str) -> None:
    model, x, _ = ZOO[name]()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plan = specinit.init_(model, "xavier_normal", generator=123, dry_run=True)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "dry_run changed the model"
    with warnings.catch_warnings():
        warnings.simplefilter("error", specinit.InitWarning)  # every parameter of the zoo has a rule
        specinit.init_(model, "xavier_normal", generator=123)
    after = model.state_dict()
    for tensor in plan.names("initialized"):
        row = plan.row(tensor)
        if row.rule.startswith("bias 0") and "forget" not in row.rule:
            assert not after[tensor].any(), tensor
        elif "bias" not in row.rule:
            assert not torch.equal(before[tensor], after[tensor]), f"{tensor} was planned but not drawn"
    for row in plan.names("kept"):  # running statistics share one row: "bn.running_mean/var"
        head, _, tail = row.rpartition(".")
        first, *others = tail.split("/")
        for tensor in (f"{head}.{first}", *(f"{head}.running_{other}" for other in others)):
            assert torch.equal(before[tensor], after[tensor]), f"{tensor} was to be kept"
    with torch.no_grad():
        assert torch.isfinite(model.eval()(x)).all()


@pytest.mark.parametrize("name", MODELS)
def test_ntk_diagonal_is_the_squared_gradient_norm(name: str) -> None:
    model, x, _ = _model(name)
    points = x[:3]
    kernel = ntk(model, points)  # (3, 3, O, O)
    assert kernel.shape[:2] == (3, 3)
    assert torch.allclose(kernel.transpose(0, 1).transpose(2, 3), kernel, atol=1e-10)
    params = [p for p in model.parameters() if p.requires_grad]
    for i in range(3):
        out = model(points[i : i + 1])[0]
        for o in (0, out.numel() - 1):
            grads = torch.autograd.grad(out[o], params, retain_graph=True, allow_unused=True)
            expected = sum(float((g * g).sum()) for g in grads if g is not None)
            assert kernel[i, i, o, o].item() == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("name", MODELS)
def test_top_hessian_eigenvalue_bounds_rayleigh_quotients(name: str) -> None:
    model, x, y = _model(name)
    pairs = hessian_eigs(model, "cross_entropy", (x, y), k=1, tol=1e-8, generator=0, return_eigenvectors=True)
    assert pairs.converged
    top = float(pairs.eigenvalues[0])
    vector = torch.as_tensor(pairs.eigenvectors[:, 0], dtype=torch.float64)
    hv = _hvp_fd(model, x, y, vector)
    assert float(vector @ hv) == pytest.approx(top, rel=1e-4, abs=1e-6)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        v = torch.randn(vector.numel(), generator=gen, dtype=torch.float64)
        v /= v.norm()
        assert float(v @ _hvp_fd(model, x, y, v)) <= top + 1e-6


@pytest.mark.parametrize("name", MODELS)
def test_hessian_trace_agrees_with_rademacher_quadratic_forms(name: str) -> None:
    model, x, y = _model(name)
    estimate = hessian_trace(model, "cross_entropy", (x, y), num_matvecs=60, method="hutchinson", generator=0)
    gen = torch.Generator().manual_seed(7)
    size = sum(p.numel() for p in model.parameters())
    forms = []
    for _ in range(12):
        v = torch.randint(0, 2, (size,), generator=gen, dtype=torch.float64) * 2 - 1
        forms.append(float(v @ _hvp_fd(model, x, y, v)))
    mine = torch.tensor(forms, dtype=torch.float64)
    spread = math.hypot(float(estimate.stderr), float(mine.std() / math.sqrt(len(forms))))
    assert abs(float(estimate.estimate) - float(mine.mean())) <= 4 * spread + 1e-8


@pytest.mark.parametrize("name", MODELS)
def test_diagnose_sees_the_model_and_never_reports_from_a_nan(name: str) -> None:
    model, x, y = ZOO[name]()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    d = diagnose(model, x, y, hessian_iters=3, generator=0)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert len(d.layers) >= 2, d.text()  # functional, library and recurrent activations recorded
    text = d.text()
    assert "nan" not in text.lower().replace("nan(", "") and "inf×" not in text
    assert all(math.isfinite(row.std_ratio) for row in d.layers)
    for row in d.layers:  # features: channels of an image batch, the last axis of a sequence
        assert row.feature_axis == (1 if x.ndim == 4 else -1), row
    # the doctor's top eigenvalue is the one hessian_eigs finds for the same loss
    pairs = hessian_eigs(model, "cross_entropy", (x, y), k=1, which="LA", tol=1e-3, max_iter=3, generator=0)
    assert d.hessian_top == pytest.approx(float(pairs.eigenvalues[0]), rel=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_inspect_command_on_the_zoo(name: str, tmp_path) -> None:
    from click.testing import CliRunner

    from specinit.cli import main

    args = ["inspect", f"zoo:{name}", "--hessian-iters", "1", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "suggested initializers" in result.output
    assert (tmp_path / "report.md").is_file() and (tmp_path / "doctor.png").is_file()
