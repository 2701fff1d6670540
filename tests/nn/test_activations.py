"""Tests for specinit.activations: declared properties against numerical measurements."""

from __future__ import annotations

import io
import math
import pickle

import pytest
import torch
from torch import nn

from specinit.nn import activations
from specinit.nn.activations import Activation, ActivationModule, available, from_callable, get

NAMES = available()
WIDE = torch.linspace(-1e4, 1e4, 400_001, dtype=torch.float64)  # contains 0
CENTRAL = torch.linspace(-5.0, 5.0, 10_001, dtype=torch.float64)  # no float saturation here
ODD_SIGMOIDS = {"tanh", "arctan", "softsign", "erf", "isru", "tanh_half"}


def _slope0(fn, h: float = 1e-8) -> float:
    # Small h: softsign's x|x| term makes the central difference error O(h), not O(h²).
    x = torch.tensor([-h, h], dtype=torch.float64)
    y = fn(x)
    return float(y[1] - y[0]) / (2 * h)


def test_registry_is_not_empty_and_sorted() -> None:
    assert NAMES == sorted(NAMES)
    assert {"relu", "tanh", "sine", "gaussian", "erf", "sigmoid"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_oddness_matches_declaration(name: str) -> None:
    act = get(name)
    gap = float((act(-CENTRAL) + act(CENTRAL)).abs().max())
    assert (gap < 1e-12) is act.odd


@pytest.mark.parametrize("name", NAMES)
def test_boundedness_and_sup_match_declaration(name: str) -> None:
    act = get(name)
    peak = float(act(WIDE).abs().max())
    if act.bounded:
        assert peak <= act.sup * (1 + 1e-12)
        assert peak >= act.sup * (1 - 1e-3)  # the supremum is approached, not just an upper bound
    else:
        assert act.sup == math.inf
        assert peak > 1e3


@pytest.mark.parametrize("name", NAMES)
def test_monotonicity_matches_declaration(name: str) -> None:
    act = get(name)
    strictly = bool((act(CENTRAL).diff() > 0).all())
    assert strictly is act.increasing


@pytest.mark.parametrize("name", NAMES)
def test_slope0_matches_finite_difference(name: str) -> None:
    act = get(name)
    assert _slope0(act.fn) == pytest.approx(act.slope0, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_from_callable_measures_what_the_registry_declares(name: str) -> None:
    declared = get(name)
    measured = from_callable(declared.fn)
    assert (measured.odd, measured.bounded, measured.increasing) == (
        declared.odd,
        declared.bounded,
        declared.increasing,
    )
    assert measured.slope0 == pytest.approx(declared.slope0, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_odd_sigmoid_class(name: str) -> None:
    assert get(name).is_odd_sigmoid is (name in ODD_SIGMOIDS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [0.5, 3.0])
def test_scaled_slope_values_and_sup(name: str, k: float) -> None:
    base = get(name)
    act = base.scaled(k)
    torch.testing.assert_close(act(CENTRAL), base(k * CENTRAL))
    assert act.slope0 == pytest.approx(k * base.slope0)
    assert _slope0(act.fn) == pytest.approx(act.slope0, rel=1e-6, abs=1e-9)
    assert act.sup == base.sup
    assert (act.odd, act.bounded, act.increasing) == (base.odd, base.bounded, base.increasing)
    assert dict(act.params)["k"] == k


def test_scaling_composes_and_get_k_matches() -> None:
    tanh = get("tanh")
    assert tanh.scaled(1.0) is tanh
    twice = tanh.scaled(2.0).scaled(1.5)
    assert dict(twice.params)["k"] == 3.0
    assert twice.slope0 == 3.0
    torch.testing.assert_close(twice(CENTRAL), torch.tanh(3.0 * CENTRAL))
    via_get = get("tanh", k=3.0)
    assert via_get.slope0 == 3.0 and via_get.describe() == "tanh(k=3)"
    assert get(via_get) is via_get
    assert get(tanh, k=2.0).slope0 == 2.0


@pytest.mark.parametrize("k", [0.0, -1.0, math.nan, math.inf])
def test_bad_scale_raises(k: float) -> None:
    with pytest.raises(ValueError, match="scale k must be (a positive finite number|finite)"):
        get("tanh").scaled(k)
    with pytest.raises(ValueError, match="scale k"):
        get("erf", k=k)


def test_non_numeric_scale_and_params_raise_type_error() -> None:
    with pytest.raises(TypeError, match="scale k must be a real number"):
        get("tanh").scaled("2")  # type: ignore[arg-type]  # a wrong type, on purpose
    with pytest.raises(TypeError, match="omega0 must be a real number"):
        get("sine", omega0="fast")  # type: ignore[arg-type]  # a wrong type, on purpose
    with pytest.raises(TypeError, match="scale k must be a real number, got True"):
        get("tanh").scaled(True)


def test_parameters() -> None:
    sine = get("sine", omega0=10.0)
    torch.testing.assert_close(sine(CENTRAL), torch.sin(10.0 * CENTRAL))
    assert sine.slope0 == 10.0 and sine.describe() == "sine(omega0=10)"
    assert get("sine").describe() == "sine(omega0=30)"  # SIREN's default
    sigma = 0.5
    gauss = get("gaussian", sigma=sigma)
    torch.testing.assert_close(gauss(CENTRAL), torch.exp(-(CENTRAL**2) / (2 * sigma**2)))
    leaky = get("leaky_relu", negative_slope=0.2)
    assert leaky.slope0 == pytest.approx(0.6)
    assert float(leaky(torch.tensor([-1.0]))) == pytest.approx(-0.2)


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("sine", {"omega0": 0.0}, r"omega0=0.0 of 'sine' must lie in \(0, inf\)"),
        ("sine", {"omega0": math.inf}, "omega0 must be finite, got inf"),
        ("gaussian", {"sigma": -1.0}, "sigma=-1.0"),
        ("gaussian", {"sigma": math.nan}, "sigma must be finite, got nan"),
        # Outside (0, 1) leaky ReLU is not strictly increasing (≤ 0) or not leaky (≥ 1).
        ("leaky_relu", {"negative_slope": 0.0}, r"negative_slope=0.0 .* must lie in \(0, 1\)"),
        ("leaky_relu", {"negative_slope": -0.5}, "negative_slope=-0.5"),
        ("leaky_relu", {"negative_slope": 1.0}, "negative_slope=1.0"),
        ("sine", {"sigma": 1.0}, r"takes no parameter\(s\) \['sigma'\]; allowed: omega0"),
        ("tanh", {"omega0": 1.0}, "allowed: none"),
    ],
)
def test_bad_parameters_raise(name: str, params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get(name, **params)


def test_unknown_names_and_types_raise() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swishy'; available: .*tanh"):
        get("swishy")
    with pytest.raises(TypeError, match="must be a name, an Activation or a callable, got int"):
        get(3)  # type: ignore[arg-type]  # a wrong type, on purpose
    with pytest.raises(ValueError, match="cannot be applied to an already built activation"):
        get(get("sine"), omega0=2.0)
    with pytest.raises(ValueError, match="only to registry activations"):
        get(torch.tanh, omega0=2.0)


@pytest.mark.parametrize(
    "alias, name",
    [
        ("swish", "silu"),
        ("sin", "sine"),
        ("siren", "sine"),
        ("atan", "arctan"),
        ("TANH", "tanh"),
        ("Gaussian", "gaussian"),
    ],
)
def test_aliases_and_case(alias: str, name: str) -> None:
    a, b = get(alias), get(name)
    assert a.name == name
    assert a == b  # same function object or equal parameters, same properties
    torch.testing.assert_close(a(CENTRAL), b(CENTRAL))


# ---------------------------------------------------------------------------------------------
# User callables: properties measured numerically.


def test_softsign_like_lambda_is_an_odd_sigmoid() -> None:
    act = get(lambda x: x / (1 + x.abs()))
    assert act.odd and act.bounded and act.increasing and act.is_odd_sigmoid
    assert act.slope0 == pytest.approx(1.0, rel=1e-3)
    assert act.sup == pytest.approx(1.0, abs=0.01)
    assert act.name == "<lambda>"


def test_relu_is_not_odd_bounded_or_strictly_increasing() -> None:
    act = get(torch.relu)
    assert (act.odd, act.bounded, act.increasing) == (False, False, False)
    assert act.sup == math.inf
    assert act.slope0 == pytest.approx(0.5)
    assert act.name == "relu"


def test_arctan_is_bounded_with_sup_near_half_pi() -> None:
    act = get(torch.atan)
    assert act.bounded and act.odd and act.increasing
    assert act.sup == pytest.approx(math.pi / 2, abs=0.01)
    assert act.sup <= math.pi / 2


@pytest.mark.parametrize("fn", [torch.tanh, torch.erf, torch.sigmoid, lambda x: torch.tanh(10 * x)])
def test_float_saturation_still_counts_as_increasing(fn) -> None:
    # tanh(x) rounds to exactly 1.0 beyond x ≈ 19 in float64 (sigmoid beyond ≈ 37), yet it is
    # strictly increasing.
    assert bool((fn(torch.tensor([40.0, 45.0], dtype=torch.float64)).diff() == 0).all())
    assert from_callable(fn).increasing


@pytest.mark.parametrize(
    "fn",
    [
        nn.functional.hardtanh,  # flat beyond ±1
        lambda x: nn.functional.hardtanh(x, -10.0, 10.0),  # flat beyond ±10
        nn.functional.softshrink,  # flat on [-0.5, 0.5]
        lambda x: x.clamp(min=0.3),
        nn.functional.gelu,  # dips below zero
    ],
)
def test_genuine_flat_pieces_are_not_strictly_increasing(fn) -> None:
    assert not from_callable(fn).increasing


def test_unbounded_slowly_growing_functions() -> None:
    assert not get(lambda x: torch.log1p(x.abs())).bounded
    assert not get(lambda x: x.abs().sqrt()).bounded
    cube = get(lambda x: x**3)
    assert cube.odd and cube.increasing and not cube.bounded


def test_bad_user_callables_raise() -> None:
    with pytest.raises(ValueError, match="same shape"):
        get(lambda x: x.sum())
    with pytest.raises(ValueError, match="NaN or inf"):
        get(torch.log)
    with pytest.raises(ValueError, match="same shape"):
        get(lambda x: x.numpy())


def test_module_wraps_activation() -> None:
    act = get("sine", omega0=2.0)
    module = act.module()
    assert isinstance(module, ActivationModule) and isinstance(module, nn.Module)
    torch.testing.assert_close(module(CENTRAL), torch.sin(2.0 * CENTRAL))
    assert "sine(omega0=2)" in repr(module)
    assert list(module.parameters()) == []


def test_activation_is_frozen_record() -> None:
    act = get("tanh")
    assert isinstance(act, Activation)
    with pytest.raises(AttributeError):
        act.slope0 = 2.0  # type: ignore[misc]  # writing a frozen field, on purpose


# ---------------------------------------------------------------------------------------------
# Pickling (torch.save of whole models) and describe() round trips.


def _round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


def test_parametrised_and_scaled_activations_pickle() -> None:
    act = get("sine(omega0=5)").scaled(2)
    again = _round_trip(act)
    assert again == act and again.describe() == "sine(k=2, omega0=5)"
    torch.testing.assert_close(again(CENTRAL), act(CENTRAL), rtol=0, atol=0)
    torch.testing.assert_close(act(CENTRAL), torch.sin(5.0 * (2.0 * CENTRAL)), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_every_registry_activation_pickles_plain_and_scaled(name: str) -> None:
    for act in (get(name), get(name).scaled(0.3).scaled(7.0)):
        again = _round_trip(act)
        assert again == act
        torch.testing.assert_close(again(CENTRAL), act(CENTRAL), rtol=0, atol=0)


def test_torch_save_of_a_model_with_activation_modules() -> None:
    model = nn.Sequential(
        nn.Linear(1, 4),
        get("sine", omega0=3.0).module(),
        nn.Linear(4, 4),
        get("gaussian", k=2.0).module(),
        nn.Linear(4, 1),
        get("leaky_relu").module(),
    )
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    x = CENTRAL[::100, None].float()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert [m.activation for m in loaded if isinstance(m, ActivationModule)] == [
        m.activation for m in model if isinstance(m, ActivationModule)
    ]


@pytest.mark.parametrize(
    "act",
    [
        get("sine", omega0=30.123456789),
        get("gaussian", sigma=1e-7),
        get("leaky_relu", negative_slope=1 / 3),
        get("tanh").scaled(0.1).scaled(3.0),  # k = 0.30000000000000004
        get("sine", omega0=2.0**60),
    ],
    ids=["omega0", "tiny-sigma", "third", "composed-k", "huge"],
)
def test_describe_round_trips_exactly(act: Activation) -> None:
    rebuilt = get(act.describe())
    assert rebuilt == act and rebuilt.params == act.params
    torch.testing.assert_close(rebuilt(CENTRAL), act(CENTRAL), rtol=0, atol=0)


def test_describe_keeps_short_forms() -> None:
    assert get("sine(omega0=30.123456789)").describe() == "sine(omega0=30.123456789)"
    assert get("gaussian").describe() == "gaussian(sigma=0.1)"
    assert get("tanh", k=3.0).describe() == "tanh(k=3)"


@pytest.mark.parametrize(
    "func, args, kwargs, described",
    [
        (torch.relu, (), {}, "relu"),
        (torch.Tensor.relu, (), {}, "relu"),
        (nn.functional.relu, (), {"inplace": True}, "relu"),
        (nn.functional.gelu, (), {"approximate": "tanh"}, "gelu_tanh"),
        (nn.functional.gelu, (), {}, "gelu"),
        (nn.functional.leaky_relu, (None, 0.2), {}, "leaky_relu(negative_slope=0.2)"),
        (nn.functional.elu, (), {"alpha": 0.5}, "elu(alpha=0.5)"),
        (nn.functional.softplus, (None, 2.0), {}, "softplus(beta=2)"),
        (torch.sigmoid, (), {}, "sigmoid"),
        (torch.Tensor.tanh, (), {}, "tanh"),
        (nn.functional.silu, (), {}, "silu"),
        (torch.sin, (), {}, "sine(omega0=1)"),
    ],
)
def test_from_function_reads_the_call(func, args, kwargs, described):
    act = activations.from_function(func, args, kwargs)
    assert act.describe() == described
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    full = (x, *args[1:])
    assert torch.allclose(act(x), func(full[0].clone(), *full[1:], **kwargs))


def test_from_function_unknown_and_unusual_parameters():
    assert activations.from_function(torch.matmul) is None
    assert activations.from_function(torch.erf) is None  # not an activation when called in a model
    odd = activations.from_function(nn.functional.hardtanh, (None, -2.0, 3.0))
    assert odd.sup == pytest.approx(3.0) and odd.bounded
    assert set(activations.TORCH_FUNCTIONS) >= {torch.relu, nn.functional.gelu, torch.Tensor.sigmoid}
