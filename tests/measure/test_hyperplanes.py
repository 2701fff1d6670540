"""Shallow-net reparameterization, ReLU splines, hyperplane clustering (arXiv 2503.10587)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from specinit.initializers import shallow_init_
from specinit.measure.hyperplanes import (
    HyperplaneClusters,
    HyperplaneTracker,
    Neurons,
    cluster_hyperplanes,
    hyperplane_movement,
    is_homogeneous,
    pinning_distances,
    relu_spline,
    rescale_neurons,
    to_network,
    to_neurons,
)
from specinit.nn import activations
from specinit.nn.layers import shallow_parts
from specinit.nn.models import coordinate_mlp, mlp
from specinit.training import train


def _net(d=2, k=16, m=1, activation="relu", seed=0, **params):
    """A float64 shallow net with every parameter drawn from N(0, 1) (seeded)."""
    net = mlp(d, [k], m, activation, **params).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return net


def _x(n=50, d=2, seed=1):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --------------------------------------------------------------------------- reparameterization


@pytest.mark.parametrize("activation, params", [("relu", {}), ("leaky_relu", {"negative_slope": 0.2})])
def test_record_is_invariant_under_the_rescaling_symmetry(activation, params):
    net = _net(3, 12, 2, activation, **params)
    alpha = torch.logspace(-2, 2, 12, dtype=torch.float64)
    moved = rescale_neurons(net, alpha)
    a, b = to_neurons(net), to_neurons(moved)
    assert a.homogeneous and b.homogeneous
    for name in ("normals", "offsets", "amplitudes", "output_bias"):
        assert torch.allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-14), name
    assert torch.allclose(b.scales, a.scales * alpha, rtol=1e-12)
    x = _x(40, 3)
    assert torch.allclose(net(x), moved(x), rtol=1e-12, atol=1e-12)
    # the parameters themselves did change, and the input model was not touched
    assert not torch.allclose(net[0].weight, moved[0].weight)
    assert torch.equal(to_neurons(net).scales, a.scales)


def test_tanh_keeps_the_norm_as_a_sharpness_and_the_symmetry_breaks():
    net = _net(2, 10, 1, "tanh")
    moved = rescale_neurons(net, 3.0)
    a, b = to_neurons(net), to_neurons(moved)
    assert not a.homogeneous
    assert torch.allclose(a.normals, b.normals) and torch.allclose(a.offsets, b.offsets)
    assert torch.allclose(b.scales, 3 * a.scales) and torch.allclose(b.amplitudes, a.amplitudes / 3)
    assert torch.allclose(a.amplitudes, net[2].weight.T)  # a = v when σ is not homogeneous
    x = _x(30)
    assert (net(x) - moved(x)).abs().max() > 1e-2  # tanh nets are not rescaling-invariant


@pytest.mark.parametrize(
    "activation, params",
    [
        ("relu", {}),
        ("leaky_relu", {"negative_slope": 0.1}),
        ("tanh", {}),
        ("gelu", {}),
        ("sine", {"omega0": 3.0}),
        ("gaussian", {"sigma": 0.5}),
    ],
)
def test_round_trip_reproduces_the_function(activation, params):
    net = _net(3, 20, 2, activation, **params)
    x = _x(64, 3)
    neurons = to_neurons(net)
    back = to_network(neurons)
    assert torch.allclose(back(x), net(x), rtol=1e-10, atol=1e-12)
    assert torch.allclose(neurons(x), net(x), rtol=1e-10, atol=1e-12)
    for p, q in zip(net.parameters(), back.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=1e-12, atol=1e-14)
    # hyperplane definitions: ŵ = w/‖w‖ unit, β = −b/‖w‖
    w, b = net[0].weight, net[0].bias
    assert torch.allclose(neurons.normals.norm(dim=1), torch.ones(20, dtype=torch.float64))
    assert torch.allclose(neurons.offsets, -b / w.norm(dim=1))
    # signed distance ⟨ŵ, x⟩ − β = (⟨w, x⟩ + b)/‖w‖
    assert torch.allclose(neurons.preactivations(x), (x @ w.T + b) / w.norm(dim=1))


def test_torch_activation_modules_and_coordinate_mlps_are_accepted():
    seq = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    neurons = to_neurons(seq)
    assert neurons.homogeneous and neurons.activation.name == "relu"
    x = _x(20)
    assert torch.allclose(to_network(neurons)(x), seq(x), atol=1e-12)
    leaky = to_neurons(nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.3), nn.Linear(4, 1)))
    assert leaky.homogeneous and dict(leaky.activation.params)["negative_slope"] == 0.3
    assert not to_neurons(nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))).homogeneous
    coord = coordinate_mlp(1, width=6, depth=1, activation="tanh")
    hidden, act, out = shallow_parts(coord)
    assert hidden is coord.net[0] and out is coord.net[2] and act.name == "tanh"


def test_missing_biases_count_as_zero():
    net = nn.Sequential(nn.Linear(2, 5, bias=False), nn.ReLU(), nn.Linear(5, 1, bias=False)).double()
    neurons = to_neurons(net)
    assert torch.equal(neurons.offsets, torch.zeros(5, dtype=torch.float64))
    x = _x(10)
    assert torch.allclose(neurons(x), net(x), atol=1e-12)


def test_homogeneity_is_detected_from_the_function():
    assert is_homogeneous("relu") and is_homogeneous("leaky_relu")
    assert is_homogeneous(activations.get("relu", k=2.5))
    assert is_homogeneous(activations.from_callable(lambda z: 2 * torch.relu(z) - 0.5 * torch.relu(-z)))
    for name in ("tanh", "gelu", "sine", "gaussian", "softsign", "silu", "sigmoid"):
        assert not is_homogeneous(name), name


# --------------------------------------------------------------------------- 1D splines


def test_relu_breakpoints_and_delta_slopes_reconstruct_the_net():
    net = _net(1, 25, 1, "relu", seed=3)
    spline = relu_spline(net)
    w, b, v = net[0].weight[:, 0], net[0].bias, net[2].weight[0]
    assert torch.allclose(spline.breakpoints, -b / w, rtol=1e-12)
    assert torch.allclose(spline.delta_slopes[:, 0], v * w.abs(), rtol=1e-12)
    assert torch.equal(spline.orientations, torch.sign(w))
    x = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    assert torch.allclose(spline(x), net(x.unsqueeze(1)), rtol=1e-10, atol=1e-10)
    # the slope of the net really jumps by μ_k at x_k (finite differences beside the kink)
    k = int(torch.argmin(spline.breakpoints.abs()))
    h = 1e-7
    xk = spline.breakpoints[k]
    others = torch.cat([spline.breakpoints[:k], spline.breakpoints[k + 1 :]])
    assert float((others - xk).abs().min()) > 10 * h
    pts = torch.stack([xk - 2 * h, xk - h, xk + h, xk + 2 * h]).unsqueeze(1)
    with torch.no_grad():
        f = net(pts)[:, 0]
    jump = (f[3] - f[2]) / h - (f[1] - f[0]) / h
    assert float(jump) == pytest.approx(float(spline.delta_slopes[k, 0]), rel=1e-5)


def test_leaky_relu_spline_has_the_scaled_delta_slope():
    net = _net(1, 10, 2, "leaky_relu", negative_slope=0.25, seed=4)
    spline = relu_spline(net)
    w, v = net[0].weight[:, 0], net[2].weight
    assert torch.allclose(spline.delta_slopes, (0.75 * v * w.abs()).T, rtol=1e-12)
    x = torch.linspace(-5, 5, 501, dtype=torch.float64)
    assert torch.allclose(spline(x), net(x.unsqueeze(1)), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- clustering


def _planted(noise, seed=0):
    """Three groups of 8 ReLU neurons in 2D, each hyperplane through a data point (plus noise),
    every other neuron written with the opposite orientation, and 5 negligible neurons."""
    g = torch.Generator().manual_seed(seed)
    data = torch.tensor([[0.3, -0.2], [-0.5, 0.4], [0.1, 0.7], [0.9, 0.9]], dtype=torch.float64)
    angles = torch.tensor([0.0, 2.0, 4.0], dtype=torch.float64)
    normals, offsets, amps, truth = [], [], [], []
    for c in range(3):
        for j in range(8):
            t = angles[c] + noise * torch.randn(1, generator=g, dtype=torch.float64)
            n = torch.cat([torch.cos(t), torch.sin(t)])
            beta = n @ data[c] + noise * torch.randn(1, generator=g, dtype=torch.float64)[0]
            sign = 1.0 if j % 2 == 0 else -1.0
            normals.append(sign * n)
            offsets.append(sign * beta)
            amps.append(1.0 + 0.5 * j)
            truth.append(c)
    for _ in range(5):
        t = torch.rand(1, generator=g, dtype=torch.float64) * 2 * math.pi
        normals.append(torch.cat([torch.cos(t), torch.sin(t)]))
        offsets.append(torch.rand((), generator=g, dtype=torch.float64))
        amps.append(1e-4)
        truth.append(-1)
    k = len(amps)
    neurons = Neurons(
        torch.stack(normals),
        torch.stack(offsets).reshape(k),
        torch.tensor(amps, dtype=torch.float64).unsqueeze(1),
        torch.ones(k, dtype=torch.float64),
        torch.zeros(1, dtype=torch.float64),
        activations.get("relu"),
        True,
    )
    return neurons, np.array(truth), data


def test_clustering_finds_exactly_the_planted_groups():
    neurons, truth, data = _planted(noise=1e-3)
    found = cluster_hyperplanes(to_network(neurons), eps=0.05)  # through the network, too
    assert found.n_clusters == 3
    assert np.array_equal(found.labels == -1, truth == -1)  # negligible neurons left out
    kept = truth >= 0
    pairs = set(zip(truth[kept].tolist(), found.labels[kept].tolist(), strict=True))
    assert len(pairs) == 3  # a bijection between planted and found clusters
    assert np.array_equal(found.sizes, [8, 8, 8])
    assert np.allclose(found.masses, 8 + 0.5 * 28)
    assert np.all(found.spreads < 5e-3) and np.all(found.spreads > 0)
    assert np.all(found.pinning(data) < 5e-3)
    assert found.n_effective == pytest.approx(3.0)
    # orientation matters when asked: each planted group splits into its two orientations
    assert cluster_hyperplanes(neurons, eps=0.05, oriented=True).n_clusters == 6


def test_hyperplanes_planted_at_data_have_zero_pinning():
    neurons, _, data = _planted(noise=0.0)
    found = cluster_hyperplanes(neurons, eps=0.05)
    assert found.n_clusters == 3
    assert np.allclose(found.pinning(data), 0.0, atol=1e-12)
    assert found.pinned_fraction(data, 0.01) == 1.0
    assert np.allclose(found.spreads, 0.0, atol=1e-12)


def test_pinning_distances_against_hand_computed_values():
    x = np.array([[0.0], [1.0], [3.0]])
    # breakpoints at 0.25 (normal +1) and 2.0 (written with normal −1, offset −2)
    dist = pinning_distances([[1.0], [-1.0]], [0.25, -2.0], x)
    assert np.allclose(dist, [0.25, 1.0])
    # median gap of the projections is 1.5 in both orientations
    assert np.allclose(
        pinning_distances([[1.0], [-1.0]], [0.25, -2.0], x, relative=True), [0.25 / 1.5, 1.0 / 1.5]
    )


def _clusters_1d(offsets, masses):
    k = len(offsets)
    return HyperplaneClusters(
        np.arange(k),
        np.ones((k, 1)),
        np.array(offsets, dtype=float),
        np.array(masses, dtype=float),
        np.zeros(k),
        np.ones(k, dtype=int),
    )


def test_median_pinning_is_the_mass_weighted_median():
    x = np.array([0.0, 1.0, 2.0, 3.0])  # spacing 1: relative distance = absolute distance
    # distances 0.3, 0.1, 0.5; sorted with masses (1, 1, 5): half of 7 is reached at 0.5
    assert _clusters_1d([0.3, 1.1, 2.5], [1, 1, 5]).median_pinning(x) == pytest.approx(0.5)
    # masses (3, 1, 1): sorted 0.1 (1), 0.3 (3) -> cumulative 4 ≥ 2.5 at 0.3
    assert _clusters_1d([0.3, 1.1, 2.5], [3, 1, 1]).median_pinning(x) == pytest.approx(0.3)
    assert math.isnan(_clusters_1d([], []).median_pinning(x))


def test_pinning_distances_refuse_bad_input():
    with pytest.raises(ValueError, match=r"normals must be \(C, d\) and offsets \(C,\)"):
        pinning_distances([[1.0], [1.0]], [0.0], [[0.0]])
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1\).*mismatched"):
        pinning_distances([[1.0]], [0.0], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        pinning_distances([[1.0]], [0.0], [[0.0], [float("nan")]])
    with pytest.raises(ValueError, match="offsets contains 1 NaN"):
        pinning_distances([[1.0]], [float("inf")], [[0.0]])
    with pytest.raises(ValueError, match="x is empty"):
        pinning_distances([[1.0]], [0.0], np.zeros((0, 1)))


def test_unoriented_distance_in_1d_is_the_breakpoint_gap():
    # two neurons with opposite orientation and breakpoints 0.2 apart merge at eps 0.3, not 0.1
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[2.0], [-0.5]]))
        net[0].bias.copy_(torch.tensor([-0.2 * 2.0, 0.0]))  # breakpoints 0.2 and 0.0
        net[2].weight.fill_(1.0)
    assert cluster_hyperplanes(net, eps=0.3).n_clusters == 1
    assert cluster_hyperplanes(net, eps=0.1).n_clusters == 2


# --------------------------------------------------------------------------- training


def test_init_scale_changes_magnitudes_not_hyperplanes():
    a = shallow_init_(mlp(2, [32], 1), scale=1.0, generator=7)
    b = shallow_init_(mlp(2, [32], 1), scale=1e-3, generator=7)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(q, 1e-3 * p, rtol=1e-6, atol=0)
    na, nb = to_neurons(a), to_neurons(b)
    assert torch.allclose(na.normals, nb.normals, atol=1e-6)
    assert torch.allclose(na.offsets, nb.offsets, atol=1e-5)
    c = shallow_init_(mlp(2, [32], 1), generator=7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))
    assert float(a[2].bias.detach().abs().max()) == 0.0


def test_tracker_records_the_chosen_steps():
    net = shallow_init_(mlp(1, [16], 1), generator=0)
    start = to_neurons(net)
    x = torch.linspace(-1, 1, 8).unsqueeze(1)
    tracker = HyperplaneTracker([0, 5, 20, 5])
    train(net, x, x**2, lr=0.05, steps=20, progress=False, callbacks=[tracker])
    assert tracker.steps == [0, 5, 20] and sorted(tracker.records) == [0, 5, 20]
    assert torch.equal(tracker.records[0].normals, start.normals)
    assert np.all(hyperplane_movement(start, tracker.records[0]) == 0)
    assert np.any(hyperplane_movement(start, tracker.records[20]) > 0)
    stacked = tracker.stacked()
    assert stacked["normals"].shape == (3, 16, 1) and stacked["amplitudes"].shape == (3, 16, 1)
    assert list(stacked["step"]) == [0, 5, 20]


def test_adaptive_training_gives_fewer_distinct_breakpoints_than_lazy():
    g = torch.Generator().manual_seed(0)
    x = torch.sort(torch.rand(8, generator=g) * 2 - 1).values.unsqueeze(1)
    y = torch.sin(3 * x)
    counts = {}
    for regime, scale, lr in (("adaptive", 1e-3, 0.2), ("lazy", 1.0, 1.0 / 64)):
        net = shallow_init_(mlp(1, [64], 1), scale=scale, generator=1)
        train(net, x, y, lr=lr, steps=1500, progress=False)
        counts[regime] = cluster_hyperplanes(net, eps=0.01).n_clusters
    assert counts["adaptive"] <= 6 and counts["lazy"] >= 4 * counts["adaptive"]


# --------------------------------------------------------------------------- bad input


def test_non_shallow_models_are_refused():
    with pytest.raises(TypeError, match="not a shallow network.*Linear → ActivationModule → Linear → "):
        to_neurons(mlp(1, [4, 4], 1))
    with pytest.raises(TypeError, match="not a shallow network"):
        to_neurons(mlp(1, [], 1))
    with pytest.raises(TypeError, match="not a shallow network"):
        to_neurons(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="middle module must be a parameter-free activation"):
        to_neurons(nn.Sequential(nn.Linear(2, 4), nn.PReLU(), nn.Linear(4, 1)))
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        to_neurons("net")
    with pytest.raises(TypeError, match="Neurons record"):
        to_network(mlp(1, [4], 1))


def test_mismatched_sizes_nan_and_degenerate_neurons_are_refused():
    with pytest.raises(ValueError, match="mismatched feature sizes.*5 outputs.*4 inputs"):
        to_neurons(nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(4, 1)))
    net = _net(2, 4, 1)
    with torch.no_grad():
        net[0].bias[1] = float("nan")
    with pytest.raises(ValueError, match="hidden bias contains 1 NaN"):
        to_neurons(net)
    net = _net(2, 4, 1)
    with torch.no_grad():
        net[0].weight[2] = 0.0
    with pytest.raises(ValueError, match=r"neuron\(s\) \[2\] have zero incoming weight"):
        to_neurons(net)
    neurons = to_neurons(_net(2, 4, 1))
    with pytest.raises(ValueError, match="mismatched feature sizes"):
        neurons(torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        neurons(torch.tensor([[0.0, float("nan")]]))
    clusters = cluster_hyperplanes(neurons)
    with pytest.raises(ValueError, match="mismatched feature sizes"):
        clusters.pinning(np.zeros((3, 3)))


def test_bad_options_are_refused():
    net = _net(1, 4, 1)
    with pytest.raises(ValueError, match="alpha must be a finite positive"):
        rescale_neurons(net, -1.0)
    with pytest.raises(ValueError, match="alpha must be positive"):
        rescale_neurons(net, torch.tensor([1.0, 2.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"alpha must be a number or have shape \(4,\)"):
        rescale_neurons(net, torch.ones(3))
    with pytest.raises(ValueError, match="eps must be a finite positive"):
        cluster_hyperplanes(net, eps=0.0)
    with pytest.raises(ValueError, match="min_amplitude .* must be < 1"):
        cluster_hyperplanes(net, min_amplitude=1.0)
    with pytest.raises(ValueError, match="needs a positively homogeneous activation"):
        relu_spline(_net(1, 4, 1, "tanh"))
    with pytest.raises(ValueError, match="breakpoints need 1 input feature"):
        relu_spline(_net(2, 4, 1))
    with pytest.raises(ValueError, match="at least one step"):
        HyperplaneTracker([])
    with pytest.raises(ValueError, match="nothing recorded"):
        HyperplaneTracker([0]).stacked()
    with pytest.raises(ValueError, match="scale must be a finite positive"):
        shallow_init_(mlp(1, [4], 1), scale=0.0)
    with pytest.raises(ValueError, match="differ in shape"):
        hyperplane_movement(_net(1, 4, 1), _net(1, 5, 1))
