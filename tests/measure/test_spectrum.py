"""Spectra of known signals, summaries, and the per-frequency tracker (arXiv 2206.08558)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from torch import nn

from specinit.measure.spectrum import (
    FrequencyTracker,
    Spectrum,
    energy_above,
    lowest_fitting_frequency,
    plot_spectrum,
    spectral_centroid,
    spectrum_1d,
)
from specinit.training import TrainState, train

TWO_PI = 2 * math.pi


def two_tones(x: torch.Tensor) -> torch.Tensor:
    """3 sin(2π 5x) + sin(2π 12x + 0.3) + 0.7: peaks at 5 and 12, DC 0.7."""
    return 3 * torch.sin(TWO_PI * 5 * x) + torch.sin(TWO_PI * 12 * x + 0.3) + 0.7


class Scaled(nn.Module):
    """``t · target(x)`` with a trainable scalar ``t`` (starts at 0): moves from 0 to the target."""

    def __init__(self, target, t: float = 0.0) -> None:
        super().__init__()
        self.target = target
        self.t = nn.Parameter(torch.tensor(float(t)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.t * self.target(x)


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-1.0, 1.0)])
def test_rect_window_reads_exact_amplitudes(lo, hi):
    spec = spectrum_1d(two_tones, lo, hi, n=512)
    assert spec.freqs[0] == 0 and spec.freqs[-1] == pytest.approx(512 / (2 * (hi - lo)))
    assert spec.resolution == pytest.approx(1 / (hi - lo))
    np.testing.assert_array_equal(spec.peaks(2), [5.0, 12.0])
    np.testing.assert_allclose(spec.at([0.0, 5.0, 12.0]), [0.7, 3.0, 1.0], rtol=1e-3)
    others = np.delete(spec.amplitude, np.searchsorted(spec.freqs, [0.0, 5.0, 12.0]))
    assert others.max() < 1e-4  # no leakage for a periodic signal on the grid


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-1.0, 1.0)])
@pytest.mark.parametrize("options", [{"window": "hann"}, {"window": "tukey"}, {"mollify": True}])
def test_windows_keep_amplitudes_within_two_percent(lo, hi, options):
    spec = spectrum_1d(two_tones, lo, hi, n=1024, **options)
    np.testing.assert_array_equal(spec.peaks(2), [5.0, 12.0])
    np.testing.assert_allclose(spec.at([0.0, 5.0, 12.0]), [0.7, 3.0, 1.0], rtol=0.02)


def test_mollify_zero_pads_and_tapers():
    spec = spectrum_1d(two_tones, 0.0, 1.0, n=256, mollify=True)
    assert spec.mollify and spec.window == "tukey" and spec.pad == 1.0
    assert spec.resolution == pytest.approx(0.5)  # the interval is doubled by the zero extension
    assert spec.nyquist == pytest.approx(128.0)
    wider = spectrum_1d(two_tones, 0.0, 1.0, n=256, mollify=True, pad=3.0)
    assert wider.resolution == pytest.approx(0.25)
    # A ramp jumps at the wrap-around; the smooth zero extension removes that 1/f tail.

    def ramp(x):
        return x

    assert spectrum_1d(ramp, 0.0, 1.0, 256, mollify=True).energy_above(20) < 1e-3 * spectrum_1d(
        ramp, 0.0, 1.0, 256
    ).energy_above(20)


def test_nyquist_bin_and_dc_amplitude():
    n, amplitude = 64, 1.5
    spec = spectrum_1d(lambda x: amplitude * torch.cos(math.pi * n * x) - 2.0, 0.0, 1.0, n=n)
    assert spec.at(n / 2) == pytest.approx(amplitude, rel=1e-5)
    assert spec.at(0.0) == pytest.approx(2.0, rel=1e-6)  # |mean|


def test_multi_output_function():
    spec = spectrum_1d(
        lambda x: torch.cat([torch.sin(TWO_PI * 3 * x), 2 * torch.cos(TWO_PI * 7 * x)], dim=1),
        0.0,
        1.0,
        n=128,
    )
    assert spec.n_outputs == 2 and spec.amplitude.shape == (2, 65)
    np.testing.assert_allclose(spec.at(3.0), [1.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(spec.at(7.0), [0.0, 2.0], atol=1e-5)
    np.testing.assert_array_equal(spec.peaks(2), [7.0, 3.0])  # pooled energy 4 > 1
    assert spec.energy_above(5.0) == pytest.approx(4 / 5, rel=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_module_input_keeps_its_mode(training):
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    model.train(training)
    modes: list[bool] = []
    model[1].register_forward_hook(lambda module, args, out: modes.append(module.training))
    spec = spectrum_1d(model, -1.0, 1.0, n=64)  # float64 inferred from the parameters
    assert modes == [False]  # evaluated in eval mode
    assert model.training is training and all(m.training is training for m in model.modules())
    assert spec.amplitude.shape == (2, 33)
    with torch.no_grad():
        expected = model(torch.linspace(-1, 1, 65, dtype=torch.float64)[:-1, None]).mean(0).abs()
    np.testing.assert_allclose(spec.at(0.0), expected.numpy(), rtol=1e-10)


def test_module_in_training_mode_is_evaluated_in_eval_mode(recwarn):
    """Batch norm keeps its running statistics, dropout draws no noise, the modes come back."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        layers = [nn.Linear(1, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 1)]
        model = nn.Sequential(*layers)
    model.train()
    model[3].eval()  # a submodule with its own mode
    stats = {name: b.clone() for name, b in model.named_buffers()}
    first = spectrum_1d(model, 0.0, 1.0, n=32)
    second = spectrum_1d(model, 0.0, 1.0, n=32, chunk_size=5)
    for name, buffer in model.named_buffers():
        assert torch.equal(buffer, stats[name]), name  # running_mean/var, num_batches_tracked
    np.testing.assert_allclose(first.amplitude, second.amplitude, rtol=1e-5, atol=1e-7)
    assert [m.training for m in model.modules()] == [True, True, True, True, False, True]
    model.eval()
    with torch.no_grad():
        expected = model(torch.arange(32.0)[:, None] / 32).squeeze(1)
    assert first.at(0.0) == pytest.approx(abs(float(expected.mean())), rel=1e-5)
    assert not recwarn.list


def test_numpy_callable_and_batching():
    def numpy_fn(x):  # receives a tensor, returns an ndarray
        return np.sin(TWO_PI * 3 * np.asarray(x))

    calls = []

    def counted(x):
        calls.append(x.shape[0])
        return two_tones(x)

    assert spectrum_1d(numpy_fn, 0.0, 1.0, n=32).at(3.0) == pytest.approx(1.0, rel=1e-5)
    batched = spectrum_1d(counted, 0.0, 1.0, n=100, chunk_size=30)
    assert calls == [30, 30, 30, 10]
    np.testing.assert_allclose(batched.amplitude, spectrum_1d(two_tones, 0.0, 1.0, n=100).amplitude)


def test_energy_and_centroid_on_hand_computable_spectrum():
    spec = Spectrum(
        freqs=np.arange(6.0),
        amplitude=np.array([10.0, 0, 3, 0, 1, 0]),
        lo=0.0,
        hi=1.0,
        n=10,
        window="none",
    )
    # non-DC energies: 9 at f=2, 1 at f=4 (the DC amplitude 10 is excluded)
    assert spec.energy_above(3.0) == pytest.approx(0.1)
    assert energy_above(spec, 1.0) == pytest.approx(1.0)
    assert spec.energy_above(4.0) == 0.0  # strictly above
    assert spec.centroid() == pytest.approx((2 * 9 + 4 * 1) / 10)
    assert spectral_centroid(spec) == spec.centroid()
    flat = spectrum_1d(lambda x: torch.full_like(x, 2.0), 0.0, 1.0, n=16)
    assert flat.energy_above(0.0) == 0.0 and flat.centroid() == 0.0
    with pytest.raises(ValueError, match="read-only"):
        spec.amplitude[0] = 1.0


def test_peaks_ignore_window_leakage():
    spec = spectrum_1d(lambda x: torch.sin(TWO_PI * 9 * x), 0.0, 1.0, n=128, window="hann")
    assert spec.at(8.0) == pytest.approx(0.5, rel=1e-5)  # Hann leaks half into each neighbour
    np.testing.assert_array_equal(spec.peaks(3), [9.0])


def test_lowest_fitting_frequency():
    assert lowest_fitting_frequency(0.1) == 5.0
    assert lowest_fitting_frequency(0.25) == 2.0
    for bad in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="step"):
            lowest_fitting_frequency(bad)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"lo": 1.0, "hi": 1.0}, ValueError, "lo < hi"),
        ({"lo": 2.0, "hi": 1.0}, ValueError, "lo < hi"),
        ({"n": 3}, ValueError, "at least 4"),
        ({"n": 8.5}, TypeError, "n must be an integer, got 8.5"),
        ({"n": True}, TypeError, "n must be an integer, got True"),
        ({"lo": "0"}, TypeError, "lo must be a real number"),
        ({"hi": float("inf")}, ValueError, "hi must be finite"),
        ({"window": "blackman"}, ValueError, "unknown window 'blackman'"),
        ({"window": "tukey", "taper": 0.0}, ValueError, "taper"),
        ({"pad": -1.0}, ValueError, "pad"),
        ({"fn": lambda x: x / 0.0 * 0.0}, ValueError, "fn output contains .* NaN"),
        ({"fn": lambda x: x.repeat(2, 1)}, ValueError, r"shape \(16,\)"),
        ({"fn": "sin"}, TypeError, "callable"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"fn": two_tones, "lo": 0.0, "hi": 1.0, "n": 16} | kwargs
    with pytest.raises(error, match=match):
        spectrum_1d(args.pop("fn"), args.pop("lo"), args.pop("hi"), **args)


def test_at_rejects_frequencies_beyond_nyquist():
    spec = spectrum_1d(two_tones, 0.0, 1.0, n=16)
    assert isinstance(spec.at(5.0), float)
    with pytest.raises(ValueError, match="Nyquist"):
        spec.at(9.0)
    with pytest.raises(ValueError, match="Nyquist"):
        spec.at(8.4)  # within half a bin of the last bin, but above Nyquist


@pytest.mark.parametrize("n, pad, lo, hi", [(5, 0.0, 0.0, 1.0), (7, 0.0, -1.0, 1.0), (6, 0.5, 0.0, 1.0)])
def test_nyquist_of_odd_transform_lengths(n, pad, lo, hi):
    """An odd transform length has no bin at Nyquist; the property still reports n / (2 (hi − lo))."""
    spec = spectrum_1d(lambda x: torch.sin(TWO_PI * x), lo, hi, n=n, pad=pad)
    assert (n + round(pad * n)) % 2 == 1
    assert spec.nyquist == n / (2 * (hi - lo))
    assert spec.freqs[-1] == pytest.approx(spec.nyquist - spec.resolution / 2)
    assert spec.at(spec.nyquist) == spec.amplitude[-1]  # the nearest bin is the last one
    even = spectrum_1d(lambda x: torch.sin(TWO_PI * x), 0.0, 1.0, n=8)
    assert even.nyquist == even.freqs[-1] == 4.0


# --------------------------------------------------------------------------- tracker


def target_fn(x: torch.Tensor) -> torch.Tensor:
    return 2 * torch.sin(TWO_PI * 3 * x) + 0.5 * torch.cos(TWO_PI * 8 * x)


def record(tracker: FrequencyTracker, ts: list[float]) -> None:
    model = Scaled(target_fn)
    for step, t in enumerate(ts):
        with torch.no_grad():
            model.t.fill_(t)
        tracker(TrainState(step=step, epoch=0, model=model, loss=0.0))


def test_tracker_errors_go_from_one_to_zero():
    tracker = FrequencyTracker(target_fn, 0.0, 1.0, n=64)
    np.testing.assert_array_equal(tracker.freqs, [3.0, 8.0])  # the target's significant bins
    record(tracker, [0.0, 0.25, 0.5, 0.75, 0.95])
    assert tracker.steps == [0, 1, 2, 3, 4]
    assert tracker.errors.shape == (5, 2)
    np.testing.assert_allclose(
        tracker.errors, np.repeat([[1.0], [0.75], [0.5], [0.25], [0.05]], 2, 1), atol=1e-6
    )
    np.testing.assert_array_equal(tracker.convergence_step(0.1), [4.0, 4.0])
    assert np.isnan(tracker.convergence_step(0.01)).all()


def test_tracker_every_freqs_and_tensor_target():
    grid = torch.arange(64, dtype=torch.float32)[:, None] / 64
    tracker = FrequencyTracker(target_fn(grid), 0.0, 1.0, n=64, freqs=[8.2], every=2)
    np.testing.assert_array_equal(tracker.freqs, [8.0])  # snapped to the nearest bin
    record(tracker, [0.0, 0.5, 0.5, 1.0, 1.0])
    assert tracker.steps == [0, 2, 4]
    np.testing.assert_allclose(tracker.errors[:, 0], [1.0, 0.5, 0.0], atol=1e-6)


def test_tracker_bad_input():
    with pytest.raises(ValueError, match="no energy at frequency"):
        FrequencyTracker(target_fn, 0.0, 1.0, n=64, freqs=[5.0])
    with pytest.raises(ValueError, match="no non-DC frequency content"):
        FrequencyTracker(lambda x: torch.ones_like(x), 0.0, 1.0, n=64)
    with pytest.raises(ValueError, match="Nyquist"):
        FrequencyTracker(target_fn, 0.0, 1.0, n=64, freqs=[40.0])
    with pytest.raises(ValueError, match="every"):
        FrequencyTracker(target_fn, 0.0, 1.0, n=64, every=0)
    with pytest.raises(ValueError, match=r"target must have shape \(64,\)"):
        FrequencyTracker(torch.zeros(10), 0.0, 1.0, n=64)
    with pytest.raises(ValueError, match="no records"):
        FrequencyTracker(target_fn, 0.0, 1.0, n=64).plot()
    with pytest.raises(ValueError, match=r"freqs \[3.0, 3.2\] all snap to the bin at 3 \(bin spacing 1\)"):
        FrequencyTracker(target_fn, 0.0, 1.0, n=64, freqs=[8.0, 3.0, 3.2])


def test_tracker_keeps_the_requested_order():
    tracker = FrequencyTracker(target_fn, 0.0, 1.0, n=64, freqs=[8.1, 2.9])
    np.testing.assert_array_equal(tracker.freqs, [8.0, 3.0])
    model = Scaled(lambda x: 2 * torch.sin(TWO_PI * 3 * x))  # only the 3-cycle component
    tracker(TrainState(step=0, epoch=0, model=model, loss=0.0))
    with torch.no_grad():
        model.t.fill_(1.0)
    tracker(TrainState(step=1, epoch=0, model=model, loss=0.0))
    # columns follow freqs: 8 is never learnt (error 1), 3 is learnt exactly at t = 1
    np.testing.assert_allclose(tracker.errors, [[1.0, 1.0], [1.0, 0.0]], atol=1e-6)


def test_tracker_measures_in_eval_mode_and_restores_it():
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Dropout(0.5), nn.Linear(32, 1))
    tracker = FrequencyTracker(target_fn, 0.0, 1.0, n=64)
    for step in range(2):
        tracker(TrainState(step=step, epoch=0, model=model, loss=0.0))
    assert model.training
    np.testing.assert_array_equal(tracker.errors[0], tracker.errors[1])  # no dropout noise


def test_tracker_during_training_and_plot():
    model = Scaled(target_fn)
    x = torch.rand(200, 1, generator=torch.Generator().manual_seed(0))
    tracker = FrequencyTracker(target_fn, 0.0, 1.0, n=64, every=5)
    train(model, x, target_fn(x), lr=0.05, steps=40, callbacks=[tracker], progress=False)
    assert tracker.steps == list(range(0, 41, 5))
    errors = tracker.errors
    np.testing.assert_allclose(errors[0], 1.0)
    assert np.all(np.diff(errors[:, 0]) < 0) and errors[-1].max() < 0.1
    ax = tracker.plot(title="convergence")
    assert ax.get_title() == "convergence" and ax.get_xlabel() == "step"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3", "8"]
    np.testing.assert_allclose(ax.collections[0].get_array().reshape(2, -1), np.clip(errors.T, 0, 1))


def test_plot_spectrum_lines_and_legend():
    single = spectrum_1d(two_tones, 0.0, 1.0, n=64)
    multi = spectrum_1d(lambda x: torch.cat([x, x * x], 1), 0.0, 1.0, n=64)
    ax = plot_spectrum([("tones", single), ("poly", multi)], cutoff=5.0)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["tones", "poly[0]", "poly[1]", "cutoff"]
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), single.amplitude)
    ax = plot_spectrum(single, log=False)
    assert ax.get_yscale() == "linear" and ax.get_legend() is None
    with pytest.raises(TypeError, match="Spectrum"):
        plot_spectrum([("bad", np.zeros(3))])


def test_plots_use_the_object_api_without_pyplot_or_a_backend_switch():
    """New axes live on a plain ``Figure`` (not registered with pyplot); the backend is untouched."""
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    backend = matplotlib.rcParams._get_backend_or_none()
    open_figures = plt.get_fignums()
    ax = plot_spectrum(spectrum_1d(torch.sin, 0.0, 1.0, n=16))
    tracker = FrequencyTracker(lambda x: torch.sin(TWO_PI * x), 0.0, 1.0, n=16)
    tracker(TrainState(step=0, epoch=0, model=nn.Linear(1, 1), loss=0.0))
    heat = tracker.plot()
    assert type(ax.figure) is Figure and type(heat.figure) is Figure and ax.figure is not heat.figure
    assert plt.get_fignums() == open_figures  # pyplot's global figure list is untouched
    assert matplotlib.rcParams._get_backend_or_none() == backend
    ax.figure.savefig(io.BytesIO(), format="png")  # renders without any GUI backend


def test_sample_step_is_the_grid_step_and_a_typical_gap_otherwise():
    from specinit.measure.spectrum import sample_step

    grid = torch.linspace(-1, 1, 21, dtype=torch.float32)[:, None]
    assert sample_step(grid) == 0.1  # the float32 error rounded away
    assert sample_step(torch.tensor([0.0, 0.2, 0.3, 0.5])) == pytest.approx(0.2)  # gaps .2 .1 .2
    with pytest.raises(ValueError, match="two distinct"):
        sample_step([1.0, 1.0])


def test_sample_step_ignores_jittered_repeats():
    from specinit.measure.spectrum import sample_step

    x = torch.tensor([0.0, 1e-9, 0.1, 0.1 + 1e-9, 0.2, 0.3])
    assert sample_step(x) == pytest.approx(0.1)


def test_spectrum_1d_detrend_mean_drops_an_offset():
    wave = lambda x: torch.sin(2 * math.pi * 8 * x)  # noqa: E731
    offset = lambda x: 5.0 + torch.sin(2 * math.pi * 8 * x)  # noqa: E731
    plain = spectrum_1d(wave, -1, 1, 1024, mollify=True).energy_above(5.0)
    diluted = spectrum_1d(offset, -1, 1, 1024, mollify=True).energy_above(5.0)
    kept = spectrum_1d(offset, -1, 1, 1024, mollify=True, detrend="mean").energy_above(5.0)
    assert diluted < 0.5 * plain  # the offset's taper reads as low-frequency energy
    assert kept == pytest.approx(plain, abs=0.02)
    with pytest.raises(ValueError, match="detrend"):
        spectrum_1d(wave, -1, 1, 64, detrend="linear")
