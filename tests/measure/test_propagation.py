"""Tests for specinit.propagation: exact statistics, gradient norms, depth behaviour, no side effects."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from specinit import activations, init_, models
from specinit.measure.propagation import LayerStats, Propagation, propagation


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _scaled_identity_tanh(c: float, depth: int, width: int) -> nn.Sequential:
    """``depth`` blocks ``Linear(W = c·I, no bias) → tanh`` in float64."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width, bias=False).double()
        with torch.no_grad():
            linear.weight.copy_(c * torch.eye(width, dtype=torch.float64))
        layers += [linear, activations.get("tanh").module()]
    return nn.Sequential(*layers)


def _tanh_mlp(seed: int = 0) -> nn.Sequential:
    net = models.mlp(5, [7, 6, 7], 3, "tanh").double()
    init_(net, "xavier_normal", generator=seed)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.bias.normal_(0.0, 0.1, generator=_gen(seed + 1))
    return net


# --------------------------------------------------------------------------- exact statistics


def test_scaled_identity_tanh_gives_exact_per_layer_mean_and_std():
    c, depth = 1.7, 4
    x = torch.randn(40, 3, generator=_gen(0), dtype=torch.float64)
    prop = propagation(_scaled_identity_tanh(c, depth, 3), x)
    h = x.numpy()
    assert [layer.index for layer in prop.layers] == list(range(depth))
    for layer in prop.layers:
        h = np.tanh(c * h)
        assert layer.mean == pytest.approx(h.mean(), abs=1e-13)
        assert layer.std == pytest.approx(h.std(ddof=0), abs=1e-13)
        assert layer.frac_near_zero == pytest.approx(np.mean(np.abs(h) < 1e-2))
        assert layer.frac_saturated == pytest.approx(np.mean(np.abs(h) >= 0.99))
        assert layer.grad_norm is None and layer.weight_grad_norm is None
    assert [layer.name for layer in prop.layers] == ["1", "3", "5", "7"]
    assert prop.n_samples == 40 and prop.loss is None and not prop.has_gradients


def test_saturated_and_near_zero_fractions_on_constructed_inputs():
    # tanh: |tanh x| ≥ 0.99  ⇔  |x| ≥ atanh(0.99) ≈ 2.647.
    x = torch.tensor([[-5.0, -3.0, -1.0, 0.0, 1e-3, 2.0, 2.7, 10.0]])
    layer = propagation(nn.Sequential(activations.get("tanh").module()), x).layers[0]
    assert (layer.frac_saturated, layer.frac_near_zero) == (4 / 8, 2 / 8)
    # Hardtanh(-2, 2): sup = 2, saturated where |h| ≥ 0.9·2 = 1.8; near zero where |h| < 0.5.
    x = torch.tensor([[-3.0, -1.9, -1.0, 0.0, 0.4, 1.79, 2.5, 5.0]])
    layer = propagation(nn.Sequential(nn.Hardtanh(-2.0, 2.0)), x, saturation=0.9, near_zero=0.5).layers[0]
    assert (layer.frac_saturated, layer.frac_near_zero) == (4 / 8, 2 / 8)
    # arctan's bound is π/2, taken from the registry.
    x = torch.tensor([[math.tan(0.99 * math.pi / 2) * 1.01, 1.0, -1e3, 0.0]])
    layer = propagation(nn.Sequential(activations.get("arctan").module()), x).layers[0]
    assert layer.frac_saturated == 2 / 4
    # Unbounded activations never saturate; ReLU's negative half is exactly zero.
    x = torch.tensor([[-1e6, -1.0, 0.5, 1e6]])
    layer = propagation(nn.Sequential(nn.ReLU()), x).layers[0]
    assert (layer.frac_saturated, layer.frac_near_zero) == (0.0, 2 / 4)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_gradient_norms_match_autograd(loss):
    net = _tanh_mlp()
    x = torch.randn(30, 5, generator=_gen(3), dtype=torch.float64)
    y = (
        torch.randint(0, 3, (30,), generator=_gen(4))
        if loss == "cross_entropy"
        else torch.randn(30, 3, generator=_gen(4), dtype=torch.float64)
    )
    prop = propagation(net, x, y=y)
    assert prop.loss == loss  # inferred from y's dtype

    reference = copy.deepcopy(net)
    hs, h = [], x
    for module in reference:
        h = module(h)
        if isinstance(module, activations.ActivationModule):
            h.retain_grad()
            hs.append(h)
    value = nn.functional.mse_loss(h, y) if loss == "mse" else nn.functional.cross_entropy(h, y)
    value.backward()
    linears = [m for m in reference if isinstance(m, nn.Linear)]
    assert len(prop.layers) == len(hs) == 3
    for layer, h, linear in zip(prop.layers, hs, linears[:-1], strict=True):  # the readout: no activation
        assert layer.grad_norm == pytest.approx(float(h.grad.norm()), rel=1e-10)
        assert layer.weight_grad_norm == pytest.approx(float(linear.weight.grad.norm()), rel=1e-10)
    assert prop.has_gradients


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_chunked_batches_pool_exactly(loss):
    net = _tanh_mlp(seed=5)
    x = torch.randn(50, 5, generator=_gen(6), dtype=torch.float64)
    y = (
        torch.randint(0, 3, (50,), generator=_gen(7))
        if loss == "cross_entropy"
        else torch.randn(50, 3, generator=_gen(7), dtype=torch.float64)
    )
    whole = propagation(net, x, y=y, loss=loss)
    chunked = propagation(net, x, y=y, loss=loss, chunk_size=7)
    for key in ("mean", "std", "frac_saturated", "frac_near_zero", "grad_norm", "weight_grad_norm"):
        np.testing.assert_allclose(chunked.column(key), whole.column(key), rtol=1e-10, atol=1e-14)


def test_gradients_reach_hidden_layers_of_a_frozen_model():
    net = _tanh_mlp()
    for p in net.parameters():
        p.requires_grad_(False)
    prop = propagation(
        net,
        torch.randn(8, 5, dtype=torch.float64, generator=_gen(0)),
        y=torch.zeros(8, 3, dtype=torch.float64),
    )
    assert all(layer.grad_norm > 0 for layer in prop.layers)
    assert all(layer.weight_grad_norm is None for layer in prop.layers)


def test_custom_loss_callable():
    net = _tanh_mlp()
    x = torch.randn(10, 5, dtype=torch.float64, generator=_gen(1))
    y = torch.randn(10, 3, dtype=torch.float64, generator=_gen(2))
    doubled = propagation(net, x, y=y, loss=lambda p, t: 2 * nn.functional.mse_loss(p, t))
    plain = propagation(net, x, y=y, loss="mse")
    np.testing.assert_allclose(doubled.column("grad_norm"), 2 * plain.column("grad_norm"), rtol=1e-12)
    np.testing.assert_allclose(doubled.column("std"), plain.column("std"), rtol=0)


# --------------------------------------------------------------------------- depth behaviour


def _deep(activation: str, method: str, seed: int = 0, **options) -> Propagation:
    net = models.mlp(16, [128] * 50, 10, activation)
    init_(net, method, generator=seed, **options)
    return propagation(net, torch.randn(256, 16, generator=_gen(100)))


def test_deep_xavier_tanh_collapses_while_he_relu_keeps_its_scale():
    tanh = _deep("tanh", "xavier_normal").column("std")
    relu = _deep("relu", "he_normal")
    # Mean-field tanh with Var W = 1/fan: q_l ≈ 1/(2l), so std shrinks like l^(-1/2).
    assert tanh[-1] < 0.3 * tanh[0]
    assert np.all(np.diff(tanh[::10]) < 0)
    assert relu.column("std").max() / relu.column("std").min() < 5
    assert relu.collapsed_at(0.15) is None
    assert 10 <= _deep("tanh", "xavier_normal").collapsed_at(0.15) < 50
    # About half of a ReLU layer's outputs are exact zeros, at every depth.
    dead = relu.column("frac_near_zero")
    assert abs(dead.mean() - 0.5) < 0.05 and np.all(np.abs(dead - 0.5) < 0.15)


def test_collapse_and_saturation_are_located():
    small = _deep("tanh", "xavier_normal", gain=0.5)  # std shrinks by ≈ 2 per layer
    assert small.collapsed_at(1e-2) is not None and small.collapsed_at(1e-2) <= 8
    assert small.saturated_at() is None
    assert small.column("frac_near_zero")[-1] == 1.0
    large = _deep("tanh", "xavier_normal", gain=8.0)  # pre-activation std ≈ 6 > atanh(0.99)
    assert large.saturated_at(0.5) == 1
    assert large.collapsed_at() is None
    assert large.column("frac_saturated")[-1] > 0.5


# --------------------------------------------------------------------------- no side effects


def test_model_mode_buffers_grads_rng_and_hooks_are_left_untouched():
    net = models.mlp(4, [8, 8], 2, "tanh", norm="batch")
    net.append(nn.Dropout(0.5))
    net.train()
    net[1].eval()  # a mixed state must be restored module by module
    for p in list(net.parameters())[::2]:
        p.grad = torch.full_like(p, 3.0)
    grads = [None if p.grad is None else p.grad.clone() for p in net.parameters()]
    buffers = [b.clone() for b in net.buffers()]
    modes = [m.training for m in net.modules()]
    rng = torch.get_rng_state()
    x, y = torch.randn(16, 4, generator=_gen(0)), torch.randn(16, 2, generator=_gen(1))

    for train_mode in (False, True):
        propagation(net, x, y=y, train_mode=train_mode, chunk_size=6)
        assert [m.training for m in net.modules()] == modes
        for before, after in zip(buffers, net.buffers(), strict=True):
            assert torch.equal(before, after)
        for before, p in zip(grads, net.parameters(), strict=True):
            assert (before is None and p.grad is None) or torch.equal(before, p.grad)
        assert torch.equal(rng, torch.get_rng_state())
        assert all(not m._forward_hooks for m in net.modules())


def test_train_mode_uses_batch_statistics_and_is_seeded():
    net = models.mlp(4, [32] * 3, 2, "tanh", norm="batch")
    init_(net, "xavier_normal", gain=20.0, generator=0)
    net.append(nn.Dropout(0.3))
    x = torch.randn(64, 4, generator=_gen(0))
    # Eval mode: running statistics (0, 1) leave the huge pre-activations unnormalized.
    assert propagation(net, x).saturated_at(0.5) == 0
    # Train mode: BatchNorm standardizes them, so tanh is far from saturation.
    trained = propagation(net, x, train_mode=True, y=torch.zeros(64, 2))
    assert trained.saturated_at(0.5) is None and trained.train_mode
    again = propagation(net, x, train_mode=True, y=torch.zeros(64, 2))
    assert trained == again  # dropout draws from the seeded fork
    other = propagation(net, x, train_mode=True, y=torch.zeros(64, 2), generator=1)
    assert other.layers[-1].grad_norm != trained.layers[-1].grad_norm


def test_hooks_are_removed_when_the_signal_overflows():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.ReLU())
    with torch.no_grad():
        for linear, value in ((net[0], 1.0), (net[2], 1e38)):
            linear.weight.fill_(value)
            linear.bias.zero_()
    with pytest.raises(ValueError, match=r"'3'.*NaN/inf.*overflowed"):
        propagation(net, torch.ones(3, 2) * 10)
    assert all(not m._forward_hooks for m in net.modules())


# --------------------------------------------------------------------------- layer selection


def test_plain_torch_model_repeated_module_and_explicit_layers():
    act = nn.Tanh()
    net = nn.Sequential(nn.Linear(3, 4), act, nn.Linear(4, 4), act, nn.Linear(4, 1), nn.Sigmoid())
    x, y = torch.randn(6, 3, generator=_gen(0)), torch.zeros(6, 1)
    prop = propagation(net, x, y=y)
    assert [layer.name for layer in prop.layers] == ["1#1", "1#2", "5"]
    # The second call of the shared tanh follows net[2]; the sigmoid follows net[4].
    grads = torch.autograd.grad(nn.functional.mse_loss(net(x), y), [net[2].weight, net[4].weight])
    assert prop.layers[1].weight_grad_norm == pytest.approx(float(grads[0].norm()), rel=1e-6)
    assert prop.layers[2].weight_grad_norm == pytest.approx(float(grads[1].norm()), rel=1e-6)
    chosen = propagation(net, x, layers=[net[2], net[4]])
    assert [layer.name for layer in chosen.layers] == ["2", "4"]
    assert chosen.layers[0].frac_saturated == 0.0  # a Linear has no known bound


def test_specinit_models_are_recorded_through_hidden_layers():
    net = models.vgg_small(1, 10, widths=(4, 8), norm=None, activation="erf", image_size=8)
    prop = propagation(net, torch.randn(3, 1, 8, 8, generator=_gen(0)))
    assert len(prop.layers) == len(models.hidden_layers(net)) == 4
    assert prop.layers[0].name == "features.1"


# --------------------------------------------------------------------------- results and plots


def test_table_and_column():
    prop = propagation(_tanh_mlp(), torch.randn(9, 5, dtype=torch.float64, generator=_gen(0)))
    rows = prop.table()
    assert [row["index"] for row in rows] == [0, 1, 2]
    assert set(rows[0]) == {f for f in LayerStats.__dataclass_fields__}
    assert np.isnan(prop.column("grad_norm")).all()
    np.testing.assert_array_equal(prop.column("std"), [row["std"] for row in rows])
    with pytest.raises(ValueError, match="unknown column 'name'"):
        prop.column("name")


def test_plot_returns_axes_and_overlays():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net = _tanh_mlp()
    x = torch.randn(12, 5, dtype=torch.float64, generator=_gen(0))
    with_grads = propagation(net, x, y=torch.zeros(12, 3, dtype=torch.float64))
    axes = with_grads.plot(label="xavier")
    assert len(axes) == 3 and axes[2].get_yscale() == "log" and axes[0].get_yscale() == "log"
    propagation(_tanh_mlp(seed=9), x, y=torch.zeros(12, 3, dtype=torch.float64)).plot(axes, label="other")
    assert len(axes[0].get_lines()) == 2 and len(axes[2].get_lines()) == 4
    assert len(propagation(net, x).plot()) == 2
    with pytest.raises(ValueError, match="needs 3 axes"):
        with_grads.plot(axes[:2])
    plt.close("all")


# --------------------------------------------------------------------------- errors


class _Pair(nn.Module):
    def forward(self, x):
        return x, x


def test_errors():
    net = _tanh_mlp()
    good = torch.randn(4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="x is empty"):
        propagation(net, torch.empty(0, 5))
    bad = good.clone()
    bad[1, 2] = math.nan
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        propagation(net, bad)
    with pytest.raises(ValueError, match="no activation module to record"):
        propagation(nn.Sequential(nn.Linear(5, 2)), good.float())
    with pytest.raises(ValueError, match="layers is empty"):
        propagation(net, good, layers=[])
    with pytest.raises(TypeError, match=r"layers\[0\] must be an nn.Module or a module name"):
        propagation(net, good, layers=[3])
    with pytest.raises(ValueError, match=r"no submodule named '10'; close matches: 1, 0"):
        propagation(net, good, layers=["10"])
    with pytest.raises(ValueError, match="Tanh never ran"):
        propagation(net, good, layers=[nn.Tanh()])
    with pytest.raises(ValueError, match="saturation must lie in"):
        propagation(net, good, saturation=1.5)
    with pytest.raises(ValueError, match="near_zero must be a finite non-negative"):
        propagation(net, good, near_zero=-1.0)
    with pytest.raises(ValueError, match="loss= needs targets"):
        propagation(net, good, loss="mse")
    with pytest.raises(ValueError, match="different numbers of samples"):
        propagation(net, good, y=torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        propagation(net, good, chunk_size=0)
    pair = _Pair()
    with pytest.raises(TypeError, match="returned tuple, not a tensor"):
        propagation(pair, good, layers=[pair])
    with pytest.raises(ValueError, match="fraction_above must lie in"):
        propagation(net, good).saturated_at(1.0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        propagation(lambda t: t, good)


def test_an_output_changed_in_place_gets_no_gradient_of_the_changed_tensor():
    """Review finding: h = gelu(z); h.mul_(3) reported ‖∂L/∂(3h)‖ (0.33) for ‖∂L/∂h‖ (1.0)."""
    torch.manual_seed(0)

    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1, self.l2 = nn.Linear(4, 8), nn.Linear(8, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = nn.functional.gelu(self.l1(x))
            h.mul_(3.0)
            return self.l2(h)

    model = Scaled().double()
    x, y = torch.randn(16, 4, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    row = propagation(model, x, y=y).layers[0]
    assert row.name == "gelu" and math.isnan(row.grad_norm)  # not measured, never a wrong number


def test_a_recorded_weight_layer_is_described_by_itself():
    """Review finding: layers=["2"] on a Linear after a Conv1d took the Conv's axis and weight."""

    class Transpose(nn.Module):
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return h.transpose(1, 2)

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(8, 8, 3, padding=1),
        Transpose(),
        nn.Linear(8, 16),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(320, 1),
    ).double()
    x, y = torch.randn(4, 8, 20, dtype=torch.float64), torch.randn(4, 1, dtype=torch.float64)
    from specinit.doctor import diagnose

    d = diagnose(net, x, y, layers=["2", "3"], hessian_iters=0)
    assert [row.feature_axis for row in d.layers] == [-1, -1] and d.layers[0].max_rank == 16
    prop = propagation(net, x, y=y, layers=["2"])
    w = net[2].weight
    loss = nn.functional.mse_loss(net(x), y)
    (expected,) = torch.autograd.grad(loss, w)
    assert prop.layers[0].weight_grad_norm == pytest.approx(float(expected.norm()), rel=1e-10)
