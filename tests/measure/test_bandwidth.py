"""Bandwidth of image models (arXiv 2206.08558 Exp 4): input-gradient proxy and directional spectra."""

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import specinit
from specinit.measure.bandwidth import (
    DirectionalSpectrum,
    GradientBandwidth,
    directional_spectrum,
    gradient_bandwidth,
    input_gradients,
)


class PlaneWave(nn.Module):
    """``f(x) = sin(2π k ⟨u, x⟩)`` for a fixed unit direction ``u`` (float64)."""

    def __init__(self, u, k):
        super().__init__()
        self.register_buffer("u", (u / u.norm()).flatten())
        self.k = k

    def forward(self, x):
        return torch.sin(2 * math.pi * self.k * (x.flatten(1) @ self.u))


def _rand(*shape, seed=0, dtype=torch.float64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _linear(in_features=16, out_features=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, out_features)).double()


def _cnn():
    torch.manual_seed(0)
    net = specinit.models.vgg_small(1, 10, widths=(4, 8), dropout=0.5, image_size=8)
    return net.train()  # train mode on purpose: the measurements must use eval mode


# --------------------------------------------------------------------------- input gradients


def test_linear_model_gradient_is_its_weights_averaged_over_outputs():
    net = _linear()
    x = _rand(5, 1, 4, 4)
    g = input_gradients(net, x, reduction="mean")
    expected = net[1].weight.detach().mean(dim=0).reshape(1, 4, 4)
    assert g.shape == x.shape and g.dtype == torch.float64
    assert torch.allclose(g, expected.expand_as(x), rtol=0, atol=1e-15)
    # batch_mean=True is exactly the paper's x.grad after model(x).mean().backward()
    leaf = x.clone().requires_grad_(True)
    net(leaf).mean().backward()
    paper = input_gradients(net, x, batch_mean=True, reduction="mean")
    assert torch.allclose(paper, leaf.grad, rtol=0, atol=1e-15)
    assert torch.allclose(paper, expected / 5, rtol=0, atol=1e-15)


def test_gradients_match_autograd_per_sample_and_do_not_depend_on_chunking():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 4)).double()
    x = _rand(9, 6)
    g = input_gradients(net, x, chunk_size=4, reduction="mean")
    for n in (0, 4, 8):
        jac = torch.autograd.functional.jacobian(net, x[n])  # (4, 6)
        assert torch.allclose(g[n], jac.mean(dim=0), rtol=1e-12, atol=1e-14)
    assert torch.allclose(g, input_gradients(net, x, chunk_size=100, reduction="mean"), rtol=0, atol=1e-14)
    projected = input_gradients(net, x, chunk_size=4, generator=3)
    assert torch.allclose(projected, input_gradients(net, x, chunk_size=100, generator=3), rtol=0, atol=1e-14)


def test_measurements_leave_model_and_inputs_as_they_were():
    net = _cnn()
    x = _rand(6, 1, 8, 8, dtype=torch.float32)
    x_before = x.clone()
    stats = [b.clone() for b in net.buffers()]
    g1 = input_gradients(net, x)
    g2 = input_gradients(net, x)
    assert torch.equal(g1, g2)  # eval mode: no dropout noise
    directional_spectrum(net, x, n_lines=3, n_points=8)
    assert net.training and all(m.training for m in net.modules())
    assert all(p.grad is None for p in net.parameters())
    assert all(
        torch.equal(a, b) for a, b in zip(stats, net.buffers(), strict=True)
    )  # BN statistics unchanged
    assert torch.equal(x, x_before) and x.grad is None and not x.requires_grad
    with torch.no_grad():  # works inside a caller's no_grad block too
        assert torch.equal(input_gradients(net, x), g1)


def test_gradient_bandwidth_summarises_the_gradients():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10)).double()
    x = _rand(20, 1, 4, 4)
    record = gradient_bandwidth(net, x, bins=21, levels=(0.5, 0.9))
    values = input_gradients(net, x).flatten().numpy()
    assert isinstance(record, GradientBandwidth)
    assert record.n_samples == 20 and record.n_values == 320 == record.counts.sum()
    assert record.edges.size == 22 and record.edges[-1] == pytest.approx(np.abs(values).max())
    assert record.edges[0] == -record.edges[-1]
    assert record.mean_abs == pytest.approx(np.abs(values).mean())
    assert record.std == pytest.approx(values.std())
    assert record.quantile(0.9) == pytest.approx(np.quantile(np.abs(values), 0.9))
    assert np.sum(record.density * np.diff(record.edges)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not computed"):
        record.quantile(0.99)
    # shared edges: values beyond them land in the outer bins
    narrow = gradient_bandwidth(net, x, bins=[-1e-3, 0.0, 1e-3])
    assert narrow.counts.tolist() == [int((values < 0).sum()), int((values >= 0).sum())]
    half = gradient_bandwidth(net, x, bins=4, limit=0.5)
    assert half.edges.tolist() == [-0.5, -0.25, 0.0, 0.25, 0.5]
    assert "mean_abs" in repr(record) and "array" not in repr(record)


def test_a_rougher_model_has_a_wider_gradient_histogram():
    u = _rand(16, seed=3) - 0.5
    x = _rand(50, 16, seed=4)
    smooth = gradient_bandwidth(PlaneWave(u, 1.0), x)
    rough = gradient_bandwidth(PlaneWave(u, 8.0), x)
    assert rough.mean_abs > 4 * smooth.mean_abs
    assert rough.quantile(0.9) > 4 * smooth.quantile(0.9)


def test_gradient_histogram_plot_uses_the_figure_api():
    net = _linear()
    x = _rand(4, 1, 4, 4)
    record = gradient_bandwidth(net, x, bins=8)
    ax = record.plot(label="linear")
    assert isinstance(ax.figure, Figure)
    assert len(ax.patches) == 1 and ax.get_yscale() == "log"
    same = gradient_bandwidth(net, 2 * x, bins=record.edges).plot(ax, label="scaled")
    assert same is ax and len(ax.patches) == 2


# --------------------------------------------------------------------------- directional spectrum


def test_plane_wave_along_its_direction_peaks_exactly_at_k():
    u = _rand(12, seed=5) - 0.5
    net = PlaneWave(u, 5.0)
    x = _rand(7, 12)
    along = (u / u.norm()).expand(4, 12)
    hann = directional_spectrum(net, x, directions=along, n_points=64, length=1.0)
    assert hann.n_lines == 4 and hann.n_points == 64
    assert hann.spectrum.peaks(1)[0] == 5.0
    assert hann.spectrum.at(5.0) == pytest.approx(1.0, abs=1e-12)  # every line: unit amplitude
    flat = directional_spectrum(net, x, directions=along, n_points=64, length=1.0, window="none")
    assert flat.centroid() == pytest.approx(5.0, abs=1e-9)
    assert np.allclose(flat.line_centroids, 5.0, atol=1e-9)
    assert flat.energy_above(4.5) == pytest.approx(1.0) and flat.energy_above(5.5) < 1e-20
    # two units of length: 10 cycles on the segment, still 5 cycles per unit
    longer = directional_spectrum(net, x, directions=along, n_points=128, length=2.0, window="none")
    assert longer.spectrum.peaks(1)[0] == 5.0 and longer.spectrum.resolution == 0.5


def test_frequency_along_a_line_is_k_times_the_cosine_of_its_angle():
    u = torch.zeros(2, 4, dtype=torch.float64)
    u[0, 0] = 1.0
    w = torch.zeros(2, 4, dtype=torch.float64)
    w[1, 1] = 1.0
    net = PlaneWave(u, 10.0)  # sample shape (2, 4), u = e_0
    direction = (0.5 * u + math.sqrt(0.75) * w).unsqueeze(0)
    x = _rand(3, 2, 4)
    tilted = directional_spectrum(net, x, directions=direction, n_points=64, window="none")
    assert tilted.centroid() == pytest.approx(5.0, abs=1e-9)
    across = directional_spectrum(net, x, directions=w.unsqueeze(0), n_points=64)
    assert across.spectrum.amplitude.max() < 1e-12  # constant along the line (up to round-off)


def test_smoother_model_has_a_lower_centroid():
    u = _rand(3, seed=6) - 0.5
    x = _rand(20, 3)
    kwargs = dict(n_lines=40, n_points=128, length=2.0, generator=0)
    smooth = directional_spectrum(PlaneWave(u, 1.0), x, **kwargs)
    rough = directional_spectrum(PlaneWave(u, 4.0), x, **kwargs)
    assert smooth.centroid() < rough.centroid()
    assert smooth.energy_above(2.0) < rough.energy_above(2.0)
    assert np.mean(smooth.line_centroids) < np.mean(rough.line_centroids)


def test_seed_reproduces_lines_and_spectrum():
    net = _cnn()
    x = _rand(5, 1, 8, 8, dtype=torch.float32)
    a = directional_spectrum(net, x, n_lines=6, n_points=16, generator=3)
    b = directional_spectrum(net, x, n_lines=6, n_points=16, generator=3, chunk_size=7)
    c = directional_spectrum(net, x, n_lines=6, n_points=16, generator=4)
    g = directional_spectrum(net, x, n_lines=6, n_points=16, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(a.points, b.points) and torch.equal(a.directions, b.directions)
    assert np.allclose(a.spectrum.amplitude, b.spectrum.amplitude, rtol=1e-5, atol=1e-7)
    assert np.array_equal(a.points, g.points) and g.seed is None and a.seed == 3
    assert not torch.equal(a.directions, c.directions)
    assert a.directions.shape == (6, 1, 8, 8)
    assert torch.allclose(a.directions.flatten(1).norm(dim=1), torch.ones(6))
    assert sorted(a.points[:5].tolist()) == [0, 1, 2, 3, 4]  # a permutation, cycled past N
    assert a.spectrum.amplitude.shape == (10, 9)  # 10 logits, 16 // 2 + 1 bins


def test_energy_is_pooled_over_outputs_and_averaged_over_lines():
    u = torch.tensor([1.0, 0.0], dtype=torch.float64)

    class TwoTones(nn.Module):
        def forward(self, x):
            t = x[:, 0]
            return torch.stack([torch.sin(2 * math.pi * 2 * t), 3 * torch.sin(2 * math.pi * 4 * t)], 1)

    record = directional_spectrum(TwoTones(), _rand(4, 2), directions=u[None], window="none", n_points=32)
    assert record.spectrum.at(2.0).tolist() == pytest.approx([1.0, 0.0], abs=1e-12)
    assert record.spectrum.at(4.0).tolist() == pytest.approx([0.0, 3.0], abs=1e-12)
    assert record.centroid() == pytest.approx((2 * 1 + 4 * 9) / 10)


def test_directional_spectrum_plot():
    u = _rand(4, seed=7)
    record = directional_spectrum(PlaneWave(u, 3.0), _rand(5, 4), n_lines=5, n_points=32)
    assert isinstance(record, DirectionalSpectrum) and "centroid" in repr(record)
    ax = record.plot(label="k=3", cutoff=2.0)
    assert isinstance(ax.figure, Figure)
    assert [line.get_label() for line in ax.get_lines()] == ["k=3", "cutoff"]


# --------------------------------------------------------------------------- errors


def test_bad_input_is_refused():
    net = _linear()
    x = _rand(3, 1, 4, 4)
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x contains 1 NaN/inf"):
        input_gradients(net, bad)
    with pytest.raises(ValueError, match="x contains 1 NaN/inf"):
        directional_spectrum(net, bad)
    with pytest.raises(ValueError, match="empty batch"):
        gradient_bandwidth(net, x[:0])
    with pytest.raises(ValueError, match=r"shape \(N, \.\.\.\)"):
        input_gradients(nn.Linear(4, 1).double(), torch.ones(4, dtype=torch.float64))
    with pytest.raises(RuntimeError):  # the model's own shape error passes through
        input_gradients(net, _rand(3, 1, 3, 3))
    with pytest.raises(ValueError, match="n_points must be at least 4"):
        directional_spectrum(net, x, n_points=3)
    with pytest.raises(ValueError, match="length must be"):
        directional_spectrum(net, x, length=0.0)
    with pytest.raises(ValueError, match=r"directions must have shape \(n_lines, 1, 4, 4\)"):
        directional_spectrum(net, x, directions=torch.ones(2, 16))
    with pytest.raises(ValueError, match="zero vector"):
        directional_spectrum(net, x, directions=torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="n_lines=3 but 2 directions"):
        directional_spectrum(net, x, n_lines=3, directions=torch.ones(2, 1, 4, 4))
    with pytest.raises(ValueError, match="unknown window"):
        directional_spectrum(net, x, window="kaiser")
    with pytest.raises(TypeError, match="generator must be"):
        directional_spectrum(net, x, generator=1.5)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        input_gradients(lambda t: t.sum(1), x)
    with pytest.raises(ValueError, match="no batch axis"):
        input_gradients(nn.Sequential(net, nn.Flatten(0)), x)  # (N*3,) output: rows lost
    with pytest.raises(ValueError, match="bins must be"):
        gradient_bandwidth(net, x, bins=[1.0, 0.0])
    with pytest.raises(ValueError, match="levels must be"):
        gradient_bandwidth(net, x, levels=(1.5,))
    with pytest.raises(TypeError, match="batch_mean must be a bool"):
        input_gradients(net, x, batch_mean=1)


def test_non_finite_model_output_is_refused():
    class Blowup(nn.Module):
        def forward(self, x):
            return x.flatten(1) / 0.0

    with pytest.raises(ValueError, match="model output contains NaN/inf"):
        input_gradients(Blowup(), _rand(2, 3))
    with pytest.raises(ValueError, match="model output contains NaN/inf"):
        directional_spectrum(Blowup(), _rand(2, 3))


def test_line_offsets_do_not_count_as_bandwidth():
    u = _rand(6, seed=8) - 0.5
    x = _rand(5, 6)

    class Shifted(PlaneWave):
        def forward(self, x):
            return super().forward(x) + 100.0  # Hann would leak it into bin 1 at amplitude 50

    base = directional_spectrum(PlaneWave(u, 3.0), x, n_lines=5, n_points=64)
    shifted = directional_spectrum(Shifted(u, 3.0), x, n_lines=5, n_points=64)
    assert np.allclose(base.spectrum.amplitude, shifted.spectrum.amplitude, rtol=1e-6, atol=1e-9)


def test_public_api_is_reexported():
    assert specinit.directional_spectrum is directional_spectrum
    assert specinit.gradient_bandwidth is gradient_bandwidth
    assert specinit.input_gradients is input_gradients
    assert {"bandwidth", "GradientBandwidth", "DirectionalSpectrum", "pretrain_random_labels_"} <= set(
        specinit.__all__
    )


def test_linear_detrend_removes_the_affine_part_along_each_line():
    net = _linear()
    x = _rand(4, 1, 4, 4)
    mean_only = directional_spectrum(net, x, n_lines=4, n_points=32)
    affine = directional_spectrum(net, x, n_lines=4, n_points=32, detrend="linear")
    assert mean_only.spectrum.amplitude.max() > 1e-3  # a ramp leaks into the low bins
    assert affine.spectrum.amplitude.max() < 1e-12
    u = _rand(4, seed=9)
    bent = directional_spectrum(PlaneWave(u, 3.0), _rand(5, 4), n_lines=5, n_points=64, detrend="linear")
    assert bent.spectrum.amplitude.max() > 0.1  # the non-affine part stays
    with pytest.raises(ValueError, match="unknown detrend"):
        directional_spectrum(net, x, detrend="quadratic")


# --------------------------------------------------------------------------- reductions over output units


def test_mean_over_units_cancels_after_layernorm_but_projections_do_not():
    # Σ_k LayerNorm(h)_k is constant (γ = 1, β = 0 at init), so the paper's averaged output is
    # flat in x whatever the network; the default random projections see the units' slopes.
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 8), nn.LayerNorm(8)).double()
    x = _rand(40, 6, seed=6)
    assert gradient_bandwidth(net, x, reduction="mean").mean_abs < 1e-12
    record = gradient_bandwidth(net, x)
    assert record.reduction == "projection"
    jac = torch.stack([torch.autograd.functional.jacobian(net, x[n]) for n in range(40)])  # (N, K, D)
    rms_unit = float(jac.pow(2).sum(1).mean().div(8).sqrt())  # (E|g|² / D)^½ under projections
    assert record.mean_abs > 0.2 * rms_unit


def test_projection_is_a_unit_combination_of_the_units_with_the_mean_squared_slope():
    # f = W x: g_n = Wᵀ u_n, so u_n is recovered exactly, has unit norm, and E|g_n|² = ‖W‖_F² / K.
    torch.manual_seed(7)
    net = nn.Linear(5, 3).double()
    x = _rand(4000, 5, seed=8)
    g = input_gradients(net, x, generator=0)
    w = net.weight.detach()
    u = torch.linalg.lstsq(w.T, g.T).solution.T  # (N, K)
    assert torch.allclose(w.T @ u.T, g.T, rtol=0, atol=1e-12)
    assert torch.allclose(u.norm(dim=1), torch.ones(4000, dtype=torch.float64), rtol=0, atol=1e-10)
    mean_square = float(g.pow(2).sum(1).mean())
    assert mean_square == pytest.approx(float(w.pow(2).sum()) / 3, rel=0.05)
    assert torch.equal(g, input_gradients(net, x, generator=0))
    assert not torch.equal(g, input_gradients(net, x, generator=1))


def test_single_output_projection_is_the_papers_gradient():
    u = _rand(16, seed=3) - 0.5
    x = _rand(10, 16, seed=4)
    wave = PlaneWave(u, 2.0)
    assert torch.equal(input_gradients(wave, x), input_gradients(wave, x, reduction="mean"))


def test_integer_inputs_and_unknown_reductions_are_refused():
    net = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ValueError, match=r"integer dtype torch.int64 \(token ids\?\)"):
        gradient_bandwidth(net, torch.randint(0, 10, (5, 3)))
    with pytest.raises(ValueError, match="unknown reduction 'sum'"):
        input_gradients(_linear(), _rand(3, 1, 4, 4), reduction="sum")
