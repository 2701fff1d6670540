"""SWIM sampler, scale schedules and readout (arXiv 2306.16830, 2511.02244)."""

import math

import numpy as np
import pytest
import torch

import specinit
from specinit.initializers.swim import layer_generators
from specinit.nn.models import mlp


def _smooth_data(n=40, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64)
    return x, x.sum(1)


# --------------------------------------------------------------------------- sampler


def _planted():
    """Smooth targets plus one pair 1e-4 apart whose targets differ by 5: the steep pair."""
    x, y = _smooth_data(30)
    x = torch.cat([x, x[:1] + torch.tensor([[1e-4, 0.0]], dtype=torch.float64)])
    y = torch.cat([y, y[:1] + 5.0])
    return x, y


@pytest.mark.parametrize("sampler, low, high", [("swim", 0.95, 1.0), ("uniform", 0.0, 0.05)])
def test_sampler_puts_its_mass_on_the_steep_pair(sampler, low, high):
    x, y = _planted()
    w, _ = specinit.swim_layer(x, y, 500, sampler=sampler, n_candidates=20000, generator=0)
    # ‖w‖ = s1 / ‖x_j − x_i‖, so neurons from the planted pair have norm s1 / 1e-4.
    from_pair = torch.isclose(w.norm(dim=1), torch.tensor(math.log(3) / 1e-4, dtype=w.dtype))
    assert low <= float(from_pair.double().mean()) <= high


@pytest.mark.parametrize("activation", ["tanh", "relu", "erf"])
def test_pairs_land_on_the_intended_pre_activations(activation):
    x, y = _smooth_data(50, 3)
    w, b = specinit.swim_layer(x, y, 64, activation=activation, generator=1)
    s1, s2 = specinit.default_scales(activation)
    z = x @ w.T + b  # (points, neurons): each neuron has a point at −s2 and one at s1 − s2
    for target in (-s2, s1 - s2):
        assert float((z - target).abs().min(0).values.max()) < 1e-9
    if activation == "tanh":
        values = torch.tanh(torch.tensor([-s2, s1 - s2], dtype=torch.float64))
        torch.testing.assert_close(values, torch.tensor([-0.5, 0.5], dtype=torch.float64))


def test_explicit_scales_keep_the_activation_ratio():
    x, y = _smooth_data(50, 3)
    w, b = specinit.swim_layer(x, y, 16, s1=3.0, generator=2)
    z = x @ w.T + b
    assert float((z + 1.5).abs().min(0).values.max()) < 1e-9  # s2 = s1/2 for tanh
    assert float((z - 1.5).abs().min(0).values.max()) < 1e-9


def test_duplicate_points_never_make_a_neuron():
    x, y = _smooth_data(4, 2)
    x = torch.cat([x, x[:1].repeat(50, 1)])  # 51 copies of one point and 3 others
    y = torch.cat([y, torch.full((50,), 9.0, dtype=y.dtype)])
    w, b = specinit.swim_layer(x, y, 200, generator=0)
    assert torch.isfinite(w).all() and torch.isfinite(b).all()


def test_constant_targets_fall_back_to_uniform_pairs():
    x, _ = _smooth_data(30)
    const = torch.zeros(30, dtype=torch.float64)
    w_const, _ = specinit.swim_layer(x, const, 32, generator=4)
    w_uniform, _ = specinit.swim_layer(x, torch.ones(30) * 2, 32, sampler="uniform", generator=4)
    assert torch.equal(w_const, w_uniform)
    net = mlp(2, [16], 1, "tanh").double()
    specinit.init_(net, "swim", data=x, targets=const + 3, generator=0)
    assert torch.allclose(net(x), torch.full((30, 1), 3.0, dtype=torch.float64), atol=1e-9)


def test_random_feature_sampler_is_data_free_with_the_documented_law():
    x, y = _smooth_data(10, 50)
    w, b = specinit.swim_layer(x, y, 4000, sampler="random_feature", s1=2.0, generator=0)
    assert float(w.std()) == pytest.approx(2.0 / math.sqrt(50), rel=0.01)
    assert -2.0 <= float(b.min()) < -1.99 and 1.99 < float(b.max()) <= 2.0
    w2, _ = specinit.swim_layer(x + 7, -y, 4000, sampler="random_feature", s1=2.0, generator=0)
    assert torch.equal(w, w2)


# --------------------------------------------------------------------------- schedules


def test_default_scales():
    assert specinit.default_scales("tanh") == (math.log(3), math.log(3) / 2)
    assert specinit.default_scales("relu") == (1.0, 0.0)
    s1, s2 = specinit.default_scales("erf")
    assert s1 == 2 * s2 and math.erf(s2) == pytest.approx(0.5, abs=1e-14)
    with pytest.raises(ValueError, match="no scales for activation 'sine"):
        specinit.default_scales("sine")


def test_scale_schedules():
    ln3 = math.log(3)
    assert specinit.scale_schedule("constant", 3, "tanh") == [ln3] * 3
    spectral = specinit.scale_schedule("spectral", 4, "tanh", low=0.25, high=4.0)
    assert spectral == pytest.approx([ln3 / 4, ln3 / 4 ** (1 / 3), ln3 * 4 ** (1 / 3), ln3 * 4])
    assert np.allclose(np.diff(np.log(spectral)), math.log(16) / 3)  # geometric
    assert specinit.scale_schedule("reversed", 4, "tanh", low=0.25, high=4.0) == spectral[::-1]
    assert specinit.scale_schedule("spectral", 1, "tanh") == pytest.approx([ln3 / 2])  # s1·√(low·high)
    assert specinit.scale_schedule([0.5, 2], 2) == [0.5, 2.0]


def test_schedule_reaches_the_network():
    x, y = _smooth_data(60)
    net = specinit.init_(
        mlp(2, [8, 8], 1, "tanh").double(), "swim", data=x, targets=y, scales=[0.5, 3.0], generator=0
    )
    with torch.no_grad():
        h = torch.tanh(net[0](x))
        for layer, inputs, s1 in ((net[0], x, 0.5), (net[2], h, 3.0)):
            z = layer(inputs)
            assert float((z - s1 / 2).abs().min(0).values.max()) < 1e-9


# --------------------------------------------------------------------------- readout


def test_readout_matches_float64_lstsq():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(400, 20)) + 3.0
    y = phi @ rng.normal(size=(20, 3)) + rng.normal(size=3) + 0.1 * rng.normal(size=(400, 3))
    design = np.column_stack([phi, np.ones(len(phi))])
    ref = np.linalg.lstsq(design, y, rcond=None)[0]
    w, b = specinit.fit_readout(torch.from_numpy(phi), torch.from_numpy(y), l2=1e-14)
    assert w.shape == (3, 20) and b.shape == (3,) and w.dtype == torch.float64
    np.testing.assert_allclose(w.numpy().T, ref[:-1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(b.numpy(), ref[-1], rtol=0, atol=1e-10)


def test_readout_ridge_formula_leaves_the_bias_unpenalized():
    rng = np.random.default_rng(1)
    phi, y = rng.normal(size=(100, 8)) + 5.0, rng.normal(size=100) + 10.0
    pc, yc = phi - phi.mean(0), y - y.mean()
    lam = 0.3 * np.trace(pc.T @ pc) / 8
    ref = np.linalg.solve(pc.T @ pc + lam * np.eye(8), pc.T @ yc)
    w, b = specinit.fit_readout(phi, y, l2=0.3)
    np.testing.assert_allclose(w.numpy()[0], ref, atol=1e-12)
    assert float(b) == pytest.approx(y.mean() - phi.mean(0) @ ref, abs=1e-12)


def test_chunked_readout_equals_unchunked():
    rng = np.random.default_rng(2)
    phi, y = torch.from_numpy(rng.normal(size=(1000, 30))), torch.from_numpy(rng.normal(size=(1000, 2)))
    whole = specinit.fit_readout(phi, y)
    chunks = specinit.fit_readout((phi[s : s + 97], y[s : s + 97]) for s in range(0, 1000, 97))
    for a, c in zip(whole, chunks, strict=True):
        torch.testing.assert_close(a, c, rtol=0, atol=1e-12)


def test_chunked_network_equals_unchunked():
    x, y = _smooth_data(300, 3)
    nets = [
        specinit.init_(
            mlp(3, [40, 20], 1, "tanh").double(), "swim", data=x, targets=y, generator=5, chunk_size=size
        )
        for size in (None, 7)
    ]
    for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-9)


def test_wide_digits_do_not_collapse_at_width_near_n_samples():
    split = specinit.data.digits(generator=0)  # 1347 training images: width 2048 > n_samples
    clf = specinit.SwimClassifier(widths=(2048,), random_state=0)
    clf.fit(split.x_train.numpy(), split.y_train.numpy())
    assert clf.score(split.x_test.numpy(), split.y_test.numpy()) >= 0.95


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_network_and_layers_get_their_own_streams():
    x, y = _smooth_data(50, 8)

    def build(seed):
        net = mlp(8, [8, 8], 1, "tanh")
        return specinit.init_(net, "swim", data=x, targets=y, sampler="random_feature", generator=seed)

    a, b, c = build(0), build(0), build(1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a[0].weight, c[0].weight)
    # Same shape, same law: only separate streams make the two layers differ.
    assert not torch.allclose(a[0].weight, a[2].weight)
    firsts = [int(torch.randint(2**31, (), generator=g)) for g in layer_generators(0, 3)]
    assert len(set(firsts)) == 3
    assert firsts == [int(torch.randint(2**31, (), generator=g)) for g in layer_generators(0, 3)]


def test_float64_on_request():
    x, y = _smooth_data(40)
    w, b = specinit.swim_layer(x.float(), y, 8, generator=0)
    assert w.dtype == b.dtype == torch.float32
    w, b = specinit.swim_layer(x, y, 8, generator=0)
    assert w.dtype == b.dtype == torch.float64


def test_init_reproduces_the_estimator():
    split = specinit.data.digits(generator=1)
    x, y = split.x_train[:500], split.y_train[:500]
    clf = specinit.SwimClassifier(widths=(64, 32), scales="spectral", random_state=3)
    clf.fit(x.numpy(), y.numpy())
    net = specinit.init_(
        mlp(64, [64, 32], 10, "tanh"), "swim", data=x, targets=y, scales="spectral", generator=3
    )
    for p, q in zip(net.parameters(), clf.model_.parameters(), strict=True):
        assert torch.equal(p, q)
    with torch.no_grad():
        out = net(split.x_test).double().numpy()
    np.testing.assert_allclose(out, clf.decision_function(split.x_test.numpy()), atol=1e-4)


# --------------------------------------------------------------------------- bad input


def test_bad_data_is_refused():
    x, y = _smooth_data(20)
    net = mlp(2, [8], 1, "tanh")
    bad = x.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN/inf"):
        specinit.init_(net, "swim", data=bad, targets=y)
    with pytest.raises(ValueError, match="NaN/inf"):
        specinit.swim_layer(x, y.clone().fill_(float("inf")), 4)
    with pytest.raises(ValueError, match="different numbers of samples"):
        specinit.init_(net, "swim", data=x, targets=y[:-1])
    with pytest.raises(ValueError, match="same point"):
        specinit.swim_layer(x[:1].repeat(5, 1), y[:5], 4)
    with pytest.raises(ValueError, match="n_samples=1"):
        specinit.swim_layer(x[:1], y[:1], 4)
    with pytest.raises(ValueError, match="pass targets"):
        specinit.init_(net, "swim", data=x)
    with pytest.raises(ValueError, match=r"data must have shape \(N, 2\)"):
        specinit.init_(net, "swim", data=x[:, :1], targets=y)
    with pytest.raises(ValueError, match="labels 0..9"):
        specinit.init_(mlp(2, [8], 10, "tanh"), "swim", data=x, targets=torch.arange(20))


def test_bad_options_are_refused():
    x, y = _smooth_data(20)
    net = mlp(2, [8], 1, "tanh")
    with pytest.raises(ValueError, match="width must be an integer >= 1"):
        specinit.swim_layer(x, y, 0)
    with pytest.raises(ValueError, match="widths"):
        specinit.SwimRegressor(widths=(0,)).fit(x.numpy(), y.numpy())
    with pytest.raises(ValueError, match="unknown sampler 'best'"):
        specinit.init_(net, "swim", data=x, targets=y, sampler="best")
    with pytest.raises(ValueError, match="unknown scale schedule 'wild'"):
        specinit.init_(net, "swim", data=x, targets=y, scales="wild")
    with pytest.raises(ValueError, match="1 value"):
        specinit.scale_schedule([1.0], 2)
    with pytest.raises(ValueError, match=r"scales\[1\] must be a finite positive"):
        specinit.scale_schedule([1.0, -1.0], 2)
    with pytest.raises(ValueError, match="unknown activation 'wiggle'"):
        specinit.swim_layer(x, y, 4, activation="wiggle")
    with pytest.raises(ValueError, match="no scales for activation 'sine"):
        specinit.init_(mlp(2, [8], 1, "sine"), "swim", data=x, targets=y)
    with pytest.raises(ValueError, match="l2 must be a finite positive"):
        specinit.init_(net, "swim", data=x, targets=y, l2=0.0)


@pytest.mark.parametrize(
    "model, match",
    [
        (specinit.models.vgg_small(1, 10, widths=(4,)), "SWIM needs an nn.Sequential"),
        (mlp(2, [8], 1, "tanh", norm="batch"), "module 1 is BatchNorm1d"),
        (mlp(2, [8], 1, "tanh", bias=False), "bias=False"),
        (
            torch.nn.Sequential(
                torch.nn.Linear(2, 8),
                torch.nn.Tanh(),
                torch.nn.Linear(8, 8),
                torch.nn.ReLU(),
                torch.nn.Linear(8, 1),
            ),
            "same activation, got tanh, relu",
        ),
        (
            torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Dropout(), torch.nn.Linear(8, 1)),
            "module 1 is Dropout, not an activation",
        ),
    ],
)
def test_unsupported_models_are_refused(model, match):
    x, y = _smooth_data(20)
    with pytest.raises(TypeError, match=match):
        specinit.init_(model, "swim", data=x.float(), targets=y.float())


def test_torch_activation_modules_sample_like_specinit_ones():
    # A plain torch MLP (nn.Tanh) is the same chain as specinit's mlp: the same SWIM network.
    x, y = _smooth_data(60, d=1)
    ours = specinit.init_(mlp(1, [16], 1, "tanh").double(), "swim", data=x, targets=y, generator=3)
    theirs = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    specinit.init_(theirs, "swim", data=x, targets=y, generator=3)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_float32_ridge_never_drops_below_rounding_noise():
    # Width > n_samples with a tiny l2: the float32 Gram products' rounding would dominate the
    # ridge (test accuracy 12% without the floor of specinit.readout).
    split = specinit.data.digits(generator=0)
    clf = specinit.SwimClassifier(widths=(1500,), l2=1e-9, random_state=0)
    clf.fit(split.x_train.numpy(), split.y_train.numpy())
    assert clf.score(split.x_test.numpy(), split.y_test.numpy()) >= 0.95
