"""specinit.kernels: empirical NTK, kernel spectrum, linearized training, infinite-width NTK."""

import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from specinit.measure import kernels
from specinit.measure.kernels import ShallowNTKNet
from specinit.nn.models import mlp


def _randomized(net, seed, scale=0.7):
    """``net`` (float64) with every parameter redrawn ``N(0, scale²)`` from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return net


def _mlp64(out=2, seed=0):
    return _randomized(mlp(3, [8, 8], out, "tanh"), seed)


def _explicit_jacobian(net, x):
    """``J[i, o, p]`` by torch.autograd.functional.jacobian of the whole batch (buffers as they
    are, the model in its current mode), float64 reference."""
    names, values = zip(*net.named_parameters())
    buffers = dict(net.named_buffers())

    def f(*params):
        return functional_call(net, {**buffers, **dict(zip(names, params))}, (x,)).reshape(x.shape[0], -1)

    blocks = torch.autograd.functional.jacobian(f, tuple(v.detach() for v in values))
    return torch.cat([b.reshape(x.shape[0], b.shape[1], -1) for b in blocks], dim=2)


def _arccos_ntk(a, b, sigma_w, sigma_b):
    """Closed-form infinite-width ReLU NTK of ShallowNTKNet (Cho & Saul 2009 arc-cosine kernels)."""
    d = a.shape[1]
    q12 = sigma_w**2 * a @ b.T / d + sigma_b**2
    q1 = sigma_w**2 * (a * a).sum(1) / d + sigma_b**2
    q2 = sigma_w**2 * (b * b).sum(1) / d + sigma_b**2
    norm = torch.sqrt(q1[:, None] * q2[None, :])
    angle = torch.arccos((q12 / norm).clamp(-1, 1))
    k1 = norm / (2 * math.pi) * (torch.sin(angle) + (math.pi - angle) * torch.cos(angle))
    k0 = (math.pi - angle) / (2 * math.pi)
    return k1 + q12 * k0


# ------------------------------------------------------------------ empirical NTK


def test_ntk_equals_explicit_jacobian_product_for_every_output_mode():
    net = _mlp64(out=2)
    g = torch.Generator().manual_seed(1)
    x1 = torch.randn(7, 3, generator=g, dtype=torch.float64)
    x2 = torch.randn(5, 3, generator=g, dtype=torch.float64)
    j1, j2 = _explicit_jacobian(net, x1), _explicit_jacobian(net, x2)
    full = torch.einsum("aop,bqp->aboq", j1, j2)
    ours = kernels.ntk(net, x1, x2, chunk_size=3)
    assert ours.shape == (7, 5, 2, 2)
    torch.testing.assert_close(ours, full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(kernels.ntk(net, x1, x2, outputs="trace"),
                               full.diagonal(dim1=2, dim2=3).sum(-1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(kernels.ntk(net, x1, x2, outputs="diagonal"),
                               full.diagonal(dim1=2, dim2=3), rtol=1e-12, atol=1e-12)


class _Shared(torch.nn.Module):
    """One Linear layer applied twice: the per-layer Gram route must step aside."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3, 3).double()
        self.scale = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64))

    def forward(self, x):
        return (torch.tanh(self.layer(torch.tanh(self.layer(x)))) * self.scale).sum(1, keepdim=True)


@pytest.mark.parametrize("make", [
    lambda: _mlp64(out=1),
    lambda: mlp(3, [6, 5], 2, "gelu", norm="layer").double(),  # Linear + LayerNorm parameters
    _Shared,
    lambda: ShallowNTKNet(3, 16, "sine(omega0=2)", generator=0, dtype=torch.float64),
])
def test_both_routes_equal_the_explicit_kernel(make):
    net = make()
    x1 = torch.randn(6, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    x2 = torch.randn(4, 3, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    j1, j2 = _explicit_jacobian(net, x1), _explicit_jacobian(net, x2)
    expected = torch.einsum("aop,bqp->aboq", j1, j2).sum((2, 3)) if j1.shape[1] == 1 else \
        torch.einsum("aop,bop->ab", j1, j2)
    for method in ("auto", "jacobian"):
        got = kernels.ntk(net, x1, x2, method=method, outputs="trace", chunk_size=4)
        torch.testing.assert_close(got, expected, rtol=1e-11, atol=1e-11)


def _conv_net():
    """Conv2d (Jacobian route) feeding a Linear head (Gram route) after Flatten."""
    return _randomized(torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.Tanh(),
                                           torch.nn.Flatten(), torch.nn.Linear(3 * 5 * 5, 2)), 0, 0.3)


def _batchnorm_net():
    """Linear → BatchNorm1d with non-trivial running statistics and affine → tanh → Linear."""
    net = _randomized(torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.BatchNorm1d(6),
                                          torch.nn.Tanh(), torch.nn.Linear(6, 1)), 1)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        net[1].running_mean.copy_(torch.randn(6, generator=g, dtype=torch.float64))
        net[1].running_var.copy_(0.5 + torch.rand(6, generator=g, dtype=torch.float64))
    return net


@pytest.mark.parametrize("make, shape", [(_conv_net, (5, 2, 5, 5)), (_batchnorm_net, (6, 3))])
def test_conv_and_eval_batchnorm_models_match_the_explicit_kernel(make, shape):
    net = make().eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    j = _explicit_jacobian(net, x)
    expected = torch.einsum("aop,bop->ab", j, j)
    for method in ("auto", "jacobian"):
        got = kernels.ntk(net, x, outputs="trace", method=method, chunk_size=2)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_batchnorm_in_train_mode_gives_the_eval_kernel_and_keeps_its_statistics():
    net = _batchnorm_net().train()
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    theta = kernels.ntk(net, x)
    assert net.training and net[1].training
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())  # running stats too
    j = _explicit_jacobian(net.eval(), x)
    torch.testing.assert_close(theta, j[:, 0] @ j[:, 0].T, rtol=1e-12, atol=1e-12)


class _Centered(torch.nn.Module):
    """``Linear(x − mean over the batch)``: a point's output depends on the other points."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3, 1).double()

    def forward(self, x):
        return self.layer(x - x.mean(0, keepdim=True))


@pytest.mark.parametrize("method", ["auto", "jacobian"])
def test_batch_coupled_models_are_refused(method):
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    with pytest.raises(ValueError, match="depends on the other points of the batch"):
        kernels.ntk(_Centered(), x, method=method)
    with pytest.raises(ValueError, match="depends on the other points"):
        kernels.ntk(_Centered(), x[:1], x[1:3])  # the check pairs x1 with x2 too


def test_points_take_the_models_dtype():
    net64 = _mlp64(out=1)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    theta = kernels.ntk(net64, x.float())
    assert theta.dtype == torch.float64
    torch.testing.assert_close(theta, kernels.ntk(net64, x.float().double()), rtol=0, atol=0)
    net32 = mlp(3, [8], 1, "tanh")
    theta32 = kernels.ntk(net32, x)
    assert theta32.dtype == torch.float32
    torch.testing.assert_close(theta32.double(), kernels.ntk(net32.double(), x.float().double()),
                               rtol=1e-5, atol=1e-6)


def test_ntk_is_symmetric_psd_and_chunking_changes_nothing():
    net = _mlp64(out=1)
    x = torch.randn(23, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    theta = kernels.ntk(net, x)
    assert theta.shape == (23, 23)
    torch.testing.assert_close(theta, theta.T, rtol=0, atol=1e-12)
    assert float(torch.linalg.eigvalsh(theta).min()) > -1e-10 * float(theta.diagonal().max())
    for chunk in (1, 4, 23, 100):
        for method in ("auto", "jacobian"):
            torch.testing.assert_close(kernels.ntk(net, x, chunk_size=chunk, method=method), theta,
                                       rtol=1e-13, atol=1e-13)
    # x2 = x1 passed explicitly gives the same kernel
    torch.testing.assert_close(kernels.ntk(net, x, x.clone(), chunk_size=5), theta,
                               rtol=1e-13, atol=1e-13)


def test_ntk_respects_params_subset_and_leaves_the_model_alone():
    net = _mlp64(out=1)
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    last = {k: v for k, v in net.named_parameters() if k.startswith("4.")}
    theta = kernels.ntk(net, x, params=last)
    with torch.no_grad():
        features = net[:4](x)  # readout NTK: φ(x)·φ(x') + 1 (the bias)
    torch.testing.assert_close(theta, features @ features.T + 1.0, rtol=1e-12, atol=1e-12)
    net.train()
    before = [p.clone() for p in net.parameters()]
    kernels.ntk(net, x)
    assert net.training and all(torch.equal(p, q) for p, q in zip(before, net.parameters()))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda net: kernels.ntk(net, torch.zeros(4, 3), torch.zeros(4, 2)), ValueError,
         "same feature shape"),
        (lambda net: kernels.ntk(net, torch.zeros(4, 5)), ValueError, "cannot be applied to x1"),
        (lambda net: kernels.ntk(net, torch.tensor([[0.0, float("nan"), 1.0]])), ValueError, "NaN"),
        (lambda net: kernels.ntk(net, torch.zeros(0, 3)), ValueError, "x1 is empty"),
        (lambda net: kernels.ntk(net, torch.zeros(2, 3), chunk_size=0), ValueError, "chunk_size"),
        (lambda net: kernels.ntk(net, torch.zeros(2, 3), outputs="sum"), ValueError, "outputs"),
        (lambda net: kernels.ntk(net, torch.zeros(2, 3), method="fast"), ValueError, "method"),
        (lambda net: kernels.ntk(net, torch.zeros(2, 3), params={"nope": torch.zeros(1)}),
         ValueError, "not parameters of the model"),
        (lambda net: kernels.ntk("net", torch.zeros(2, 3)), TypeError, "nn.Module"),
    ],
)
def test_ntk_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call(mlp(3, [4], 1, "tanh"))


# ------------------------------------------------------------------ kernel spectrum


def test_ntk_eig_sorts_descending_and_reconstructs():
    a = torch.randn(9, 9, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    k = a @ a.T
    eig = kernels.ntk_eig(k)
    assert bool((eig.eigenvalues[:-1] >= eig.eigenvalues[1:]).all())
    v = eig.eigenvectors
    torch.testing.assert_close(v @ torch.diag(eig.eigenvalues) @ v.T, k, rtol=1e-10, atol=1e-10)
    top = kernels.ntk_eig(k, k=3)
    assert top.eigenvalues.shape == (3,) and top.eigenvectors.shape == (9, 3)
    with pytest.raises(ValueError, match="not symmetric"):
        kernels.ntk_eig(a)
    with pytest.raises(ValueError, match="square"):
        kernels.ntk_eig(torch.ones(3, 4))


def test_fourier_projection_puts_a_cosine_at_its_frequency_1d_and_2d():
    n = 64
    x = torch.arange(n, dtype=torch.float64) * 2.0 / n - 1.0  # grid of [-1, 1)
    vectors = torch.stack([torch.cos(2 * math.pi * 3 * x), torch.sin(2 * math.pi * 10 * x + 0.3),
                           torch.ones(n)], 1)
    proj = kernels.fourier_projection(vectors, lo=-1.0, hi=1.0)
    np.testing.assert_allclose(proj.energy.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proj.dominant, [3.0, 10.0, 0.0])
    np.testing.assert_allclose(proj.energy.max(1), 1.0, rtol=1e-12)
    # 2D: cos(2π (3 x + 4 y)) has radial frequency 5 on [0, 1)²
    g = torch.arange(32, dtype=torch.float64) / 32
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    plane = torch.cos(2 * math.pi * (3 * xx + 4 * yy)).reshape(-1)
    proj2 = kernels.fourier_projection(plane, shape=(32, 32))
    assert float(proj2.dominant[0]) == 5.0
    assert proj2.energy[0, 5] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="does not hold"):
        kernels.fourier_projection(plane, shape=(31, 32))
    with pytest.raises(ValueError, match="all-zero"):
        kernels.fourier_projection(torch.zeros(8))


def test_spectral_weight_reads_a_circulant_kernels_eigenvalues():
    n = 32
    lam = 1.0 / (1.0 + torch.arange(n // 2 + 1, dtype=torch.float64) ** 2)
    full = torch.cat([lam, lam[1:n - n // 2].flip(0)])  # λ(k) = λ(n − k)
    row = torch.fft.ifft(full).real  # first row of the circulant with these eigenvalues
    k = torch.stack([row.roll(j) for j in range(n)])
    sw = kernels.spectral_weight(k, lo=0.0, hi=2.0)
    np.testing.assert_allclose(sw.power, lam.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sw.weight, 1.0 / lam.numpy(), rtol=1e-10)
    np.testing.assert_allclose(sw.freqs, np.arange(n // 2 + 1) / 2.0)
    assert sw.growth(4) == pytest.approx(float(lam[1] / lam[4]), rel=1e-10)  # (1 + 16)/(1 + 1)
    with pytest.raises(ValueError, match="k must be below 17"):
        sw.growth(17)


def test_spectral_weight_floors_round_off_power():
    sw = kernels.SpectralWeight.from_power([0.0, 1.0, 2.0], [2.0, 1.0, -1e-30])
    np.testing.assert_array_equal(sw.weight[:2], [0.5, 1.0])
    assert sw.weight[2] == 1.0 / (3 * np.finfo(np.float64).eps * 2.0)
    with pytest.raises(ValueError, match="one length"):
        kernels.SpectralWeight.from_power([0.0, 1.0], [1.0])


def test_efolding_rate_recovers_exponential_rates():
    steps = np.arange(0, 101, 10)
    rates = np.array([0.5, 0.05, 0.004])  # e-folds before the first record, inside, never
    got = kernels.efolding_rate(steps, np.exp(-np.outer(steps, rates)))
    # r_10/r_0 = e^{-5}: log-linear interpolation from step 0 puts the e-fold at step 2
    np.testing.assert_allclose(got, [0.5, 0.05, 0.004], rtol=1e-12)
    np.testing.assert_allclose(kernels.efolding_rate(steps + 7, np.exp(-np.outer(steps, rates))),
                               got, rtol=1e-12)  # time is measured from the first record
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


# ------------------------------------------------------------------ linearized model


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
    step = kernels.linearized_flow(k, y, torch.arange(4.0), lr=lr, f0_train=f0, k_test=kt,
                                   f0_test=f0t, discrete=True)
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


# ------------------------------------------------------------------ infinite width


def test_shallow_relu_ntk_matches_the_arc_cosine_formula():
    x = torch.linspace(-1.5, 1.5, 11, dtype=torch.float64).unsqueeze(1)
    exact = _arccos_ntk(x, x, 1.5, 0.5)
    mc = kernels.shallow_ntk(x, None, "relu", sigma_w=1.5, sigma_b=0.5, n_samples=2**17,
                             generator=0)
    z = (mc.value - exact).abs() / mc.stderr
    assert float(z.max()) < 4.5 and float(z.mean()) < 1.5  # within Monte Carlo error
    quad = kernels.shallow_ntk(x, None, "relu", sigma_w=1.5, sigma_b=0.5, method="quadrature",
                               n_nodes=64)
    # Gauss–Hermite converges slowly across ReLU's kink: a few percent at 64 nodes per axis
    assert float(((quad.value - exact).abs() / exact.abs().max()).max()) < 0.05
    assert float(quad.stderr.abs().max()) == 0.0


@pytest.mark.parametrize("activation, tol", [("sine(omega0=1)", 1e-12), ("tanh", 5e-3)])
def test_quadrature_and_monte_carlo_agree_for_smooth_activations(activation, tol):
    # sin(w x + b) converges to round-off; tanh's complex poles slow Gauss–Hermite down
    x = torch.linspace(-1, 1, 7, dtype=torch.float64).unsqueeze(1)
    quad = kernels.shallow_ntk(x, None, activation, sigma_w=2.0, method="quadrature", n_nodes=40)
    finer = kernels.shallow_ntk(x, None, activation, sigma_w=2.0, method="quadrature", n_nodes=60)
    torch.testing.assert_close(quad.value, finer.value, rtol=tol, atol=tol)
    mc = kernels.shallow_ntk(x, None, activation, sigma_w=2.0, n_samples=2**16, generator=3)
    # (for sine at x = x' = 0 every draw gives sin²b + cos²b = 1: zero error, exact value)
    assert bool(((mc.value - finer.value).abs() <= 4.5 * mc.stderr + 1e-12).all())


def test_wide_network_ntk_approaches_the_infinite_width_kernel():
    x = torch.linspace(-1, 1, 9, dtype=torch.float64).unsqueeze(1)
    exact = _arccos_ntk(x, x, 1.0, 1.0)
    errors = []
    for width in (256, 16384):
        net = ShallowNTKNet(1, width, "relu", generator=0, dtype=torch.float64)
        errors.append(float((kernels.ntk(net, x) - exact).norm() / exact.norm()))
    assert errors[1] < 0.03 and errors[1] < errors[0] / 2


def test_shallow_ntk_is_deterministic_and_checks_input():
    x = torch.linspace(-1, 1, 5).unsqueeze(1)
    a = kernels.shallow_ntk(x, None, "gelu", n_samples=1000, generator=7)
    b = kernels.shallow_ntk(x, None, "gelu", n_samples=1000, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a.value, b.value) and torch.equal(a.stderr, b.stderr)
    c = kernels.shallow_ntk(x, None, "gelu", n_samples=1000, generator=8)
    assert not torch.equal(a.value, c.value)
    n1 = ShallowNTKNet(1, 16, "tanh", generator=3)
    n2 = ShallowNTKNet(1, 16, "tanh", generator=3)
    assert all(torch.equal(p, q) for p, q in zip(n1.parameters(), n2.parameters()))
    with pytest.raises(ValueError, match="same d"):
        kernels.shallow_ntk(x, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="method="):
        kernels.shallow_ntk(torch.zeros(3, 3), method="quadrature")
    with pytest.raises(ValueError, match="method must be"):
        kernels.shallow_ntk(x, method="exact")
    with pytest.raises(ValueError, match="unknown activation"):
        kernels.shallow_ntk(x, None, "nope")
    with pytest.raises(ValueError, match="NaN"):
        kernels.shallow_ntk(torch.tensor([[float("nan")]]))
    with pytest.raises(ValueError, match="input must have shape"):
        n1(torch.zeros(4, 2))


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
            for p, gr in zip(params, grads):
                p -= lr * gr
    with torch.no_grad():
        trained = net(xt)[:, 0]
    limit = kernels.kernel_regression(k, y, kt, f0_train=f0, f0_test=f0t)
    path = kernels.linearized_flow(k, y, [1000], lr=lr, f0_train=f0, k_test=kt, f0_test=f0t,
                                   discrete=True)
    change = (limit - f0t).norm()
    assert float((trained - path.test[0]).norm() / change) < 0.01  # measured 0.0012
    assert float((trained - limit).norm() / change) < 0.02  # measured 0.0048


def test_shallow_net_leaves_the_global_rng_alone():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    ShallowNTKNet(2, 32, "relu", generator=0)
    assert torch.equal(torch.rand(3), expected)
