"""Bandwidth-controlling starts (arXiv 2206.08558): pre-training puts energy where asked."""

import pytest
import torch

import specinit
from specinit.nn.models import coordinate_mlp


def _net(seed=0):
    net = coordinate_mlp(1, 64, 3, 1, "relu")
    return specinit.init_(net, "xavier_normal", generator=seed)


def test_high_frequency_start_peaks_at_the_requested_frequency():
    net = specinit.init_(_net(), "high_frequency", freq=6.0, steps=600, lr=3e-3, generator=0)
    spec = specinit.spectrum_1d(net, -1.0, 1.0, 512)
    assert spec.peaks(1)[0] == pytest.approx(6.0)
    assert spec.at(6.0) > 0.3
    xavier = specinit.spectrum_1d(_net(), -1.0, 1.0, 512)
    assert spec.energy_above(4.0) > 0.5 > xavier.energy_above(4.0)


def test_dc_start_is_nearly_constant():
    net = specinit.init_(_net(), "dc", value=0.7, steps=300, lr=3e-3, generator=0)
    x = torch.linspace(-1, 1, 101)
    with torch.no_grad():
        y = net(x)
    assert float((y - 0.7).abs().max()) < 0.05


def test_same_generator_same_start():
    a = specinit.init_(_net(), "high_frequency", freq=3.0, steps=20, generator=5)
    b = specinit.init_(_net(), "high_frequency", freq=3.0, steps=20, generator=5)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="Nyquist"):
        specinit.init_(_net(), "high_frequency", freq=200.0, n=256)
    with pytest.raises(ValueError, match="freq must be"):
        specinit.init_(_net(), "high_frequency", freq=-1.0)
    with pytest.raises(TypeError, match="needs option.*freq"):
        specinit.init_(_net(), "high_frequency")


def test_start_depends_on_the_generator_not_on_previous_weights():
    torch.manual_seed(1)
    a = specinit.init_(coordinate_mlp(1, 32, 2), "high_frequency", freq=3.0, steps=10, generator=7)
    torch.manual_seed(2)
    b = specinit.init_(coordinate_mlp(1, 32, 2), "high_frequency", freq=3.0, steps=10, generator=7)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_data_is_refused_and_interval_checked():
    with pytest.raises(ValueError, match="does not use data"):
        specinit.init_(_net(), "dc", data=torch.zeros(3, 1))
    with pytest.raises(ValueError, match="lo < hi"):
        specinit.init_(_net(), "high_frequency", freq=1.0, lo=1.0, hi=-1.0)
    with pytest.raises(TypeError, match="takes no option"):
        specinit.init_(_net(), "dc", freq=1.0)
    with pytest.raises(ValueError, match="no parameters"):
        specinit.pretrain_signal_(torch.nn.Identity(), torch.sin)
