"""Hessian-vector products and the trace / eigenvalue / density estimators (specinit.measure.curvature)."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

from specinit._core.deprecation import SpecinitDeprecationWarning
from specinit.measure.curvature import (
    Eigenpairs,
    HessianOperator,
    SpectralDensity,
    TraceEstimate,
    as_operator,
    curvature_summary,
    hessian_density,
    hessian_density_per_layer,
    hessian_eigs,
    hessian_eigs_per_layer,
    hessian_trace,
    hessian_trace_per_layer,
    layer_blocks,
)
from specinit.nn.models import coordinate_mlp

D = torch.float64


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2)).to(D)  # 38 parameters


def _data(n=20, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g, dtype=D), torch.randint(0, 2, (n,), generator=g)


def _dense_hessian(model, loss_fn, x, y, names=None, buffers=None, hessian=torch.func.hessian):
    """Reference: the dense Hessian of the loss as a function of the flattened parameters."""
    params = dict(model.named_parameters())
    names = list(params) if names is None else list(names)
    shapes = [params[n].shape for n in names]

    def loss(flat):
        chunks = torch.split(flat, [math.prod(s) for s in shapes])
        copies = {n: b.clone() for n, b in (buffers or {}).items()}  # BN in train mode updates them
        state = {**copies, **{n: c.reshape(s) for n, c, s in zip(names, chunks, shapes, strict=True)}}
        return loss_fn(functional_call(model, state, (x,)), y)

    flat = torch.cat([params[n].detach().reshape(-1) for n in names])
    return hessian(loss)(flat) if hessian is torch.func.hessian else hessian(loss, flat)


def _rotated(eigenvalues, seed=0):
    n = len(eigenvalues)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=D))
    return q @ torch.diag(torch.as_tensor(eigenvalues, dtype=D)) @ q.T


# --------------------------------------------------------------------------- products


@pytest.mark.parametrize("loss, target", [("cross_entropy", None), ("mse", "float")])
def test_hvp_equals_dense_hessian_times_v(loss, target):
    model, (x, y) = _mlp(), _data()
    if target == "float":
        y = torch.randn(20, 2, generator=torch.Generator().manual_seed(2), dtype=D)
    op = HessianOperator(model, loss, (x, y))
    H = _dense_hessian(model, F.cross_entropy if loss == "cross_entropy" else F.mse_loss, x, y)
    assert op.size == 38 and op.shape == (38, 38) and op.dtype == D
    for seed in range(3):
        v = torch.randn(38, generator=torch.Generator().manual_seed(seed), dtype=D)
        torch.testing.assert_close(op.matvec(v), H @ v, rtol=1e-10, atol=1e-12)
    assert op.num_matvecs == 3


def test_parameter_subset_is_the_diagonal_block():
    model, (x, y) = _mlp(), _data()
    H = _dense_hessian(model, F.cross_entropy, x, y)
    v = torch.randn(14, generator=torch.Generator().manual_seed(0), dtype=D)
    block = H[24:, 24:]  # parameters of the last Linear: 2.weight (12) and 2.bias (2)
    by_module = HessianOperator(model, "cross_entropy", (x, y), params=model[2])
    by_name = HessianOperator(model, "cross_entropy", (x, y), params=["2.weight", "2.bias"])
    by_param = HessianOperator(model, "cross_entropy", (x, y), params=list(model[2].parameters()))
    for op in (by_module, by_name, by_param):
        assert op.names == ("2.weight", "2.bias")
        torch.testing.assert_close(op.matvec(v), block @ v, rtol=1e-10, atol=1e-12)
    pieces = by_name.unflatten(v)
    assert pieces["2.weight"].shape == (2, 6) and torch.equal(pieces["2.bias"], v[12:])
    assert layer_blocks(model) == {"0": ["0.weight", "0.bias"], "2": ["2.weight", "2.bias"]}


def test_batches_are_weighted_by_size_to_the_full_data_hessian():
    model, (x, y) = _mlp(), _data()
    full = HessianOperator(model, "cross_entropy", (x, y))
    uneven = HessianOperator(model, "cross_entropy", [(x[:7], y[:7]), (x[7:], y[7:])])
    loader = DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True)  # 6, 6, 6, 2
    rng_state = torch.get_rng_state()
    shuffled = HessianOperator(model, "cross_entropy", loader, generator=3)
    v = torch.randn(38, generator=torch.Generator().manual_seed(0), dtype=D)
    for op in (uneven, shuffled):
        assert op.n_samples == 20
        assert op.loss_value == pytest.approx(full.loss_value, rel=1e-12)
        torch.testing.assert_close(op.matvec(v), full.matvec(v), rtol=1e-10, atol=1e-12)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the loader shuffled inside a forked RNG


def test_operator_is_tied_to_the_parameter_values_it_was_built_at():
    model, (x, y) = _mlp(), _data()
    op = HessianOperator(model, "cross_entropy", (x, y))
    with torch.no_grad():
        model[0].weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="0.weight changed in place"):
        op.matvec(torch.ones(38, dtype=D))


# --------------------------------------------------------------------------- eigenvalues


def test_top_eigenvalues_equal_the_dense_hessians():
    model, (x, y) = _mlp(), _data()
    H = _dense_hessian(model, F.cross_entropy, x, y)
    exact = torch.linalg.eigvalsh(H).numpy()
    top_la = exact[::-1][:4]
    top_lm = exact[np.argsort(-np.abs(exact), kind="stable")][:4]
    lanczos = hessian_eigs(model, "cross_entropy", (x, y), k=4, return_eigenvectors=True)
    power = hessian_eigs(model, "cross_entropy", (x, y), k=4, method="power", which="LM", max_iter=5000)
    lm = hessian_eigs(model, "cross_entropy", (x, y), k=4, which="LM")
    np.testing.assert_allclose(lanczos.eigenvalues, top_la, rtol=1e-4)
    np.testing.assert_allclose(power.eigenvalues, top_lm, rtol=1e-4)
    np.testing.assert_allclose(lm.eigenvalues, top_lm, rtol=1e-4)
    assert power.converged and lanczos.num_matvecs > 0 and power.num_matvecs > 0
    vecs = lanczos.eigenvectors
    torch.testing.assert_close(H @ vecs, vecs * torch.tensor(lanczos.eigenvalues), atol=1e-8, rtol=0)


def test_eigenvalues_on_a_known_indefinite_spectrum():
    values = np.array([-9.0, -4.0, -1.0, 0.5, 1.0, 2.0, 3.0, 6.0] + [0.1] * 22)
    A = _rotated(values)
    la = hessian_eigs(A, k=3, generator=4)
    power = hessian_eigs(A, k=3, method="power", which="LM", generator=4, return_eigenvectors=True)
    np.testing.assert_allclose(la.eigenvalues, [6.0, 3.0, 2.0], rtol=1e-8)
    np.testing.assert_allclose(power.eigenvalues, [-9.0, 6.0, -4.0], rtol=1e-6)
    torch.testing.assert_close(
        power.eigenvectors.T @ power.eigenvectors, torch.eye(3, dtype=D), atol=1e-6, rtol=0
    )


def test_power_iteration_flags_missing_convergence():
    A = torch.diag(torch.tensor([1.0, -1.0, 0.5, 0.2], dtype=D))  # |λ1| = |λ2|: no dominant pair
    with pytest.warns(RuntimeWarning, match="did not reach tol"):
        result = hessian_eigs(A, k=1, method="power", which="LM", max_iter=50)
    assert not result.converged and result.num_matvecs == 50


# --------------------------------------------------------------------------- trace


def test_trace_on_a_diagonal_is_exact_with_rademacher_probes():
    A = torch.diag(torch.linspace(-3.0, 7.0, 40, dtype=D))
    result = hessian_trace(A, method="hutchinson", num_matvecs=5, generator=2)
    assert result.estimate == pytest.approx(float(A.trace()), abs=1e-10)
    assert result.stderr == pytest.approx(0.0, abs=1e-10)
    assert result.num_matvecs == 5 and result.samples.shape == (5,) and result.size == 40


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
@pytest.mark.parametrize("kind", ["psd", "indefinite"])
def test_trace_lies_within_its_standard_error(method, kind):
    g = torch.Generator().manual_seed(5)
    values = torch.rand(60, generator=g, dtype=D) * 4 - (0 if kind == "psd" else 2)
    A = _rotated(values, seed=6)
    exact = float(A.trace())
    z = [
        (r.estimate - exact) / r.stderr
        for r in (hessian_trace(A, method=method, num_matvecs=30, generator=s) for s in range(40))
    ]
    assert max(abs(v) for v in z) < 4.0
    assert np.mean(np.abs(z) < 2.0) > 0.8  # ≈ 95% for a normal error
    assert abs(z[0]) < 3.0


def test_hutchpp_beats_hutchinson_on_a_decaying_spectrum():
    A = _rotated(1.0 / np.arange(1, 201) ** 2, seed=1)
    exact = float(A.trace())
    errors = {
        m: np.mean(
            [abs(hessian_trace(A, method=m, num_matvecs=45, generator=s).estimate - exact) for s in range(15)]
        )
        for m in ("hutchinson", "hutch++")
    }
    assert errors["hutch++"] < 0.25 * errors["hutchinson"]


def test_hutchpp_uses_its_budget_and_is_exact_when_the_sketch_spans_everything():
    A = _rotated(np.arange(1.0, 9.0))
    result = hessian_trace(A, method="hutch++", num_matvecs=10, generator=0)
    assert result.num_matvecs == 10 and result.samples.shape == (4,)
    full = hessian_trace(A, method="hutch++", num_matvecs=24, generator=0)
    assert full.estimate == pytest.approx(36.0, rel=1e-12) and full.stderr == 0.0
    assert full.num_matvecs == 16


def test_per_layer_traces_are_the_diagonal_blocks():
    model, (x, y) = _mlp(), _data()
    H = _dense_hessian(model, F.cross_entropy, x, y)
    result = hessian_trace_per_layer(model, "cross_entropy", (x, y), method="hutch++", num_matvecs=72)
    assert list(result) == ["0", "2"]
    assert result["0"].estimate == pytest.approx(float(H[:24, :24].trace()), rel=1e-9)
    assert result["2"].estimate == pytest.approx(float(H[24:, 24:].trace()), rel=1e-9)
    assert result["0"].num_matvecs == 48 and result["2"].num_matvecs == 28  # sketch covers each block
    # the default on this Sequential MLP: exact traces from one Hessian diagonal, no products
    exact = hessian_trace_per_layer(model, "cross_entropy", (x, y))
    assert {r.method for r in exact.values()} == {"exact"} and exact["0"].num_matvecs == 0
    assert exact["0"].estimate == pytest.approx(float(H[:24, :24].trace()), rel=1e-9)


def test_callable_operator_and_counter():
    diag = torch.arange(1.0, 11.0, dtype=D)
    op = as_operator(lambda v: diag * v, 10)
    result = hessian_trace(op, method="hutchinson", num_matvecs=9, generator=0)
    assert op.num_matvecs == result.num_matvecs == 9
    assert result.estimate == pytest.approx(55.0)


# --------------------------------------------------------------------------- density


def test_density_recovers_a_known_spectrum_and_integrates_to_one():
    values = torch.tensor([1.0] * 10 + [2.0] * 30 + [5.0] * 20, dtype=D)
    A = torch.diag(values)
    density = hessian_density(A, n_probes=3, n_steps=20, sigma=0.05, generator=0)
    # Krylov space of three distinct eigenvalues: three exact nodes per probe, weights = multiplicity/n
    assert density.nodes.shape == (9,) and density.num_matvecs == 9
    np.testing.assert_allclose(np.sort(density.nodes), np.repeat([1.0, 2.0, 5.0], 3), atol=1e-10)
    order = np.argsort(density.nodes[:3])
    np.testing.assert_allclose(density.weights[:3][order] * 3, [10 / 60, 30 / 60, 20 / 60], atol=1e-10)
    assert density.mean == pytest.approx(float(values.mean()), rel=1e-12)
    assert np.trapezoid(density.density, density.grid) == pytest.approx(1.0, abs=1e-4)


def test_density_mean_estimates_trace_over_n_on_a_model():
    model, (x, y) = _mlp(), _data()
    H = _dense_hessian(model, F.cross_entropy, x, y)
    density = hessian_density(model, "cross_entropy", (x, y), n_probes=8, n_steps=38, generator=1)
    trace = hessian_trace(model, "cross_entropy", (x, y), method="hutchinson", num_matvecs=8, generator=1)
    # the node mean is the Hutchinson estimate of the same (unit-normalized) probes
    assert density.mean == pytest.approx(trace.estimate / 38, rel=1e-8)
    assert abs(density.mean * 38 - float(H.trace())) < 3 * trace.stderr
    eigenvalues = torch.linalg.eigvalsh(H).numpy()
    assert density.nodes.min() >= eigenvalues.min() - 1e-8 and density.nodes.max() <= eigenvalues.max() + 1e-8
    assert np.trapezoid(density.density, density.grid) == pytest.approx(1.0, abs=1e-3)


def test_density_plot_uses_the_figure_api():
    density = hessian_density(_rotated(np.linspace(-1, 3, 30)), n_probes=2, n_steps=10)
    ax = density.plot(label="A")
    assert ax.get_yscale() == "log" and len(ax.lines) == 1
    assert ax.get_xlabel() == "eigenvalue"


# --------------------------------------------------------------------------- seeds and model state


def test_seeds_reproduce_exactly():
    A = _rotated(np.linspace(-2.0, 5.0, 50))
    for fn, kwargs in [
        (hessian_trace, {"num_matvecs": 12}),
        (hessian_density, {"n_steps": 8}),
        (hessian_eigs, {"k": 2, "method": "power", "which": "LM"}),
    ]:
        a, b, c = fn(A, generator=7, **kwargs), fn(A, generator=7, **kwargs), fn(A, generator=8, **kwargs)
        key = {"hessian_trace": "samples", "hessian_density": "nodes", "hessian_eigs": "eigenvalues"}[
            fn.__name__
        ]
        assert np.array_equal(getattr(a, key), getattr(b, key))
        assert a.seed == 7 and c.seed == 8
        if fn is not hessian_eigs:
            assert not np.array_equal(getattr(a, key), getattr(c, key))


def _bn_dropout_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Dropout(0.5), nn.Linear(5, 2)).to(
        D
    )
    with torch.no_grad():  # non-trivial running statistics
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    return model


@pytest.mark.parametrize("train_mode", [False, True])
def test_modes_buffers_rng_and_grads_are_untouched(train_mode):
    model, (x, y) = _bn_dropout_model(), _data()
    model.train()
    model[3].eval()  # a mixed state that a plain model.train(False/True) restore would lose
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    params = {n: p.clone() for n, p in model.named_parameters()}
    rng = torch.get_rng_state()
    hessian_trace(model, "cross_entropy", (x, y), num_matvecs=8, train_mode=train_mode)
    hessian_eigs(model, "cross_entropy", [(x[:8], y[:8]), (x[8:], y[8:])], k=1, train_mode=train_mode)
    assert [m.training for m in model.modules()] == [True, True, True, True, False, True]
    for n, b in model.named_buffers():
        assert torch.equal(b, buffers[n]), n
    for n, p in model.named_parameters():
        assert torch.equal(p, params[n]) and p.grad is None, n
    assert torch.equal(torch.get_rng_state(), rng)


def test_eval_mode_is_the_default_and_train_mode_uses_batch_statistics():
    model, (x, y) = _bn_dropout_model(), _data()
    model.train()
    v = torch.randn(
        model[0].weight.numel() + 5 + 10 + 12, generator=torch.Generator().manual_seed(0), dtype=D
    )
    eval_op = HessianOperator(model, "cross_entropy", (x, y))
    model.eval()  # reference: running statistics, no dropout
    H_eval = _dense_hessian(model, F.cross_entropy, x, y)
    torch.testing.assert_close(eval_op.matvec(v), H_eval @ v, rtol=1e-10, atol=1e-12)

    no_dropout = nn.Sequential(*list(model)[:3], model[4])  # same BN, train mode: batch statistics
    op = HessianOperator(no_dropout, "cross_entropy", (x, y), train_mode=True)
    no_dropout.train()
    # torch.func.hessian (forward-over-reverse) returns an asymmetric, wrong matrix for BatchNorm
    # in train mode on torch 2.13, so the reference here is reverse-over-reverse
    H_train = _dense_hessian(
        no_dropout,
        F.cross_entropy,
        x,
        y,
        buffers=dict(no_dropout.named_buffers()),
        hessian=torch.autograd.functional.hessian,
    )
    torch.testing.assert_close(H_train, H_train.T, rtol=0, atol=1e-12)
    torch.testing.assert_close(op.matvec(v), H_train @ v, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(H_train, H_eval)


def test_train_mode_dropout_masks_are_fixed_per_seed():
    model, (x, y) = _bn_dropout_model(), _data()
    v = torch.randn(42, generator=torch.Generator().manual_seed(0), dtype=D)
    batches = [(x[:10], y[:10]), (x[10:], y[10:])]
    a = HessianOperator(model, "cross_entropy", batches, train_mode=True, generator=1)
    b = HessianOperator(model, "cross_entropy", batches, train_mode=True, generator=2)
    u = torch.randn(42, generator=torch.Generator().manual_seed(1), dtype=D)
    assert torch.equal(a.matvec(v), a.matvec(v))  # one fixed matrix across products ...
    assert float(u @ a.matvec(v)) == pytest.approx(float(v @ a.matvec(u)), rel=1e-10)  # ... and symmetric
    assert not torch.allclose(a.matvec(v), b.matvec(v))  # another seed, other masks


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_clear_errors():
    model, (x, y) = _mlp(), _data()
    with pytest.raises(ValueError, match="empty"):
        HessianOperator(model, "mse", (torch.zeros(0, 3, dtype=D), torch.zeros(0, 2, dtype=D)))
    with pytest.raises(ValueError, match="scalar"):
        HessianOperator(model, lambda p, t: (p - t) ** 2, (x, torch.zeros(20, 2, dtype=D)))
    with pytest.raises(ValueError, match="NaN"):
        HessianOperator(model, "cross_entropy", (torch.full((20, 3), math.nan, dtype=D), y))
    with pytest.raises(ValueError, match="k=38 must be smaller"):
        hessian_eigs(model, "cross_entropy", (x, y), k=38)
    with pytest.raises(ValueError, match="hutch\\+\\+ needs num_matvecs >= 4"):
        hessian_trace(model, "cross_entropy", (x, y), num_matvecs=3)
    with pytest.raises(ValueError, match="hutchinson needs num_matvecs >= 2"):
        hessian_trace(model, "cross_entropy", (x, y), method="hutchinson", num_matvecs=1)
    with pytest.raises(ValueError, match="unknown trace method"):
        hessian_trace(model, "cross_entropy", (x, y), method="girard")
    with pytest.raises(ValueError, match="which='LM'"):
        hessian_eigs(model, "cross_entropy", (x, y), method="power")
    with pytest.raises(ValueError, match="no parameter named 'fc.weight'"):
        HessianOperator(model, "cross_entropy", (x, y), params=["fc.weight"])
    with pytest.raises(TypeError, match="one-shot iterator"):
        HessianOperator(model, "cross_entropy", iter([(x, y)]))
    with pytest.raises(ValueError, match="needs a loss and data"):
        hessian_trace(model)
    with pytest.raises(ValueError, match="apply to a model"):
        hessian_trace(torch.eye(3, dtype=D), "mse")
    with pytest.raises(ValueError, match="not symmetric"):
        as_operator(torch.triu(torch.ones(3, 3)))
    with pytest.raises(TypeError, match="needs its size"):
        as_operator(lambda v: v)
    with pytest.raises(ValueError, match="shape \\(38,\\)"):
        HessianOperator(model, "cross_entropy", (x, y)).matvec(torch.ones(5, dtype=D))
    model[0].weight.requires_grad_(False)
    with pytest.raises(ValueError, match="0.weight do not require grad"):
        HessianOperator(model, "cross_entropy", (x, y), params=["0.weight"])


def test_docstring_example_and_package_exports():
    import doctest

    import specinit
    from specinit import curvature
    from specinit.measure.curvature import density, eigs, operators, summary, trace

    for module in (curvature, operators, trace, eigs, density, summary):
        assert doctest.testmod(module).failed == 0, module.__name__
    assert specinit.hessian_trace is hessian_trace and "hessian_density" in specinit.__all__
    assert curvature.__all__ == sorted(set(curvature.__all__), key=curvature.__all__.index)  # no repeats
    assert all(hasattr(curvature, name) for name in curvature.__all__)


def test_slq_runs_all_steps_on_a_large_float32_operator():
    # Regression: a breakdown test scaled by the operator size stopped float32 Lanczos after a
    # few steps on large operators (β ≈ 0.2·scale is not a breakdown).
    diag = torch.linspace(0.0, 1.0, 200_000)
    op = as_operator(lambda v: diag * v, size=diag.numel(), dtype=torch.float32)
    density = hessian_density(op, n_probes=1, n_steps=20, generator=0)
    assert len(density.nodes) == 20
    assert density.mean == pytest.approx(0.5, abs=0.01)


def _dense_mse_hessian(model, x, y):
    named = [(n, p.detach()) for n, p in model.named_parameters()]
    sizes = [p.numel() for _, p in named]

    def loss(theta):
        pieces = {n: t.reshape(p.shape) for (n, p), t in zip(named, theta.split(sizes), strict=True)}
        return ((torch.func.functional_call(model, pieces, (x,)) - y) ** 2).mean()

    return torch.autograd.functional.hessian(loss, torch.cat([p.reshape(-1) for _, p in named]))


def test_curvature_summary_agrees_with_the_dense_hessian():
    g = torch.Generator().manual_seed(0)
    model = coordinate_mlp(1, 5, 2, 1, "tanh").double()
    for p in model.parameters():
        p.data = torch.randn(p.shape, generator=g, dtype=torch.float64)
    x = torch.rand(12, 1, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.randn(12, 1, generator=g, dtype=torch.float64)
    eigs = torch.linalg.eigvalsh(_dense_mse_hessian(model, x, y)).numpy()
    row, arrays = curvature_summary(
        model, "mse", (x, y), trace_matvecs=200, slq_steps=80, slq_probes=1, generator=3
    )
    assert row["n_params"] == eigs.size == 46
    assert row["top_eig"] == pytest.approx(eigs.max(), rel=1e-8)
    assert 0 < row["trace_se"] and abs(row["trace"] - eigs.sum()) < 4 * row["trace_se"]
    # the Krylov space is exhausted (46 < 80 steps): every SLQ node is an eigenvalue of H
    nodes = arrays["density_nodes"]
    assert np.abs(nodes[:, None] - eigs[None, :]).min(axis=1).max() < 1e-8 * np.abs(eigs).max()
    assert arrays["density_weights"].sum() == pytest.approx(1.0)
    area = np.sum(np.diff(arrays["density_grid"]) * arrays["density"][1:])
    assert area == pytest.approx(1.0, abs=1e-3)


# --------------------------------------------------------------------------- per-layer functions


def _tiny():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).to(D)  # blocks of 9 and 8
    g = torch.Generator().manual_seed(4)
    return model, (torch.randn(10, 2, generator=g, dtype=D), torch.randint(0, 2, (10,), generator=g))


def test_per_layer_functions_equal_the_dense_diagonal_blocks():
    model, (x, y) = _tiny()
    H = _dense_hessian(model, F.cross_entropy, x, y)
    blocks = {"0": H[:9, :9], "2": H[9:, 9:]}
    # hutch++ with 3·size products: the sketch spans each block, so the trace is exact
    traces = hessian_trace_per_layer(model, "cross_entropy", (x, y), num_matvecs=27, generator=1)
    eigs = hessian_eigs_per_layer(model, "cross_entropy", (x, y), k=2, return_eigenvectors=True, generator=1)
    densities = hessian_density_per_layer(model, "cross_entropy", (x, y), n_probes=2, n_steps=20, generator=1)
    assert list(traces) == list(eigs) == list(densities) == ["0", "2"] == list(layer_blocks(model))
    for layer, block in blocks.items():
        exact = torch.linalg.eigvalsh(block).numpy()
        assert isinstance(traces[layer], TraceEstimate) and traces[layer].size == block.shape[0]
        assert traces[layer].estimate == pytest.approx(float(block.trace()), rel=1e-9)
        assert isinstance(eigs[layer], Eigenpairs)
        np.testing.assert_allclose(eigs[layer].eigenvalues, exact[::-1][:2], rtol=1e-6)
        vecs = eigs[layer].eigenvectors
        torch.testing.assert_close(
            block @ vecs, vecs * torch.tensor(eigs[layer].eigenvalues), atol=1e-8, rtol=0
        )
        # the Krylov space is exhausted (size < 20 steps): every node is an eigenvalue of the block
        nodes = densities[layer].nodes
        assert isinstance(densities[layer], SpectralDensity)
        assert np.abs(nodes[:, None] - exact[None, :]).min(axis=1).max() < 1e-8 * np.abs(exact).max()
        # ... and its mean is the Hutchinson estimate of the dense block with the same probes
        hutchinson = hessian_trace(block, method="hutchinson", num_matvecs=2, generator=1).estimate
        assert densities[layer].mean == pytest.approx(hutchinson / block.shape[0], rel=1e-8)
    # a subset of the parameters gives only the layers it touches
    only = hessian_trace_per_layer(model, "cross_entropy", (x, y), num_matvecs=27, params=model[2])
    assert list(only) == ["2"] and only["2"].estimate == pytest.approx(float(blocks["2"].trace()), rel=1e-9)
    with pytest.raises(ValueError, match="need a model"):
        hessian_trace_per_layer(torch.eye(3, dtype=D), None, None)
    with pytest.raises(ValueError, match="needs a loss and data"):
        hessian_eigs_per_layer(model, "cross_entropy", None)


# --------------------------------------------------------------------------- deprecated names


def test_deprecated_argument_names_warn_and_give_the_same_result():
    A = _rotated(np.linspace(-2.0, 5.0, 30))
    new = hessian_trace(A, method="hutchinson", num_matvecs=12, generator=3)
    with pytest.warns(DeprecationWarning, match=r"hessian_trace\(seed=...\) is deprecated"):
        with pytest.warns(DeprecationWarning, match=r"hessian_trace\(n_matvecs=...\) is deprecated"):
            old = hessian_trace(A, method="hutchinson", n_matvecs=12, seed=3)
    assert np.array_equal(old.samples, new.samples) and old.estimate == new.estimate
    with pytest.warns(DeprecationWarning, match=r"hessian_eigs\(seed=...\)"):
        old = hessian_eigs(A, k=2, method="power", which="LM", seed=5)
    assert np.array_equal(
        old.eigenvalues, hessian_eigs(A, k=2, method="power", which="LM", generator=5).eigenvalues
    )
    with pytest.warns(DeprecationWarning, match=r"hessian_density\(seed=...\)"):
        old = hessian_density(A, n_probes=2, n_steps=6, seed=2)
    assert np.array_equal(old.nodes, hessian_density(A, n_probes=2, n_steps=6, generator=2).nodes)
    with pytest.raises(TypeError, match="both seed="):
        hessian_trace(A, seed=1, generator=1)


def test_deprecated_attribute_names_warn_and_read_the_new_fields():
    A = _rotated(np.linspace(1.0, 5.0, 12))
    op = as_operator(A)
    trace = hessian_trace(op, method="hutchinson", num_matvecs=6, generator=0)
    eigs = hessian_eigs(A, k=1)
    density = hessian_density(A, n_steps=4)
    for record, old, new in [
        (trace, "std_error", "stderr"),
        (trace, "n_matvecs", "num_matvecs"),
        (eigs, "n_matvecs", "num_matvecs"),
        (density, "n_matvecs", "num_matvecs"),
        (op, "n_matvecs", "num_matvecs"),
    ]:
        with pytest.warns(
            DeprecationWarning, match=f"{type(record).__name__}.{old} is deprecated; use .{new}"
        ):
            assert getattr(record, old) == getattr(record, new)
    assert op.num_matvecs == 6
    with pytest.raises(AttributeError):
        trace.std_error = 1.0  # read-only, like the field it aliases


def test_deprecated_per_layer_flag_warns_and_returns_the_per_layer_dict():
    model, (x, y) = _tiny()
    calls = [
        (hessian_trace, hessian_trace_per_layer, {"num_matvecs": 27}, "estimate"),
        (hessian_eigs, hessian_eigs_per_layer, {"k": 1}, "eigenvalues"),
        (hessian_density, hessian_density_per_layer, {"n_steps": 5}, "nodes"),
    ]
    for fn, per_layer_fn, kwargs, key in calls:
        with pytest.warns(
            DeprecationWarning,
            match=f"{fn.__name__}\\(..., per_layer=True\\) is deprecated.*{per_layer_fn.__name__}",
        ):
            old = fn(model, "cross_entropy", (x, y), per_layer=True, generator=2, **kwargs)
        new = per_layer_fn(model, "cross_entropy", (x, y), generator=2, **kwargs)
        assert list(old) == list(new) == ["0", "2"]
        for layer in new:
            assert np.array_equal(getattr(old[layer], key), getattr(new[layer], key)), (fn.__name__, layer)
    with pytest.raises(TypeError, match="per_layer must be a bool"):
        hessian_trace(model, "cross_entropy", (x, y), per_layer="yes")


def test_deprecated_operator_seed_warns_and_gives_the_same_operator():
    model, (x, y) = _bn_dropout_model(), _data()
    batches = [(x[:10], y[:10]), (x[10:], y[10:])]
    v = torch.randn(42, generator=torch.Generator().manual_seed(0), dtype=D)
    with pytest.warns(DeprecationWarning, match=r"HessianOperator\(seed=...\) is deprecated.*generator="):
        old = HessianOperator(model, "cross_entropy", batches, train_mode=True, seed=2)
    new = HessianOperator(model, "cross_entropy", batches, train_mode=True, generator=2)
    assert old.seed == new.seed == 2
    assert torch.equal(old.matvec(v), new.matvec(v))  # the same dropout masks
    with pytest.raises(TypeError, match="both seed="):
        HessianOperator(model, "cross_entropy", batches, seed=1, generator=2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        HessianOperator(model, "cross_entropy", batches, sed=1)


def test_new_names_raise_no_deprecation_warning():
    model, (x, y) = _tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpecinitDeprecationWarning)
        op = HessianOperator(model, "cross_entropy", (x, y), generator=1)
        hessian_trace(op, num_matvecs=8, generator=1)
        hessian_eigs(op, k=1, generator=1)
        hessian_density(op, n_steps=4, generator=1)
        curvature_summary(model, "cross_entropy", (x, y), trace_matvecs=4, slq_steps=4, generator=1)
        assert op.num_matvecs > 0


def test_a_torch_generator_seeds_reproducibly():
    A = _rotated(np.linspace(-2.0, 5.0, 30))
    a = hessian_trace(A, num_matvecs=12, generator=torch.Generator().manual_seed(9))
    b = hessian_trace(A, num_matvecs=12, generator=torch.Generator().manual_seed(9))
    assert np.array_equal(a.samples, b.samples) and isinstance(a.seed, int) and a.seed == b.seed
    torch.manual_seed(0)
    c = hessian_density(A, n_steps=6, generator=None)  # None: one draw from the global RNG
    torch.manual_seed(0)
    assert np.array_equal(c.nodes, hessian_density(A, n_steps=6, generator=None).nodes)


# --------------------------------------------------------------------------- compact records


def test_records_print_compactly():
    A = torch.diag(torch.arange(1.0, 101.0, dtype=D))
    trace = hessian_trace(A, method="hutchinson", num_matvecs=1000, generator=0)
    assert trace.samples.shape == (1000,)
    text = repr(trace)
    assert len(text) < 200 and "<array (1000,) float64>" in text and "stderr=" in text, text
    eigs = hessian_eigs(A, k=3, return_eigenvectors=True)
    assert "<tensor (100, 3) float64>" in repr(eigs) and len(repr(eigs)) < 250, repr(eigs)
    density = hessian_density(A, n_steps=30, n_grid=1000)
    assert "<array (1000,) float64>" in repr(density) and len(repr(density)) < 300, repr(density)
    assert repr(trace).startswith("TraceEstimate(estimate=5050, stderr=0, num_matvecs=1000,")


def test_curvature_and_ntk_run_outside_autocast_even_when_called_inside_one():
    from specinit.measure.curvature import curvature_summary, hessian_eigs, hessian_trace
    from specinit.measure.kernels import ntk

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    g = torch.Generator().manual_seed(1)
    batch = (torch.randn(16, 3, generator=g), torch.randint(0, 2, (16,), generator=g))
    plain = hessian_trace(net, "cross_entropy", batch, method="exact").estimate
    top = float(hessian_eigs(net, "cross_entropy", batch, k=1, method="lanczos").eigenvalues[0])
    kernel = ntk(net, batch[0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert net(batch[0]).dtype == torch.bfloat16  # the region really is autocast
        assert hessian_trace(net, "cross_entropy", batch, method="exact").estimate == plain
        assert float(hessian_eigs(net, "cross_entropy", batch, k=1, method="lanczos").eigenvalues[0]) == top
        inside = ntk(net, batch[0])
        row, _ = curvature_summary(net, "cross_entropy", batch, trace_matvecs=4, slq_steps=4)
    assert inside.dtype == torch.float32 and torch.equal(inside, kernel)
    assert math.isfinite(row["trace"]) and row["top_eig"] == pytest.approx(top, rel=1e-3)


def test_curvature_operators_built_inside_autocast_match_those_built_outside():
    from specinit.measure.curvature import GGNOperator, HessianOperator

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    g = torch.Generator().manual_seed(1)
    batch = (torch.randn(16, 3, generator=g), torch.randint(0, 2, (16,), generator=g))
    outside = GGNOperator(net, "cross_entropy", batch)
    hessian = HessianOperator(net, "cross_entropy", batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = GGNOperator(net, "cross_entropy", batch)
        diagonal = inside.diagonal()
        inside_h = HessianOperator(net, "cross_entropy", batch)
    assert inside.loss_value == outside.loss_value and inside_h.loss_value == hessian.loss_value
    assert torch.equal(diagonal, outside.diagonal())
