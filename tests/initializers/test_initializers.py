"""Tests for specinit.initializers.classic and the init_ dispatcher in registry.

Distributions are checked with Kolmogorov–Smirnov tests against the law each docstring states
(fixed seeds, so the p-values are deterministic), structure exactly (orthogonality, bounds,
gain scaling), and every error path by its message.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from torch import nn

from specinit._core.rng import as_generator
from specinit.initializers.classic import (
    gaussian_small_,
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    orthogonal_,
    siren_,
    trunc_normal_,
    truncated_variance,
    variance_scaled_trunc_normal_,
    xavier_normal_,
    xavier_uniform_,
)
from specinit.initializers.plan import InitWarning
from specinit.initializers.registry import (
    fan_in_out,
    init_,
    methods,
    register_layer_method,
    supported_layers,
)

OUT, IN = 400, 500  # fan_in = 500, fan_out = 400: fan_in and fan_out laws differ
P_MIN = 1e-3


def _weight(seed: int, fn, *args, shape=(OUT, IN), **kwargs) -> np.ndarray:
    return fn(torch.empty(shape), *args, generator=seed, **kwargs).flatten().numpy()


def _uniform(bound: float):
    return st.uniform(loc=-bound, scale=2 * bound)


def _normal(std: float):
    return st.norm(scale=std)


def _truncnorm(std: float, bound: float):
    sigma0 = std / st.truncnorm(-bound, bound).std()
    return st.truncnorm(-bound, bound, scale=sigma0)


# (function, kwargs, shape, law the docstring states)
LAWS = {
    "xavier_uniform": (xavier_uniform_, {"gain": 1.5}, None, _uniform(1.5 * math.sqrt(6 / 900))),
    "xavier_normal": (xavier_normal_, {"gain": 1.5}, None, _normal(1.5 * math.sqrt(2 / 900))),
    "kaiming_uniform": (kaiming_uniform_, {}, None, _uniform(math.sqrt(2) * math.sqrt(3 / 500))),
    "kaiming_uniform_fan_out": (
        # leaky ReLU gain √(2/(1 + a²)) = 0.5 at a = √7
        kaiming_uniform_,
        {"a": math.sqrt(7), "mode": "fan_out"},
        None,
        _uniform(0.5 * math.sqrt(3 / 400)),
    ),
    "kaiming_normal": (kaiming_normal_, {}, None, _normal(math.sqrt(2 / 500))),
    "kaiming_normal_fan_out": (kaiming_normal_, {"mode": "fan_out"}, None, _normal(math.sqrt(2 / 400))),
    "kaiming_normal_conv": (kaiming_normal_, {}, (64, 32, 3, 3), _normal(math.sqrt(2 / 288))),
    "lecun_uniform": (lecun_uniform_, {}, None, _uniform(math.sqrt(3 / 500))),
    "lecun_normal": (lecun_normal_, {}, None, _normal(math.sqrt(1 / 500))),
    "variance_scaled_trunc_normal": (
        variance_scaled_trunc_normal_,
        {},
        None,
        _truncnorm(1 / math.sqrt(500), 2.0),
    ),
    "variance_scaled_trunc_normal_narrow": (
        variance_scaled_trunc_normal_,
        {"std": 0.1, "bound": 1.0},
        None,
        _truncnorm(0.1, 1.0),
    ),
    # torch.nn.init.trunc_normal_'s law: N(mean, std²) cut at the absolute a, b
    "trunc_normal": (
        trunc_normal_,
        {"mean": 0.1, "std": 0.5, "a": -0.5, "b": 1.0},
        None,
        st.truncnorm((-0.5 - 0.1) / 0.5, (1.0 - 0.1) / 0.5, loc=0.1, scale=0.5),
    ),
    "siren_first": (siren_, {"first": True}, None, _uniform(1 / 500)),
    "siren_hidden": (siren_, {}, None, _uniform(math.sqrt(6 / 500) / 30)),
    "siren_hidden_omega5": (siren_, {"omega0": 5.0}, None, _uniform(math.sqrt(6 / 500) / 5)),
    "gaussian_small": (gaussian_small_, {"sigma": 0.1}, None, _normal(0.2 / math.sqrt(500))),
    "gaussian_small_alpha": (
        gaussian_small_,
        {"sigma": 0.5, "alpha": 0.5},
        None,
        _normal(0.25 / math.sqrt(500)),
    ),
}


@pytest.mark.parametrize("case", sorted(LAWS))
def test_samples_follow_stated_law(case: str) -> None:
    fn, kwargs, shape, law = LAWS[case]
    sample = _weight(7, fn, shape=shape or (OUT, IN), **kwargs)
    assert st.kstest(sample, law.cdf).pvalue > P_MIN


@pytest.mark.parametrize(
    "fn, kwargs, wrong_law",
    [
        # Same variance, wrong family.
        (xavier_normal_, {}, _uniform(math.sqrt(3) * math.sqrt(2 / 900))),
        # fan_in vs fan_out: a 12% scale error must be caught.
        (kaiming_normal_, {}, _normal(math.sqrt(2 / 400))),
        # Untruncated normal of the same variance.
        (variance_scaled_trunc_normal_, {}, _normal(1 / math.sqrt(500))),
        # Truncated but without the variance correction (σ0 = std).
        (variance_scaled_trunc_normal_, {}, st.truncnorm(-2, 2, scale=1 / math.sqrt(500))),
        # torch's law has no variance correction: its std is that of the parent normal.
        (
            trunc_normal_,
            {"std": 1 / math.sqrt(500), "a": -2 / math.sqrt(500), "b": 2 / math.sqrt(500)},
            _truncnorm(1 / math.sqrt(500), 2.0),
        ),
    ],
)
def test_ks_rejects_wrong_law(fn, kwargs, wrong_law) -> None:
    assert st.kstest(_weight(7, fn, **kwargs), wrong_law.cdf).pvalue < 1e-6


def test_truncated_variance_matches_scipy() -> None:
    for b in (0.5, 1.0, 2.0, 3.0):
        assert truncated_variance(b) == pytest.approx(st.truncnorm(-b, b).var(), rel=1e-12)
    assert truncated_variance(2.0) == pytest.approx(0.87962566103423978**2, rel=1e-12)


@pytest.mark.parametrize("std, bound", [(None, 2.0), (0.05, 1.0), (2.0, 3.0)])
def test_variance_scaled_trunc_normal_has_target_std_and_respects_bound(std, bound) -> None:
    w = variance_scaled_trunc_normal_(torch.empty(OUT, IN, dtype=torch.float64), std, bound, generator=3)
    target = std if std is not None else 1 / math.sqrt(IN)
    cut = bound * target / math.sqrt(truncated_variance(bound))
    assert float(w.std()) == pytest.approx(target, rel=0.01)
    assert float(w.mean()) == pytest.approx(0.0, abs=0.01 * target)
    assert float(w.abs().max()) <= cut
    assert float(w.abs().max()) > 0.999 * cut


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (40, 40), (16, 4, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_is_semi_orthogonal(shape, gain) -> None:
    w = orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain, generator=1)
    m = w.reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    torch.testing.assert_close(gram, gain**2 * torch.eye(min(rows, cols), dtype=torch.float64))


def test_orthogonal_float32_is_orthogonal_to_float32_precision() -> None:
    w = orthogonal_(torch.empty(64, 128), generator=0)
    torch.testing.assert_close(w @ w.T, torch.eye(64), atol=1e-5, rtol=0)


def test_orthogonal_is_haar_distributed() -> None:
    # For a Haar n×n orthogonal matrix each entry has law 2·Beta((n-1)/2, (n-1)/2) - 1;
    # a QR factor without the sign correction is not Haar and must fail the same test.
    n = 6
    law = st.beta((n - 1) / 2, (n - 1) / 2, loc=-1, scale=2)
    ours = [float(orthogonal_(torch.empty(n, n), generator=s)[-1, -1]) for s in range(400)]
    gaussians = [torch.randn(n, n, generator=torch.Generator().manual_seed(s)) for s in range(400)]
    raw = [float(torch.linalg.qr(a)[0][-1, -1]) for a in gaussians]
    assert st.kstest(ours, law.cdf).pvalue > P_MIN
    assert st.kstest(raw, law.cdf).pvalue < 1e-6


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        (xavier_uniform_, {}),
        (xavier_normal_, {}),
        (orthogonal_, {}),
    ],
)
def test_gain_scales_weights_exactly(fn, kwargs) -> None:
    base = fn(torch.empty(20, 30), gain=1.0, generator=5, **kwargs)
    scaled = fn(torch.empty(20, 30), gain=3.0, generator=5, **kwargs)
    torch.testing.assert_close(scaled, 3.0 * base)


@pytest.mark.parametrize("fn, kwargs", [(kaiming_uniform_, {"mode": "fan_out"}), (kaiming_normal_, {})])
def test_kaiming_gain_follows_torch_calculate_gain(fn, kwargs) -> None:
    base = fn(torch.empty(20, 30), nonlinearity="linear", generator=5, **kwargs)
    for change, gain in (
        ({"nonlinearity": "relu"}, math.sqrt(2)),
        ({}, math.sqrt(2)),
        ({"a": 0.2}, math.sqrt(2 / 1.04)),
        ({"nonlinearity": "tanh"}, 5 / 3),
    ):
        scaled = fn(torch.empty(20, 30), generator=5, **kwargs, **change)
        torch.testing.assert_close(scaled, gain * base)


def test_kaiming_signature_is_torchs() -> None:
    import inspect

    def names(f):
        return [p for p in inspect.signature(f).parameters if not p.startswith("_")]

    for ours, theirs in (
        (kaiming_uniform_, nn.init.kaiming_uniform_),
        (kaiming_normal_, nn.init.kaiming_normal_),
        (trunc_normal_, nn.init.trunc_normal_),
    ):
        assert names(ours) == names(theirs)


def test_deprecated_gain_and_bound_still_work_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"kaiming_normal_\(gain=...\) is deprecated"):
        old = kaiming_normal_(torch.empty(20, 30), gain=0.5, generator=2)
    new = kaiming_normal_(torch.empty(20, 30), a=math.sqrt(7), generator=2)  # gain 0.5
    torch.testing.assert_close(old, new)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="gain must be"):
        kaiming_normal_(torch.empty(3, 5), gain=-1.0)
    with pytest.warns(DeprecationWarning, match="variance_scaled_trunc_normal_"):
        old = trunc_normal_(torch.empty(20, 30), std=0.1, bound=1.0, generator=2)
    torch.testing.assert_close(old, variance_scaled_trunc_normal_(torch.empty(20, 30), 0.1, 1.0, generator=2))
    net = _mlp((500, 400, 1))
    with pytest.warns(DeprecationWarning, match="gain"):
        init_(net, "kaiming_uniform", gain=0.5, mode="fan_out", generator=0)
    sample = net[0].weight.detach().flatten().numpy()
    assert st.kstest(sample, _uniform(0.5 * math.sqrt(3 / 400)).cdf).pvalue > P_MIN
    with pytest.warns(DeprecationWarning, match="trunc_normal"):
        init_(net, "trunc_normal", generator=0)  # no std: this release keeps the old law
    sample = net[0].weight.detach().flatten().numpy()
    assert st.kstest(sample, _truncnorm(1 / math.sqrt(500), 2.0).cdf).pvalue > P_MIN


def test_lecun_is_kaiming_with_unit_gain() -> None:
    torch.testing.assert_close(
        lecun_normal_(torch.empty(20, 30), generator=2),
        kaiming_normal_(torch.empty(20, 30), nonlinearity="linear", generator=2),
    )


def test_siren_bounds_first_vs_hidden() -> None:
    first = siren_(torch.empty(256, 2), first=True, generator=0)
    hidden = siren_(torch.empty(256, 256), omega0=30.0, generator=0)
    assert float(first.abs().max()) <= 1 / 2
    assert float(first.abs().max()) > 0.99 / 2
    bound = math.sqrt(6 / 256) / 30
    assert float(hidden.abs().max()) <= bound
    assert float(hidden.abs().max()) > 0.99 * bound


ALL_FUNCTIONS = [
    (xavier_uniform_, {}),
    (xavier_normal_, {}),
    (kaiming_uniform_, {}),
    (kaiming_normal_, {}),
    (lecun_uniform_, {}),
    (lecun_normal_, {}),
    (orthogonal_, {}),
    (trunc_normal_, {}),
    (variance_scaled_trunc_normal_, {}),
    (siren_, {}),
    (siren_, {"first": True}),
    (gaussian_small_, {"sigma": 0.1}),
]
FN_IDS = [f"{fn.__name__}{'-' + '-'.join(kw) if kw else ''}" for fn, kw in ALL_FUNCTIONS]


@pytest.mark.parametrize("fn, kwargs", ALL_FUNCTIONS, ids=FN_IDS)
def test_seeding_is_deterministic_and_leaves_global_rng_alone(fn, kwargs) -> None:
    state = torch.get_rng_state()
    a = fn(torch.empty(8, 12), generator=11, **kwargs)
    b = fn(torch.empty(8, 12), generator=torch.Generator().manual_seed(11), **kwargs)
    c = fn(torch.empty(8, 12), generator=12, **kwargs)
    d = fn(torch.empty(8, 12), generator=np.int64(11), **kwargs)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b) and torch.equal(a, d)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("fn, kwargs", ALL_FUNCTIONS, ids=FN_IDS)
def test_mutates_only_the_tensor_in_place(fn, kwargs) -> None:
    big = torch.zeros(8, 20)
    weight = nn.Parameter(torch.zeros(8, 12))
    assert fn(weight, generator=0, **kwargs) is weight
    assert weight.requires_grad and weight.grad is None and bool((weight != 0).all())
    view = big[:, :12]  # a non-contiguous view: only it changes
    fn(view, generator=0, **kwargs)
    torch.testing.assert_close(view, weight.detach())
    assert bool((big[:, 12:] == 0).all())


def test_half_precision_gets_the_rounded_float32_draw() -> None:
    half = xavier_normal_(torch.empty(10, 10, dtype=torch.float16), generator=4)
    single = xavier_normal_(torch.empty(10, 10), generator=4)
    assert torch.equal(half, single.half())


def test_global_rng_is_used_only_without_generator() -> None:
    torch.manual_seed(0)
    a = xavier_normal_(torch.empty(5, 5))
    torch.manual_seed(0)
    b = xavier_normal_(torch.empty(5, 5))
    assert torch.equal(a, b)


def test_no_fan_needed_for_explicit_trunc_std() -> None:
    assert float(trunc_normal_(torch.empty(1000), std=0.5, generator=0).std()) == pytest.approx(0.5, rel=0.1)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: xavier_normal_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: kaiming_uniform_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: orthogonal_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: siren_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: variance_scaled_trunc_normal_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: xavier_uniform_(torch.empty(0, 5)), ValueError, "zero fan-in or fan-out"),
        (lambda: xavier_uniform_(torch.empty(3, 5), gain=0.0), ValueError, "gain must be"),
        (lambda: kaiming_normal_(torch.empty(3, 5), nonlinearity="selu_x"), ValueError, "nonlinearity"),
        (lambda: orthogonal_(torch.empty(3, 5), gain=math.nan), ValueError, "gain must be"),
        (lambda: kaiming_normal_(torch.empty(3, 5), mode="fan_avg"), ValueError, "mode must be"),
        (lambda: trunc_normal_(torch.empty(3, 5), std=0.0), ValueError, "std must be"),
        (lambda: trunc_normal_(torch.empty(3, 5), a=1.0, b=-1.0), ValueError, "a < b"),
        (lambda: variance_scaled_trunc_normal_(torch.empty(3, 5), bound=-1.0), ValueError, "bound must be"),
        (
            lambda: variance_scaled_trunc_normal_(torch.empty(3, 5), bound=math.inf),
            ValueError,
            "bound must be",
        ),
        (lambda: gaussian_small_(torch.empty(3, 5), sigma=-0.1), ValueError, "sigma must be"),
        (lambda: gaussian_small_(torch.empty(3, 5), sigma=0.1, alpha=0.0), ValueError, "alpha must be"),
        (lambda: gaussian_small_(torch.empty(5), sigma=0.1), ValueError, "at least 2 dimensions"),
        (lambda: siren_(torch.empty(3, 5), omega0=0.0), ValueError, "omega0 must be"),
        (lambda: xavier_normal_(torch.empty(3, 5, dtype=torch.int64)), TypeError, "floating point"),
        (lambda: lecun_normal_([[1.0, 2.0]]), TypeError, "torch.Tensor"),
        (lambda: xavier_normal_(torch.empty(3, 5), generator="0"), TypeError, "generator must be"),
        (lambda: xavier_normal_(torch.empty(3, 5), generator=True), TypeError, "generator must be"),
    ],
)
def test_bad_input_raises_clear_error(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_bad_input_leaves_tensor_untouched() -> None:
    w = torch.zeros(3, 5)
    with pytest.raises(ValueError):
        kaiming_normal_(w, mode="fan_avg", generator=0)
    assert bool((w == 0).all())


# ---------------------------------------------------------------------------------------------
# The init_ dispatcher on whole models (built with plain torch.nn).


def _mlp(widths=(3, 64, 64, 1)) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def _linears(net: nn.Module) -> list[nn.Linear]:
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def test_registered_names() -> None:
    expected = {
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "he_uniform",
        "he_normal",
        "lecun_uniform",
        "lecun_normal",
        "orthogonal",
        "trunc_normal",
        "siren",
        "gaussian_small",
        "default",
    }
    assert expected <= set(methods())
    assert all(methods()[name] for name in expected)  # each has a one-line summary


def test_init_mlp_with_xavier_zero_biases_and_law() -> None:
    net = _mlp()
    state = torch.get_rng_state()
    assert init_(net, "xavier_normal", generator=0) is net
    assert torch.equal(torch.get_rng_state(), state)
    first, hidden, last = _linears(net)
    for layer in (first, hidden, last):
        assert bool((layer.bias == 0).all())
    sample = hidden.weight.detach().flatten().numpy()
    assert st.kstest(sample, _normal(math.sqrt(2 / 128)).cdf).pvalue > P_MIN
    assert st.kstest(sample, _normal(math.sqrt(2 / 64)).cdf).pvalue < 1e-6


def test_init_is_seeded_and_layers_differ() -> None:
    a, b, c = _mlp((3, 32, 32, 32, 1)), _mlp((3, 32, 32, 32, 1)), _mlp((3, 32, 32, 32, 1))
    init_(a, "kaiming_normal", generator=3)
    init_(b, "kaiming_normal", generator=torch.Generator().manual_seed(3))
    init_(c, "kaiming_normal", generator=4)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb)
        assert pa.dim() == 1 or not torch.equal(pa, pc)
    hidden = _linears(a)[1:3]
    assert not torch.equal(hidden[0].weight, hidden[1].weight)


def test_init_options_reach_the_function() -> None:
    net = _mlp((500, 400, 1))
    init_(net, "kaiming_uniform", a=math.sqrt(7), mode="fan_out", generator=0)  # gain 0.5
    sample = net[0].weight.detach().flatten().numpy()
    assert st.kstest(sample, _uniform(0.5 * math.sqrt(3 / 400)).cdf).pvalue > P_MIN


def test_he_aliases_match_kaiming() -> None:
    for alias, name in (("he_uniform", "kaiming_uniform"), ("he_normal", "kaiming_normal")):
        a, b = _mlp(), _mlp()
        init_(a, alias, generator=9)
        init_(b, name, generator=9)
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(pa, pb)


def test_bias_rules() -> None:
    net = _mlp((500, 400, 1))
    init_(net, "lecun_normal", bias="uniform", generator=0)
    bias = net[0].bias.detach().numpy()
    assert st.kstest(bias, _uniform(1 / math.sqrt(500)).cdf).pvalue > P_MIN
    init_(net, "lecun_normal", bias=0.25, generator=0)
    assert bool((net[0].bias == 0.25).all()) and bool((net[2].bias == 0.25).all())


def test_bad_bias_rule_fails_before_touching_weights() -> None:
    net = _mlp()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match="bias rule must be"):
        init_(net, "xavier_normal", bias="ones", generator=0)
    with pytest.raises(ValueError, match="bias rule must be"):
        init_(net, "xavier_normal", bias=math.nan, generator=0)
    for p, q in zip(net.parameters(), before, strict=True):
        assert torch.equal(p, q)


def test_default_matches_pytorch_reset_parameters_law() -> None:
    net = _mlp((500, 400, 1))
    init_(net, "default", generator=0)
    law = _uniform(1 / math.sqrt(500)).cdf
    assert st.kstest(net[0].weight.detach().flatten().numpy(), law).pvalue > P_MIN
    assert st.kstest(net[0].bias.detach().numpy(), law).pvalue > P_MIN
    # PyTorch's own reset_parameters draws from the same law.
    torch.manual_seed(0)
    reference = nn.Linear(500, 400).weight.detach().flatten().numpy()
    assert st.kstest(reference, law).pvalue > P_MIN


def test_siren_through_init_first_layer_differs() -> None:
    net = _mlp((2, 256, 256, 1))
    with pytest.warns(InitWarning, match="'siren' assumes sine activations, but the model computes tanh"):
        init_(net, "siren", omega0=10.0, generator=0)
    first, hidden, _ = _linears(net)
    w_first, w_hidden = first.weight.detach(), hidden.weight.detach()
    b_hidden = hidden.bias.detach()
    assert float(w_first.abs().max()) <= 1 / 2
    assert float(w_first.abs().max()) > 0.99 / 2
    bound = math.sqrt(6 / 256) / 10
    assert float(w_hidden.abs().max()) <= bound
    assert float(w_hidden.abs().max()) > 0.99 * bound
    # SIREN keeps PyTorch's uniform bias by default.
    assert float(b_hidden.abs().max()) <= 1 / math.sqrt(256)
    assert not bool((b_hidden == 0).all())
    with pytest.warns(InitWarning):
        init_(net, "siren", bias="zeros", generator=0)
    assert bool((hidden.bias == 0).all())


def test_conv2d_uses_kernel_fan_in() -> None:
    net = nn.Sequential(nn.Conv2d(3, 64, 5), nn.ReLU(), nn.Flatten(), nn.Linear(64 * 4, 10))
    assert fan_in_out(net[0].weight) == (75, 64 * 25)
    init_(net, "kaiming_normal", generator=0)
    sample = net[0].weight.detach().flatten().numpy()
    assert st.kstest(sample, _normal(math.sqrt(2 / 75)).cdf).pvalue > P_MIN
    assert st.kstest(sample, _normal(math.sqrt(2 / 3)).cdf).pvalue < 1e-6  # fan_in ≠ channels
    assert net(torch.zeros(2, 3, 6, 6)).shape == (2, 10)


def test_norm_layers_are_reset_on_request() -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for norm in (net[1], net[2]):
            norm.weight.fill_(5.0)
            norm.bias.fill_(-3.0)
        net[1].running_mean.fill_(2.0)
    init_(net, "xavier_uniform", norms="reset", generator=0)
    for norm in (net[1], net[2]):
        assert bool((norm.weight == 1).all()) and bool((norm.bias == 0).all())
    assert bool((net[1].running_mean == 0).all())


def test_a_model_without_weights_is_an_error() -> None:
    net = nn.Sequential(nn.ReLU(), nn.Dropout(), nn.LayerNorm(3))
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(TypeError, match="no supported layers"):
        init_(net, "xavier_normal", generator=0)
    for p, q in zip(net.parameters(), before, strict=True):
        assert torch.equal(p, q)


def test_supported_layers_order_and_names() -> None:
    net = _mlp()
    assert [name for name, _ in supported_layers(net)] == ["0", "2", "4"]
    assert [name for name, _ in supported_layers(nn.Linear(2, 3))] == ["Linear"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "nope"}, ValueError, "unknown initialization method 'nope'"),
        ({"method": "xavier_normal", "mode": "fan_in"}, TypeError, "takes no option"),
        ({"method": "lecun_normal", "gain": 2.0}, TypeError, "takes no option"),
        ({"method": "siren", "first": True}, TypeError, "takes no option"),
        ({"method": "default", "gain": 1.0}, TypeError, "takes no option"),
        ({"method": "gaussian_small"}, TypeError, "needs option.*sigma"),
        ({"method": "xavier_normal", "data": torch.zeros(3, 3)}, ValueError, "does not use data"),
        ({"method": "xavier_normal", "targets": torch.zeros(3)}, ValueError, "does not use data"),
        ({"method": "xavier_normal", "generator": 1.5}, TypeError, "generator must be"),
        ({"method": "kaiming_normal", "mode": "avg"}, ValueError, "mode must be"),
    ],
)
def test_init_errors(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        init_(_mlp(), **kwargs)


def test_gaussian_small_through_init() -> None:
    net = _mlp((400, 500, 1))
    with pytest.warns(InitWarning, match="assumes gaussian"):  # a tanh net
        init_(net, "gaussian_small", sigma=0.1, generator=0)
    sample = net[0].weight.detach().flatten().numpy()
    assert st.kstest(sample, _normal(0.2 / math.sqrt(400)).cdf).pvalue > P_MIN


def test_duplicate_registration_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_layer_method("xavier_normal")(xavier_normal_)
    with pytest.raises(ValueError, match="bias rule"):
        register_layer_method("never_registered", bias="ones")(xavier_normal_)
    assert "never_registered" not in methods()


def test_as_generator() -> None:
    gen = torch.Generator()
    assert as_generator(gen) is gen
    assert as_generator(None) is None
    assert torch.equal(
        torch.rand(3, generator=as_generator(5)), torch.rand(3, generator=as_generator(np.int32(5)))
    )


def test_options_default_to_the_models_activation() -> None:
    from specinit.nn.models import coordinate_mlp

    sine = coordinate_mlp(1, 256, 2, 1, "sine(omega0=5)")
    init_(sine, "siren", generator=0)
    bound = math.sqrt(6 / 256) / 5
    hidden = sine.net[2].weight.detach()
    assert float(hidden.abs().max()) <= bound and float(hidden.abs().max()) > 0.95 * bound
    with pytest.raises(ValueError, match="contradicts the model's activation"):
        init_(sine, "siren", omega0=30.0)
    gauss = coordinate_mlp(1, 400, 2, 1, "gaussian(sigma=0.2)")
    init_(gauss, "gaussian_small", generator=0)  # sigma taken from the model
    sample = gauss.net[2].weight.detach().flatten().numpy()
    assert st.kstest(sample, _normal(2 * 0.2 / math.sqrt(400)).cdf).pvalue > P_MIN
