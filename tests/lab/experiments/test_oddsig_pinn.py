"""Burgers PINN pieces (specinit.pinn) and tiny runs of oddsig-pinn and oddsig-sensitivity."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from specinit import lab as experiments
from specinit.lab.experiments import oddsig_pinn, oddsig_sensitivity
from specinit.training import pinn


class Analytic(nn.Module):
    """u(x, t) given by a formula of the input columns, with no parameters but one dummy."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, xt):
        return self.fn(xt[:, :1], xt[:, 1:]) + 0 * self.dummy


XT = torch.tensor([[-0.7, 0.1], [0.0, 0.5], [0.3, 0.9], [1.0, 0.2]], dtype=torch.float64)


def test_residual_of_a_constant_is_zero():
    r = pinn.burgers_residual(Analytic(lambda x, t: 0 * x + 2.5), XT)
    assert r.shape == (4, 1) and torch.equal(r, torch.zeros(4, 1, dtype=torch.float64))


def test_residual_of_u_equal_x_is_x():
    # u = x: u_t = 0, u u_x = x, u_xx = 0 — whatever ν is.
    for nu in (0.0, pinn.NU, 3.0):
        r = pinn.burgers_residual(Analytic(lambda x, t: x + 0 * t), XT, nu)
        torch.testing.assert_close(r, XT[:, :1], rtol=0, atol=1e-15)


def test_residual_terms_each_enter_with_their_sign():
    # u = t + x²: u_t = 1, u u_x = (t + x²) 2x, u_xx = 2.
    nu = 0.3
    r = pinn.burgers_residual(Analytic(lambda x, t: t + x**2), XT, nu)
    x, t = XT[:, :1], XT[:, 1:]
    torch.testing.assert_close(r, 1 + (t + x**2) * 2 * x - nu * 2, rtol=1e-12, atol=1e-12)


def test_residual_vanishes_on_the_exact_viscous_solution():
    # A travelling-wave solution of u_t + u u_x = ν u_xx: u = 1 − tanh((x − t)/(2ν)).
    nu = 0.2
    wave = Analytic(lambda x, t: 1 - torch.tanh((x - t) / (2 * nu)))
    r = pinn.burgers_residual(wave, XT, nu)
    assert r.abs().max() < 1e-12


def test_loss_is_differentiable_and_parts_add_up():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    pts = pinn.sample_points(50, 10, 5, generator=1)
    parts = pinn.burgers_loss(net, pts)
    torch.testing.assert_close(parts.total, parts.residual + parts.data)
    n0, nb = 10, 10
    torch.testing.assert_close(parts.data, (n0 * parts.initial + nb * parts.boundary) / (n0 + nb))
    parts.total.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_points_and_targets():
    pts = pinn.sample_points(100, 20, 7, generator=3)
    assert pts.collocation.shape == (100, 2) and pts.initial.shape == (20, 2)
    assert pts.boundary.shape == (14, 2)
    c = pts.collocation
    assert (c[:, 0] >= -1).all() and (c[:, 0] <= 1).all() and (c[:, 1] >= 0).all() and (c[:, 1] <= 1).all()
    assert (pts.initial[:, 1] == 0).all()
    assert sorted(pts.boundary[:, 0].unique().tolist()) == [-1.0, 1.0]
    assert (pts.boundary[:, 0] == -1).sum() == 7
    targets = pts.targets
    torch.testing.assert_close(targets[:20], -torch.sin(math.pi * pts.initial[:, :1]))
    assert torch.equal(targets[20:], torch.zeros(14, 1))
    assert torch.equal(pts.data, torch.cat([pts.initial, pts.boundary]))


def test_sampling_is_seeded():
    a, b, c = (pinn.sample_points(30, 5, 5, generator=s) for s in (4, 4, 5))
    assert torch.equal(a.collocation, b.collocation) and torch.equal(a.boundary, b.boundary)
    assert not torch.equal(a.collocation, c.collocation)
    state = torch.random.get_rng_state()
    pinn.sample_points(30, 5, 5, generator=4)
    assert torch.equal(state, torch.random.get_rng_state())


def test_bad_inputs_raise():
    net = Analytic(lambda x, t: x)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        pinn.burgers_residual(net, torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        pinn.burgers_residual(net, torch.zeros(5))
    with pytest.raises(ValueError, match="NaN/inf"):
        pinn.burgers_residual(net, torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"\(N, 1\) outputs"):
        pinn.burgers_residual(nn.Linear(2, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="nu must be a finite non-negative"):
        pinn.burgers_residual(net, XT, -1.0)
    with pytest.raises(ValueError, match="n_collocation must be an integer >= 1"):
        pinn.sample_points(0, 5, 5, generator=0)
    with pytest.raises(ValueError, match="t ≥ 0"):
        pinn.reference_solution(np.zeros(3), np.array([-0.1]))


def test_reference_solution_matches_known_values():
    # Basdevant et al. (1986): the steepest slope, ∂u/∂x(0, t) = −152.00516 at t = 1.6037/π.
    h = 1e-7
    u = pinn.reference_solution(np.array([-h, h]), np.array([1.6037 / math.pi]))
    assert abs((u[1, 0] - u[0, 0]) / (2 * h) + 152.00516) < 0.01
    x = np.linspace(-1, 1, 41)
    u = pinn.reference_solution(x, np.array([0.0, 1e-4, 0.5]))
    np.testing.assert_allclose(u[:, 1], -np.sin(np.pi * x), atol=1e-3)  # the initial condition
    np.testing.assert_allclose(u[[0, -1]], 0, atol=1e-12)  # boundaries
    np.testing.assert_allclose(u, -u[::-1], atol=1e-12)  # odd in x


def test_training_lowers_the_loss_deterministically():
    def run():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        return pinn.train_pinn(
            net, pinn.sample_points(64, 16, 8, generator=0), adam_steps=30, lr=1e-2, lbfgs_iterations=5
        )

    a, b = run(), run()
    assert a.final == b.final and np.array_equal(a.losses, b.losses)
    assert a.final["total"] < a.losses[0] and len(a.losses) >= 35
    assert a.adam_steps == 30 and a.lbfgs_evaluations >= 5


TINY_PINN = dataclasses.replace(
    oddsig_pinn.QUICK,
    activations=("tanh", "tanh(k=2)"),
    depth=3,
    width=8,
    n_collocation=64,
    n_initial=16,
    n_boundary=8,
    adam_steps=10,
    lbfgs_iterations=3,
    grid_x=33,
    grid_t=11,
)
TINY_SENS = dataclasses.replace(
    oddsig_sensitivity.QUICK,
    width=16,
    depth=12,
    widths=(8, 16),
    depths=(10, 12),
    ks=(1.0, 2.0),
    noises=(0.5, 1.0),
    batch=64,
    train_epochs=1,
    seeds=(0,),
)


def _numbers(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("name, cfg", [("oddsig-pinn", TINY_PINN), ("oddsig-sensitivity", TINY_SENS)])
def test_tiny_run_writes_results_and_is_deterministic(name, cfg, tmp_path):
    a = experiments.run(name, config=cfg, out=tmp_path / "a", progress=False)
    b = experiments.run(name, config=cfg, out=tmp_path / "b", progress=False)
    assert _numbers(a.rows) == _numbers(b.rows)
    assert len(a.rows) == len(experiments.get(name).units(cfg)) and a.findings
    for file in ("results.json", "results.csv", "summary.csv", "report.md"):
        assert (tmp_path / "a" / file).stat().st_size > 0
    assert list((tmp_path / "a").glob("*.png"))


def test_sensitivity_k_is_absorbed_by_the_critical_gain(tmp_path):
    rows = experiments.run("oddsig-sensitivity", config=TINY_SENS, out=tmp_path, progress=False).rows
    ours = {r["value"]: r["std_last"] for r in rows if r["vary"] == "k" and r["init"] == "odd_sigmoid"}
    assert ours[1.0] == pytest.approx(ours[2.0], rel=1e-5)
    assert all(0.75 < r["ratio"] < 1.15 for r in rows if r["init"] == "odd_sigmoid" and r["vary"] != "noise")
