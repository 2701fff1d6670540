"""specinit.measure.kernels.infinite: the infinite-width shallow NTK and its finite network."""

import math

import pytest
import torch

from specinit.measure import kernels
from specinit.nn.models import ShallowNTKNet


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


def test_shallow_relu_ntk_matches_the_arc_cosine_formula():
    x = torch.linspace(-1.5, 1.5, 11, dtype=torch.float64).unsqueeze(1)
    exact = _arccos_ntk(x, x, 1.5, 0.5)
    mc = kernels.shallow_ntk(x, None, "relu", sigma_w=1.5, sigma_b=0.5, n_samples=2**17, generator=0)
    z = (mc.value - exact).abs() / mc.stderr
    assert float(z.max()) < 4.5 and float(z.mean()) < 1.5  # within Monte Carlo error
    quad = kernels.shallow_ntk(x, None, "relu", sigma_w=1.5, sigma_b=0.5, method="quadrature", n_nodes=64)
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
    assert all(torch.equal(p, q) for p, q in zip(n1.parameters(), n2.parameters(), strict=True))
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


def test_shallow_net_leaves_the_global_rng_alone():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    ShallowNTKNet(2, 32, "relu", generator=0)
    assert torch.equal(torch.rand(3), expected)
