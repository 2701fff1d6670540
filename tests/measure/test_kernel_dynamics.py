"""specinit.measure.kernels.dynamics: linearized training, its limit, and its per-mode rates."""

import math

import numpy as np
import pytest
import torch

from specinit.measure import kernels
from specinit.nn.models import ShallowNTKNet


def test_efolding_rate_recovers_exponential_rates():
    steps = np.arange(0, 101, 10)
    rates = np.array([0.5, 0.05, 0.004])  # e-folds before the first record, inside, never
    got = kernels.efolding_rate(steps, np.exp(-np.outer(steps, rates)))
    # r_10/r_0 = e^{-5}: log-linear interpolation from step 0 puts the e-fold at step 2
    np.testing.assert_allclose(got, [0.5, 0.05, 0.004], rtol=1e-12)
    np.testing.assert_allclose(
        kernels.efolding_rate(steps + 7, np.exp(-np.outer(steps, rates))), got, rtol=1e-12
    )  # time is measured from the first record
    with pytest.raises(ValueError, match="steps must increase"):
        kernels.efolding_rate(steps[::-1], np.ones((11, 2)))


def test_predicted_decay_rate_is_the_linearized_descent_factor():
    power = np.array([0.0, 1.0, 8.0, 50.0])
    got = kernels.predicted_decay_rate(power, 0.5, 4)  # η λ / n = 0, 1/8, 1, 6.25
    np.testing.assert_allclose(got[:2], [0.0, -math.log(1 - 0.125)], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[2:], -math.log1p(-(1 - 1e-15)), rtol=1e-15)  # capped: one step
    k = torch.tensor([[1.0]], dtype=torch.float64)  # agrees with linearized_flow's residual
    path = kernels.linearized_flow(k, [1.0], [3], lr=0.5, discrete=True)
    residual = 1 - float(path.train[0])  # three GD steps at η λ / n = 1/2: (1 − 1/2)³ exactly
    assert residual == pytest.approx(0.125, rel=1e-12)
    assert residual == pytest.approx(math.exp(-3 * kernels.predicted_decay_rate([1.0], 0.5, 1)[0]), rel=1e-12)


def _toy_kernel(n=12, m=5, seed=5):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(n + m, 30, generator=g, dtype=torch.float64)
    k = feats @ feats.T / 30
    y = torch.randn(n, generator=g, dtype=torch.float64)
    f0 = 0.1 * torch.randn(n + m, generator=g, dtype=torch.float64)
    return k[:n, :n], k[n:, :n], y, f0[:n], f0[n:]


def test_kernel_regression_matches_the_solve_and_interpolates():
    k, kt, y, f0, f0t = _toy_kernel()
    pred = kernels.kernel_regression(k, y, kt, ridge=0.3, f0_train=f0, f0_test=f0t)
    expected = f0t + kt @ torch.linalg.solve(k + 0.3 * torch.eye(12, dtype=torch.float64), y - f0)
    torch.testing.assert_close(pred, expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(kernels.kernel_regression(k, y, f0_train=f0), y, rtol=1e-8, atol=1e-8)
    two = kernels.kernel_regression(k, torch.stack([y, 2 * y], 1), kt)
    torch.testing.assert_close(two[:, 1], 2 * two[:, 0], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="f0_test is required"):
        kernels.kernel_regression(k, y, kt, f0_train=f0)
    with pytest.raises(ValueError, match="y_train must have shape"):
        kernels.kernel_regression(k, y[:5])
    with pytest.raises(ValueError, match="k_test must have shape"):
        kernels.kernel_regression(k, y, kt[:, :4])


def test_linearized_flow_matches_matrix_exponential_and_descent():
    k, kt, y, f0, f0t = _toy_kernel()
    n, lr = 12, 0.7
    times = torch.tensor([0.0, 1.0, 5.0, 40.0], dtype=torch.float64)
    path = kernels.linearized_flow(k, y, times, lr=lr, f0_train=f0, k_test=kt, f0_test=f0t)
    for i, t in enumerate(times):
        decay = torch.linalg.matrix_exp(-lr * k * t / n)
        expected = f0 + (torch.eye(n, dtype=torch.float64) - decay) @ (y - f0)
        torch.testing.assert_close(path.train[i], expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(path.test[0], f0t)
    # explicit gradient descent on the linear model, train and test
    step = kernels.linearized_flow(
        k, y, torch.arange(4.0), lr=lr, f0_train=f0, k_test=kt, f0_test=f0t, discrete=True
    )
    f, ft = f0.clone(), f0t.clone()
    for t in range(1, 4):
        r = f - y
        f, ft = f - lr / n * k @ r, ft - lr / n * kt @ r
        torch.testing.assert_close(step.train[t], f, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(step.test[t], ft, rtol=1e-10, atol=1e-10)
    # long flow reaches kernel regression (pseudo-inverse limit)
    late = kernels.linearized_flow(k, y, [1e7], lr=lr, f0_train=f0, k_test=kt, f0_test=f0t)
    limit = kernels.kernel_regression(k, y, kt, f0_train=f0, f0_test=f0t)
    torch.testing.assert_close(late.test[0], limit, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="diverges"):
        kernels.linearized_flow(k, y, [1.0], lr=1e4, discrete=True)
    with pytest.raises(ValueError, match="integer step"):
        kernels.linearized_flow(k, y, [1.5], lr=lr, discrete=True)


def test_lazy_training_of_a_wide_net_matches_kernel_regression():
    """Width 4096, NTK parameterization, full-batch GD to convergence ≈ kernel regression."""
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(-1, 1, 8, dtype=torch.float64).unsqueeze(1)
    xt = torch.linspace(-0.95, 0.95, 6, dtype=torch.float64).unsqueeze(1)
    y = torch.sin(3 * x[:, 0]) * 0.5 + 0.1 * torch.randn(8, generator=g, dtype=torch.float64)
    net = ShallowNTKNet(1, 4096, "tanh", sigma_w=2.0, generator=1, dtype=torch.float64)
    k, kt = kernels.ntk(net, x), kernels.ntk(net, xt, x)
    with torch.no_grad():
        f0, f0t = net(x)[:, 0], net(xt)[:, 0]
    lr = 8 / float(kernels.ntk_eig(k, k=1).eigenvalues[0])
    params = list(net.parameters())
    for _ in range(1000):
        loss = 0.5 * ((net(x)[:, 0] - y) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, gr in zip(params, grads, strict=True):
                p -= lr * gr
    with torch.no_grad():
        trained = net(xt)[:, 0]
    limit = kernels.kernel_regression(k, y, kt, f0_train=f0, f0_test=f0t)
    path = kernels.linearized_flow(k, y, [1000], lr=lr, f0_train=f0, k_test=kt, f0_test=f0t, discrete=True)
    change = (limit - f0t).norm()
    assert float((trained - path.test[0]).norm() / change) < 0.01  # measured 0.0012
    assert float((trained - limit).norm() / change) < 0.02  # measured 0.0048


def test_compare_rates_against_a_hand_computed_case():
    steps = np.arange(0, 101, 10)
    measured = np.array([0.3, 0.1, 0.012, 0.0002])  # exact exponentials: efolding_rate recovers them
    residual = np.exp(-np.outer(steps, measured))
    power = np.array([2.0, 0.8, 0.08, 0.0008])
    control = np.array([2.0, 0.8, 0.096, 0.0008])
    got = kernels.compare_rates(steps, residual, power, 0.5, 4, control_power=control)
    # η λ / n = 0.25, 0.1, 0.01, 1e-4 → predicted −log(1 − ηλ/n)
    predicted = [-math.log1p(-0.25), -math.log1p(-0.1), -math.log1p(-0.01), -math.log1p(-1e-4)]
    np.testing.assert_allclose(got.rate, measured, rtol=1e-12)
    np.testing.assert_allclose(got.predicted, predicted, rtol=1e-14)
    # resolved: predicted e-folding time 1/rate between the first record (10) and the last step
    # (100): 1/0.288 = 3.5 and 1/0.105 = 9.5 fall before step 10, 1/1e-4 after step 100
    np.testing.assert_array_equal(got.resolved, [False, False, True, False])
    assert got.n_resolved == 1
    assert got.spearman == 1.0  # faster for larger λ(k), in the same order
    assert got.rel_err == pytest.approx(abs(0.012 / -math.log(0.99) - 1), rel=1e-12)  # 0.194
    assert got.rel_err_control == pytest.approx(abs(0.012 / -math.log(1 - 0.012) - 1), rel=1e-12)
    # time counts from the first record; nothing resolved gives None, no control gives None
    shifted = kernels.compare_rates(steps + 7, residual, power, 0.5, 4)
    np.testing.assert_array_equal(shifted.resolved, got.resolved)
    assert shifted.rel_err == got.rel_err and shifted.rel_err_control is None
    fast = kernels.compare_rates(steps, residual, power * 20, 0.5, 4)
    assert fast.n_resolved == 0 and fast.rel_err is None
    # a reversed order is a Spearman correlation of −1
    assert kernels.compare_rates(steps, residual, power[::-1], 0.5, 4).spearman == -1.0
    with pytest.raises(ValueError, match="one entry per residual column"):
        kernels.compare_rates(steps, residual, power[:3], 0.5, 4)
    with pytest.raises(ValueError, match="control_power must have the shape"):
        kernels.compare_rates(steps, residual, power, 0.5, 4, control_power=control[:2])
