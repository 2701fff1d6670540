"""The init doctor: measurements agree with direct computation, flags follow the thresholds,
suggestions fix what they should, the user's model is never touched, and the CLI explains errors."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import specinit
from specinit import doctor
from specinit.doctor import Diagnosis, Suggestion, Thresholds, compare, diagnose, suggest


def _batch(n=128, d=16, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def _mlp(depth, activation, method, seed=0, **options):
    net = specinit.models.mlp(16, [48] * depth, 4, activation)
    return specinit.init_(net, method, generator=seed, **options)


# --------------------------------------------------------------------------- flags and fixes


def test_tiny_tanh_init_is_vanishing_and_the_suggestions_fix_it():
    net, x = _mlp(10, "tanh", "trunc_normal", std=0.02), _batch()
    before = diagnose(net, x, hessian_iters=0)
    assert before.codes == ("vanishing_signal", "vanishing_gradients")
    assert "vanishing signal" in before.problems[0].message and before.problems[0].layer == "19"
    assert before.layers[-1].std_ratio < 1e-6
    tips = suggest(net, before)
    assert [s.method for s in tips] == ["odd_sigmoid", "xavier_normal", "orthogonal"]
    assert tips[0].options["ends"] == "scaled" and "2509.23085" in tips[0].reason
    after = compare(net, x, None, tips[:2], hessian_iters=0)
    assert list(after) == ["odd_sigmoid(ends=scaled)", "xavier_normal"]
    for d in after.values():
        assert d.ok, d.problems
    # arXiv 2509.23085: the odd-sigmoid start keeps the signal through depth better than Xavier's
    kept = {label: d.layers[-1].std / d.layers[0].std for label, d in after.items()}
    assert kept["odd_sigmoid(ends=scaled)"] > kept["xavier_normal"]


def test_shallow_tanh_ranks_xavier_first():
    net = _mlp(3, "tanh", "trunc_normal", std=0.02)
    d = diagnose(net, _batch(), hessian_iters=0)
    assert d.codes[0] == "vanishing_signal"
    assert [s.method for s in suggest(net, d)][:2] == ["xavier_normal", "odd_sigmoid"]


def test_too_large_relu_init_is_exploding_and_sharp():
    net, x = _mlp(10, "relu", "kaiming_normal"), _batch()
    with torch.no_grad():  # He's draws times √2: gain 2 instead of He's √2
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.weight.mul_(math.sqrt(2))
    d = diagnose(net, x)
    assert d.codes[0] == "exploding_signal" and "sharp_start" in d.codes
    assert d.layers[-1].std_ratio > 10
    assert d.hessian_top > Thresholds().sharpness
    tips = suggest(net, d)
    assert [s.method for s in tips] == ["kaiming_normal", "orthogonal"]
    assert tips[1].options == {"gain": pytest.approx(math.sqrt(2))}
    fixed = compare(net, x, None, ["kaiming_normal"])["kaiming_normal"]
    assert fixed.ok, fixed.problems
    # ReLU is positively homogeneous and the biases start at zero: gain 2 instead of He's √2
    # scales every weight by √2 (same draws), hence layer l's output by exactly √2^l
    assert d.column("std") / fixed.column("std") == pytest.approx(math.sqrt(2) ** np.arange(1, 11), rel=1e-5)


def test_healthy_small_net_has_no_problems():
    d = diagnose(_mlp(2, "relu", "kaiming_normal"), _batch())
    assert d.ok and d.problems == ()
    assert "no problems found" in d.text()


def test_dead_relu_units_and_saturated_tanh_are_flagged():
    net = _mlp(3, "relu", "kaiming_normal")
    with torch.no_grad():
        net[2].bias[:30] = -100.0  # 30 of 48 units of the second layer never fire
    d = diagnose(net, _batch(), hessian_iters=0)
    assert "dead_units" in d.codes
    assert d.layers[1].frac_dead == pytest.approx(30 / 48)
    assert d.layers[0].frac_dead == 0.0
    hot = _mlp(3, "tanh", "xavier_normal", gain=8.0)
    d = diagnose(hot, _batch(), hessian_iters=0)
    assert "saturation" in d.codes and d.column("frac_saturated").max() > 0.2


def test_thresholds_are_the_documented_ones_and_validated():
    t = Thresholds()
    assert (t.signal_low, t.signal_high, t.saturated, t.dead, t.gradient_ratio, t.rank_drop, t.sharpness) == (
        0.1,
        10.0,
        0.2,
        0.25,
        100.0,
        0.25,
        2000.0,
    )
    net = _mlp(10, "tanh", "trunc_normal", std=0.02)
    lax = diagnose(net, _batch(), hessian_iters=0, thresholds=Thresholds(signal_low=1e-9, gradient_ratio=1e9))
    assert lax.ok
    with pytest.raises(ValueError, match="signal_low < 1 < signal_high"):
        Thresholds(signal_low=2.0)
    with pytest.raises(ValueError, match="dead is a fraction"):
        Thresholds(dead=1.5)


# --------------------------------------------------------------------------- numbers


def test_numbers_match_direct_measurement():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 20), nn.Tanh(), nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 3))
    x = _batch(64, 6)
    d = diagnose(net, x, generator=3, hessian_iters=20)
    outputs = {}
    hooks = [net[i].register_forward_hook(lambda m, a, out, i=i: outputs.__setitem__(i, out)) for i in (1, 3)]
    t = torch.randn(64, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64).float()
    loss = nn.functional.mse_loss(net(x), t)
    for h in hooks:
        h.remove()
    grads = torch.autograd.grad(loss, [outputs[1], outputs[3], net[0].weight, net[2].weight])
    for row, i, g_h, g_w in zip(d.layers, (1, 3), grads[:2], grads[2:], strict=True):
        h = outputs[i].detach().double()
        assert row.std == pytest.approx(float(h.std(unbiased=False)), rel=1e-9)
        assert row.mean == pytest.approx(float(h.mean()), rel=1e-9, abs=1e-12)
        assert row.std_ratio == pytest.approx(row.std / float(x.double().std(unbiased=False)))
        assert row.grad_norm == pytest.approx(float(g_h.norm()), rel=1e-5)
        assert row.weight_grad_norm == pytest.approx(float(g_w.norm()), rel=1e-5)
        s = np.linalg.svd(h.numpy() - h.numpy().mean(0), compute_uv=False)
        p = s / s.sum()
        assert row.effective_rank == pytest.approx(float(np.exp(-(p * np.log(p)).sum())), rel=1e-8)
        assert row.frac_dead == float(np.mean(np.ptp(h.numpy(), axis=0) == 0))
        assert row.max_rank == 20
    assert [row.activation for row in d.layers] == ["tanh", "relu"]
    assert d.surrogate and "surrogate" in d.loss
    assert d.bandwidth.mean_abs == pytest.approx(specinit.bandwidth.gradient_bandwidth(net, x).mean_abs)
    params = list(net.parameters())
    flat = torch.cat([p.detach().flatten() for p in params]).double().requires_grad_(True)

    def loss_of(v):
        pieces, start = {}, 0
        for name, p in net.named_parameters():
            pieces[name] = v[start : start + p.numel()].reshape(p.shape)
            start += p.numel()
        out = torch.func.functional_call(net.double(), pieces, (x.double(),))
        return nn.functional.mse_loss(out, t.double())

    dense = torch.autograd.functional.hessian(loss_of, flat)
    net.float()
    assert d.hessian_converged
    assert d.hessian_top == pytest.approx(float(torch.linalg.eigvalsh(dense).max()), rel=1e-3)


def test_labels_use_cross_entropy_and_the_effective_rank_of_a_known_matrix():
    x = _batch(60, 16)
    y = torch.arange(60) % 4
    d = diagnose(_mlp(2, "relu", "kaiming_normal"), x, y, hessian_iters=0)
    assert d.loss == "cross_entropy" and not d.surrogate and d.hessian_top is None
    # Orthogonal columns of equal norm: every singular value equal, effective rank = columns.
    q, _ = torch.linalg.qr(
        torch.randn(50, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    )
    q = q - q.mean(0)
    u, _, vh = torch.linalg.svd(q, full_matrices=False)
    assert doctor.effective_rank(u @ vh) == pytest.approx(7.0, rel=1e-9)
    assert doctor.effective_rank(torch.ones(5, 3, dtype=torch.float64)) == 0.0


def test_conv_features_are_channels():
    net = nn.Sequential(nn.Conv2d(1, 5, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 36, 2))
    with torch.no_grad():
        net[0].bias[:2] = -50.0
    d = diagnose(net, torch.randn(8, 1, 6, 6, generator=torch.Generator().manual_seed(0)), hessian_iters=0)
    assert d.layers[0].frac_dead == pytest.approx(2 / 5)
    assert d.layers[0].max_rank == 5


# --------------------------------------------------------------------------- the model is untouched


def test_the_user_model_is_left_exactly_as_it_was():
    net = specinit.models.mlp(16, [32, 32], 4, "tanh", norm="batch")
    net.train()
    net[1].eval()  # a mixed mode must survive
    modes = [m.training for m in net.modules()]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = _batch(), torch.randn(128, 4, generator=torch.Generator().manual_seed(1))
    d = diagnose(net, x, y, train_mode=True)
    tips = suggest(net, d, data=True)
    compare(net, x, y, tips, hessian_iters=0)
    assert [m.training for m in net.modules()] == modes
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert all(p.grad is None for p in net.parameters())


def test_swim_is_suggested_with_targets_for_an_mlp_only():
    net, x = _mlp(2, "tanh", "xavier_normal"), _batch()
    y = torch.sin(x[:, :4])
    d = diagnose(net, x, y, hessian_iters=0)
    tips = suggest(net, d, data=True)
    assert tips[-1].method == "swim" and "2306.16830" in tips[-1].reason
    assert "swim" not in [s.method for s in suggest(net, d)]
    swim = compare(net, x, y, [tips[-1]], hessian_iters=0)["swim"]
    assert isinstance(swim, Diagnosis) and not swim.surrogate
    # a plain torch MLP is the same Linear → activation chain: SWIM applies to it too
    torch_net = nn.Sequential(nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4))
    d = diagnose(torch_net, x, y, hessian_iters=0)
    assert "swim" in [s.method for s in suggest(torch_net, d, data=True)]
    cnn = specinit.models.vgg_small(1, 4, widths=(4,), image_size=4)
    images = torch.randn(8, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    d = diagnose(cnn, images, torch.arange(8) % 4, hessian_iters=0)
    assert "swim" not in [s.method for s in suggest(cnn, d, data=True)]


# --------------------------------------------------------------------------- errors and rendering


def test_clear_errors():
    net, x = _mlp(2, "relu", "kaiming_normal"), _batch()
    with pytest.raises(ValueError, match=r"rejects an input of shape \(128, 5\)"):
        diagnose(net, x[:, :5])
    with pytest.raises(ValueError, match="has no activation module"):
        diagnose(nn.Sequential(nn.Linear(16, 2)), x)
    with pytest.raises(TypeError, match="must return a tensor"):
        diagnose(nn.LSTM(16, 4), x[:, None, :])
    with pytest.raises(ValueError, match="loss= needs targets"):
        diagnose(net, x, loss="mse")
    with pytest.raises(ValueError, match="unknown initialization method 'nope'"):
        compare(net, x, None, ["nope"])
    with pytest.raises(ValueError, match="data-driven: pass y"):
        compare(net, x, None, ["swim"])
    fixed = nn.Sequential(nn.Flatten(), nn.Tanh())  # nothing an initializer could draw
    d = diagnose(fixed, torch.randn(8, 4), hessian_iters=0)
    with pytest.raises(TypeError, match="no .*to initialize|nothing to initialize|has no"):
        suggest(fixed, d)


def test_rendering_and_figure():
    net, x = _mlp(10, "tanh", "trunc_normal", std=0.02), _batch()
    d = diagnose(net, x, hessian_iters=0)
    tips = suggest(net, d)[:1]
    results = {"as built": d, **compare(net, x, None, tips, hessian_iters=0)}
    table = doctor.comparison_table(results)
    assert table.splitlines()[0].split()[:2] == ["start", "std"]
    assert "vanishing_signal, vanishing_gradients" in table.splitlines()[2]
    assert table.splitlines()[3].rstrip().endswith("none")
    md = doctor.report_markdown(d, results, tips, command="specinit inspect x:y", figure="doctor.png")
    assert "## Problems" in md and "## Before and after" in md and "`odd_sigmoid(ends=scaled)`" in md
    assert md.count("\n| ") >= len(d.layers) + 4
    fig = doctor.plot_comparison(results)
    assert len(fig.axes) == 3 and len(fig.axes[0].get_lines()) == 2
    assert Suggestion("orthogonal", "", {"gain": 2.0}).label == "orthogonal(gain=2)"


# ------------------------------------------------------------------- spectrum vs the samples (issue 19)


def _sparse_1d(activation, depth, method):
    net = specinit.models.coordinate_mlp(1, 64, depth, 1, activation)
    specinit.init_(net, method, generator=0)
    return net, torch.linspace(-1, 1, 21)[:, None]  # step 0.1: Nyquist frequency 5


def test_a_start_above_its_samples_bandwidth_is_a_problem_and_spectral_target_fixes_it():
    from specinit.doctor import compare, diagnose, suggest
    from specinit.targeting import TargetFit

    net, x = _sparse_1d("gaussian(sigma=0.1)", 6, "xavier_normal")
    d = diagnose(net, x, hessian_iters=0)
    band = d.data_bandwidth
    assert (band.step, band.cutoff, band.lo, band.hi) == (0.1, 5.0, -1.0, 1.0)
    assert band.energy_above > 0.3  # the high-bandwidth start of arXiv 2206.08558, Exp 3c
    assert "bandwidth_above_data" in d.codes
    first = suggest(net, d)[0]
    assert first.method == "spectral_target" and dict(first.options) == {"step": 0.1, "lo": -1.0, "hi": 1.0}
    after = compare(net, x, None, [first])[first.label]
    assert "bandwidth_above_data" not in after.codes
    assert after.data_bandwidth.energy_above <= 0.0101  # at most 1 % above the samples' Nyquist
    assert isinstance(after.start, TargetFit) and "start: spectral target" in after.text()
    assert d.start is None  # the user's model was not touched


def test_a_low_bandwidth_start_and_nd_inputs_raise_no_bandwidth_problem():
    from specinit.doctor import diagnose

    net, x = _sparse_1d("relu", 4, "xavier_normal")
    d = diagnose(net, x, hessian_iters=0)
    assert d.data_bandwidth.energy_above < 1e-3 and "bandwidth_above_data" not in d.codes
    assert "spectrum vs the samples: 0.0" in d.text()
    net2 = specinit.models.coordinate_mlp(2, 32, 2, 1, "tanh")
    assert diagnose(net2, torch.rand(16, 2), hessian_iters=0).data_bandwidth is None


def test_the_bandwidth_threshold_is_a_fraction():
    from specinit.doctor import Thresholds

    with pytest.raises(ValueError, match="bandwidth_excess is a fraction"):
        Thresholds(bandwidth_excess=1.5)
