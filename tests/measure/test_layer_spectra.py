"""Per-layer spectra (issue 4 item 5): each layer's feature and readout spectra, and their summaries."""

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import specinit
from specinit.measure.layer_spectra import LayerSpectra, layer_spectra, plot_layer_spectra, ridge_readout
from specinit.nn.models import mlp


def _sine_net(freq: float, width: int = 8) -> nn.Sequential:
    """First hidden layer: units sin(2π·freq·x + φ_u) with explicit phases; a second layer after."""
    net = mlp(1, [width, width], 1, "sine", omega0=1.0)
    with torch.no_grad():
        net[0].weight.fill_(2 * math.pi * freq)
        net[0].bias.copy_(torch.linspace(0.0, math.pi, width))
        net[2].weight.copy_(0.5 * torch.eye(width))
        net[2].bias.zero_()
    return net


def _tanh_chain(scales: tuple[float, ...], width: int = 16) -> nn.Sequential:
    """Layer 1: tanh(a₁(x − c_u)), steps at c_u spread over (0, 1); layer l > 1: tanh(a_l h_{l−1}).

    Each deeper layer composes one more steepening tanh, so its features are strictly sharper.
    """
    net = mlp(1, [width] * len(scales), 1, "tanh")
    centres = (torch.arange(width) + 0.5) / width
    with torch.no_grad():
        net[0].weight.fill_(scales[0])
        net[0].bias.copy_(-scales[0] * centres)
        for layer, scale in zip(net[2:-1:2], scales[1:], strict=True):
            layer.weight.copy_(scale * torch.eye(width))
            layer.bias.zero_()
    return net


def _sin3(x):
    return torch.sin(2 * math.pi * 3 * x)


def test_sine_first_layer_peaks_at_its_frequency():
    result = layer_spectra(_sine_net(5.0), 0.0, 1.0, 128, window="none")
    first = result.layers[0]
    assert first.features.peaks(1)[0] == pytest.approx(5.0)
    # every unit is an on-bin sinusoid of frequency 5: all (normalized) power sits in that bin
    assert first.features.energy[5] == pytest.approx(1.0, abs=1e-9)
    assert first.centroid == pytest.approx(5.0, abs=1e-9)
    assert first.features.energy_above(4.5) == pytest.approx(1.0)
    assert first.energy_above == pytest.approx(first.features.energy_above(result.cutoff))
    # sin(½ sin θ) holds only odd harmonics: the second layer's power is at 5, 15, 25 ...
    second = result.layers[1].features
    assert second.peaks(2).tolist() == pytest.approx([5.0, 15.0])
    assert second.energy[[10, 20]].max() < 1e-12


def test_hann_window_keeps_the_peak_and_spreads_it_symmetrically():
    first = layer_spectra(_sine_net(5.0), 0.0, 1.0, 128).layers[0]  # default window: hann
    assert first.features.peaks(1)[0] == pytest.approx(5.0)
    assert first.centroid == pytest.approx(5.0, abs=1e-6)  # float32 features
    # periodic Hann on an on-bin tone: amplitudes ½, 1, ½ at bins 4, 5, 6
    assert first.features.energy[4:7] == pytest.approx(np.array([0.25, 1.0, 0.25]) / 1.5, abs=1e-6)


def test_deeper_layers_of_a_steepening_net_have_higher_centroids():
    result = layer_spectra(_tanh_chain((4.0, 2.0, 3.0, 4.0)), 0.0, 1.0, 512, cutoff=3.0)
    centroids = result.column("centroid")
    above = result.column("energy_above")
    assert np.all(np.diff(centroids) > 0.05 * centroids[:-1]), centroids
    assert np.all(np.diff(above) > 0) and above[-1] > 100 * above[0], above
    # a near-linear layer (tanh(0.1·h) ≈ 0.1·h) keeps the spectrum's shape
    linear = layer_spectra(_tanh_chain((4.0, 0.1)), 0.0, 1.0, 512).column("centroid")
    assert linear[1] == pytest.approx(linear[0], rel=0.01)


def test_feature_spectrum_of_one_unit_matches_spectrum_1d():
    net = mlp(1, [1], 1, "tanh")
    with torch.no_grad():
        net[0].weight.fill_(7.0)
        net[0].bias.fill_(-2.0)
    features = layer_spectra(net, -1.0, 1.0, 64, window="none").layers[0].features
    reference = specinit.spectrum_1d(lambda x: torch.tanh(7.0 * x - 2.0), -1.0, 1.0, 64, dtype=torch.float64)
    power = reference.amplitude**2
    assert features.energy[0] == 0.0  # the mean is removed
    np.testing.assert_allclose(features.energy[1:], power[1:] / power[1:].sum(), rtol=1e-5, atol=1e-12)


def test_readout_fitted_to_sin3_peaks_at_3():
    net = _tanh_chain((30.0,), width=64)
    layer = layer_spectra(net, 0.0, 1.0, 256, target=_sin3).layers[0]
    assert layer.readout.peaks(1)[0] == pytest.approx(3.0)
    assert layer.readout.at(3.0) == pytest.approx(1.0, abs=0.02)
    assert layer.readout_error < 0.02
    assert layer.readout_centroid == pytest.approx(3.0, abs=0.05)
    # from 24 sparse samples the readout still puts its peak at 3
    x = torch.linspace(0.0, 1.0, 25)[:-1]
    sparse = layer_spectra(net, 0.0, 1.0, 256, target=(x, _sin3(x))).layers[0]
    assert sparse.readout.peaks(1)[0] == pytest.approx(3.0)
    assert sparse.readout_error < 1e-3


def test_vector_target_gives_one_readout_spectrum_per_output():
    net = _tanh_chain((30.0,), width=64)

    def target(x):
        return torch.cat([_sin3(x), torch.sin(2 * math.pi * 5 * x)], dim=1)

    readout = layer_spectra(net, 0.0, 1.0, 256, target=target).layers[0].readout
    assert readout.amplitude.shape == (2, 129)
    assert readout.at([3.0, 5.0]) == pytest.approx(np.eye(2), abs=0.05)


def test_layer_readouts_are_the_one_ridge_readout_matching_float64_references():
    # layer_spectra fits its readouts with specinit.fit_readout (relative ridge, bias unpenalized);
    # the deprecated ridge_readout returns the same solution stacked as (W + 1, k).
    g = torch.Generator().manual_seed(0)
    h = torch.randn(50, 6, generator=g, dtype=torch.float64).numpy()
    y = torch.randn(50, 2, generator=g, dtype=torch.float64).numpy()
    a = np.hstack([h, np.ones((50, 1))])
    with pytest.warns(DeprecationWarning, match="fit_readout"):
        stacked = ridge_readout(h, y, l2=0.0)
    np.testing.assert_allclose(stacked, np.linalg.lstsq(a, y, rcond=None)[0], rtol=1e-10, atol=1e-12)
    hc, yc = h - h.mean(0), y - y.mean(0)
    lam = 0.1 * np.trace(hc.T @ hc) / 6
    w = np.linalg.solve(hc.T @ hc + lam * np.eye(6), hc.T @ yc)
    closed = np.vstack([w, y.mean(0) - h.mean(0) @ w])
    with pytest.warns(DeprecationWarning):
        np.testing.assert_allclose(ridge_readout(h, y, l2=0.1), closed, rtol=1e-10, atol=1e-12)
    with pytest.warns(DeprecationWarning):
        assert ridge_readout(h, y[:, 0]).shape == (7, 1)


def test_structure_and_model_left_untouched():
    net = _tanh_chain((4.0, 2.0))
    net.train()
    before = [p.clone() for p in net.parameters()]
    result = layer_spectra(net, 0.0, 1.0, 64, target=_sin3, cutoff=8.0)
    assert isinstance(result, LayerSpectra)
    assert [(layer.name, layer.index, layer.width) for layer in result.layers] == [("1", 0, 16), ("3", 1, 16)]
    assert result.cutoff == 8.0 and result.n == 64 and result.window == "hann"
    assert result.layers[1].energy_above == pytest.approx(result.layers[1].features.energy_above(8.0))
    assert set(result.table()[0]) == {
        "name",
        "index",
        "width",
        "centroid",
        "energy_above",
        "readout_centroid",
        "readout_energy_above",
        "readout_error",
    }
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters(), strict=True))
    default = layer_spectra(net, 0.0, 1.0, 64)
    assert default.cutoff == pytest.approx(0.25 * 32.0)
    assert default.layers[0].readout is None and np.isnan(default.column("readout_error")).all()


def test_coordinate_mlp_and_explicit_layers():
    net = specinit.models.coordinate_mlp(1, width=8, depth=3, activation="tanh")
    assert [layer.name for layer in layer_spectra(net, -1.0, 1.0, 32).layers] == ["net.1", "net.3", "net.5"]
    plain = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))
    result = layer_spectra(plain, -1.0, 1.0, 32, layers=[plain[1]])
    assert [layer.name for layer in result.layers] == ["1"]


def test_plot_draws_one_log_curve_per_layer():
    result = layer_spectra(_tanh_chain((4.0, 2.0, 3.0)), 0.0, 1.0, 64, target=_sin3)
    ax = result.plot()
    assert isinstance(ax.figure, Figure)
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 4 and lines[-1].get_label() == "cutoff"
    np.testing.assert_allclose(lines[0].get_ydata(), result.layers[0].features.energy[1:])
    readout_ax = plot_layer_spectra(result, which="readout", show_cutoff=False)
    assert len(readout_ax.get_lines()) == 3


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: layer_spectra(mlp(2, [4], 1, "tanh"), 0.0, 1.0, 32), ValueError, "1D input.*takes 2"),
        (lambda: layer_spectra(specinit.models.vgg_small(1, 10), 0.0, 1.0, 32), ValueError, "1D input"),
        (lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 2), ValueError, "at least 4"),
        (lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 1.0, 0.0, 32), ValueError, "lo < hi"),
        (lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, float("nan"), 32), ValueError, "finite"),
        (lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32, cutoff=17.0), ValueError, "Nyquist"),
        (lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32, l2=-1.0), ValueError, "l2"),
        (
            lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32, target=lambda x: x / 0.0),
            ValueError,
            "NaN",
        ),
        (
            lambda: layer_spectra(
                mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32, target=(torch.rand(5), torch.rand(4))
            ),
            ValueError,
            "different numbers",
        ),
        (
            lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32, target=lambda x: torch.zeros(len(x))),
            ValueError,
            "zero at every",
        ),
        (lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32, target=3.0), TypeError, "callable"),
        (lambda: layer_spectra(nn.Sequential(nn.Linear(1, 1)), 0.0, 1.0, 32), ValueError, "no specinit"),
        (
            lambda: layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32, layers=[nn.Tanh()]),
            ValueError,
            "not a submodule",
        ),
        (lambda: layer_spectra("net", 0.0, 1.0, 32), TypeError, "torch.nn.Module"),
        (
            lambda: plot_layer_spectra(layer_spectra(mlp(1, [4], 1, "tanh"), 0.0, 1.0, 32), which="readout"),
            ValueError,
            "target=",
        ),
    ],
)
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_overflowing_layer_is_named():
    net = mlp(1, [4, 4], 1, "relu")
    with torch.no_grad():
        net[0].weight.fill_(float("inf"))
    with pytest.raises(ValueError, match="layer '1' output contains NaN/inf"):
        layer_spectra(net, 0.0, 1.0, 32)
