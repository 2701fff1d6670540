"""Spectrum-targeted starts: the asked value is met, measured independently, deterministically."""

import importlib.metadata
import math
import warnings

import pytest
import torch
from torch import nn

import specinit
from specinit.initializers import registry
from specinit.measure.bandwidth import directional_spectrum, gradient_bandwidth
from specinit.measure.spectrum import spectrum_1d
from specinit.targeting import (
    DEFAULT_ENERGY_ABOVE,
    SpectralTarget,
    UnreachableTargetError,
    family_for,
    fit_of,
    spectral_target_,
)

cmlp = specinit.models.coordinate_mlp


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- the target record


def test_step_is_the_nyquist_cutoff_with_the_default_fraction():
    target = SpectralTarget(step=0.05)
    assert target.cutoff == 10.0 and target.energy_above == DEFAULT_ENERGY_ABOVE
    assert target.kind == "energy_above" and target.value == DEFAULT_ENERGY_ABOVE
    assert repr(target) == "SpectralTarget(energy above 10 ≤ 0.01)" and not target.exact
    assert SpectralTarget(centroid=2.0).exact  # only an energy fraction is an allowance


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of"),
        ({"cutoff": 5, "centroid": 2}, "exactly one of"),
        ({"energy_above": 0.1}, "needs a cutoff"),
        ({"cutoff": 5, "energy_above": 1.0}, "strictly between 0 and 1"),
        ({"cutoff": 5, "step": 0.1}, "not both"),
        ({"centroid": -1.0}, "centroid"),
        ({"gradient": float("nan")}, "gradient"),
    ],
)
def test_impossible_targets_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpectralTarget(**kwargs)


# --------------------------------------------------------------------------- meeting the target


@pytest.mark.parametrize(
    ("activation", "family", "parameter"),
    [
        ("sine(omega0=30)", "siren", "omega0"),
        ("tanh", "gain", "gain"),
        ("gaussian(sigma=0.1)", "gaussian", "alpha"),
    ],
)
def test_a_1d_target_is_met_and_holds_on_an_independent_finer_grid(activation, family, parameter):
    net = cmlp(1, 96, 4, 1, activation)
    target = SpectralTarget(cutoff=5, energy_above=0.05, exact=True)
    fit = spectral_target_(net, target, lo=-1, hi=1, generator=3)
    assert (fit.family, fit.parameter) == (family, parameter)
    assert fit.relative_error <= 0.01
    # Measured again on the float32 model with four times the samples: still within 3 %.
    again = spectrum_1d(net, -1, 1, 4096, mollify=True, detrend="mean").energy_above(5.0)
    assert again == pytest.approx(0.05, rel=0.03)
    assert next(net.parameters()).dtype == torch.float32
    assert fit_of(net) is fit


def test_a_higher_target_needs_a_larger_scale():
    chosen = []
    for fraction in (0.003, 0.01, 0.03):
        net = cmlp(1, 64, 3, 1, "sine(omega0=30)")
        chosen.append(
            spectral_target_(
                net, SpectralTarget(cutoff=5, energy_above=fraction, exact=True), lo=-1, hi=1, generator=0
            )
        )
    omegas = [fit.value for fit in chosen]
    assert omegas == sorted(omegas) and omegas[0] < 0.75 * omegas[-1]
    # SIREN's first layer is U(±1/fan_in)·θ: ω0_first = θ·30 is what the record reports.
    assert all(math.isclose(fit.value, 30 * fit.scale) for fit in chosen)


def test_an_allowance_the_family_start_keeps_leaves_that_start():
    # tanh with He's gain puts ~1e-5 of its energy above 5: at most 1 % asks for nothing more.
    net = cmlp(1, 64, 4, 1, "tanh")
    fit = spectral_target_(net, SpectralTarget(step=0.1), lo=-1, hi=1, generator=7)
    assert fit.scale == 1.0 and fit.achieved < 1e-3 and "asked ≤ 0.01" in fit.text()
    same = specinit.init_(
        cmlp(1, 64, 4, 1, "tanh"), "kaiming_normal", nonlinearity="tanh", bias="uniform", generator=7
    )
    assert _same(_state(same), _state(net))  # exactly the family's own start of that seed


def test_an_allowance_the_family_start_exceeds_is_met_at_a_smaller_scale():
    net = cmlp(1, 64, 4, 1, "sine(omega0=90)")
    fit = spectral_target_(net, SpectralTarget(step=0.1), lo=-1, hi=1, generator=0)
    assert fit.scale < 1.0 and fit.achieved == pytest.approx(0.01, rel=0.01)
    assert fit.reachable[1] > 0.01  # the family's own start (ω0 = 90) had more than allowed


def test_a_centroid_target_is_met():
    net = cmlp(1, 64, 4, 1, "tanh")
    fit = spectral_target_(net, SpectralTarget(centroid=1.5), lo=-1, hi=1, generator=0)
    assert spectrum_1d(net, -1, 1, 1024, mollify=True, detrend="mean").centroid() == pytest.approx(
        1.5, rel=0.02
    )
    assert fit.achieved == pytest.approx(1.5, rel=0.01)


def test_2d_coordinates_are_measured_along_lines_through_the_data():
    x = torch.rand(128, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    net = cmlp(2, 64, 3, 1, "sine(omega0=30)")
    fit = spectral_target_(net, SpectralTarget(cutoff=6, energy_above=0.05, exact=True), data=x, generator=0)
    widest = float((x.max(0).values - x.min(0).values).max())  # the data's widest coordinate range
    assert fit.where == f"128 lines of length {widest:.4g} through 128 points"
    fresh = directional_spectrum(
        net, x, n_lines=256, n_points=256, length=widest, detrend="linear", generator=99
    )
    assert fresh.energy_above(6.0) == pytest.approx(0.05, rel=0.15)  # other lines, same start


def test_an_image_model_meets_a_gradient_bandwidth_target():
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 10))
    fit = spectral_target_(cnn, SpectralTarget(gradient=0.02), data=images, generator=0)
    assert fit.relative_error <= 0.01
    # Measured again with other random output projections on other images: within 10 %.
    others = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(7))
    assert gradient_bandwidth(cnn, others, generator=123).mean_abs == pytest.approx(0.02, rel=0.1)


def test_swim_scales_its_schedule():
    x = torch.linspace(-1, 1, 41)[:, None]
    net = specinit.models.mlp(1, [128], 1, "tanh")
    fit = spectral_target_(
        net,
        SpectralTarget(step=0.05, exact=True),
        family="swim",
        data=x,
        targets=torch.sin(6 * x),
        lo=-1,
        hi=1,
        generator=0,
    )
    assert fit.parameter == "s1" and fit.relative_error <= 0.01
    assert fit.value == pytest.approx(fit.scale * math.log(3))  # tanh's SWIM s1 = ln 3 at θ = 1


# --------------------------------------------------------------------------- determinism and refusal


def test_the_same_seed_gives_the_same_start_and_another_seed_another():
    def start(seed):
        net = cmlp(1, 32, 2, 1, "tanh")
        spectral_target_(net, SpectralTarget(cutoff=5, energy_above=0.02), lo=-1, hi=1, generator=seed)
        return _state(net)

    assert _same(start(4), start(4))
    assert not _same(start(4), start(5))


def test_an_unreachable_target_names_the_range_and_leaves_the_model():
    net = cmlp(1, 64, 1, 1, "relu")
    before = _state(net)
    with pytest.raises(
        UnreachableTargetError, match=r"family 'gain' \(gain .*\) gives this model energy above 5 from"
    ):
        spectral_target_(
            net, SpectralTarget(cutoff=5, energy_above=0.5, exact=True), lo=-1, hi=1, generator=0
        )
    assert _same(before, _state(net))
    assert fit_of(net) is None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lo": -1}, ValueError, "both lo= and hi="),
        ({}, ValueError, "say where the spectrum is measured"),
        ({"lo": -1, "hi": 1, "grid": 8}, ValueError, "Nyquist"),
        ({"data": torch.tensor([[0.0, float("nan")]] * 4)}, ValueError, "NaN"),
        ({"lo": -1, "hi": 1, "family": "fourier"}, ValueError, "unknown family"),
        ({"lo": -1, "hi": 1, "family": "siren"}, ValueError, "no sine activation"),
        ({"lo": -1, "hi": 1, "bounds": (2.0, 1.0)}, ValueError, "low < high"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        spectral_target_(cmlp(1, 16, 2, 1, "tanh"), SpectralTarget(step=0.1), generator=0, **kwargs)


def test_a_linear_model_is_refused():
    with pytest.raises(ValueError, match="one weight layer"):
        spectral_target_(nn.Linear(1, 1), SpectralTarget(step=0.1), lo=-1, hi=1, generator=0)


def test_the_family_follows_the_activation():
    assert family_for(cmlp(1, 8, 2, 1, "sine")).name == "siren"
    assert family_for(cmlp(1, 8, 2, 1, "gaussian")).name == "gaussian"
    assert family_for(cmlp(1, 8, 2, 1, "relu")).name == "gain"


# --------------------------------------------------------------------------- through init_


def test_init_knows_the_method_through_its_entry_point():
    assert "spectral_target" in specinit.methods()
    net = cmlp(1, 32, 3, 1, "sine(omega0=30)")
    assert specinit.init_(net, "spectral_target", step=0.1, lo=-1, hi=1, generator=0) is net
    fit = fit_of(net)
    assert fit is not None and fit.target == SpectralTarget(step=0.1)
    with pytest.raises(TypeError, match="takes no option"):
        specinit.init_(net, "spectral_target", step=0.1, lo=-1, hi=1, omega=3)


def test_a_broken_entry_point_warns_and_init_goes_on(monkeypatch):
    broken = importlib.metadata.EntryPoint(
        "broken_method", "specinit_no_such_module", registry.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(registry.importlib.metadata, "entry_points", lambda group: [broken])
    monkeypatch.setitem(registry._PLUGINS, "loaded", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = specinit.methods()
    assert "broken_method" not in names
    assert any("'broken_method' (specinit_no_such_module) failed to load" in str(w.message) for w in caught)


def test_a_grid_too_coarse_for_a_saturated_start_is_refined():
    # gain ≈ 17 saturates the tanh net into near-square waves: 128 samples alias their content.
    net = cmlp(1, 64, 4, 1, "tanh")
    fit = spectral_target_(net, SpectralTarget(centroid=2.5), lo=-1, hi=1, generator=1, grid=128)
    assert fit.where != "[-1, 1) with 128 samples"
    assert spectrum_1d(net, -1, 1, 16384, mollify=True, detrend="mean").centroid() == pytest.approx(
        2.5, rel=0.015
    )


def test_init_passes_exact_and_a_changed_model_has_no_record():
    net = cmlp(1, 32, 3, 1, "sine(omega0=5)")
    specinit.init_(net, "spectral_target", step=0.1, exact=True, lo=-1, hi=1, generator=0)
    fit = fit_of(net)
    assert fit.target.exact and fit.achieved == pytest.approx(0.01, rel=0.01)
    specinit.init_(net, "xavier_normal", generator=0)
    assert fit_of(net) is None  # re-initialized: the record no longer describes it


def test_a_kept_swim_start_has_the_hidden_layers_of_init_swim():
    x = torch.linspace(-1, 1, 41)[:, None]
    y = torch.sin(3 * x)
    net = specinit.models.mlp(1, [64], 1, "tanh")
    fit = spectral_target_(
        net,
        SpectralTarget(step=0.05, energy_above=0.5),
        family="swim",
        data=x,
        targets=y,
        lo=-1,
        hi=1,
        generator=0,
    )
    assert fit.scale == 1.0  # the allowance is kept by SWIM's own scales
    same = specinit.init_(specinit.models.mlp(1, [64], 1, "tanh"), "swim", data=x, targets=y, generator=0)
    assert torch.allclose(net[0].weight, same[0].weight, rtol=1e-5, atol=1e-6)
    assert torch.allclose(net[0].bias, same[0].bias, rtol=1e-5, atol=1e-6)
