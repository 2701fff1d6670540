"""The one walk over a model's layers and the one map from torch modules to activations."""

import math

import pytest
import torch
from torch import nn

from specinit.nn import activations, models
from specinit.nn.activations import TORCH_ACTIVATIONS, from_module, is_activation
from specinit.nn.layers import (
    activation_layers,
    chosen_layers,
    init_layers,
    mlp_chain,
    norm_layers,
    walk,
    weight_layers,
)

GRID = torch.linspace(-6.0, 6.0, 1201, dtype=torch.float64)


@pytest.mark.parametrize(
    "module",
    [cls() for cls in TORCH_ACTIVATIONS if cls not in (nn.PReLU, nn.RReLU)]
    + [
        nn.PReLU(init=0.2),
        nn.RReLU(0.1, 0.3),
        nn.LeakyReLU(0.2),
        nn.ELU(0.5),
        nn.CELU(2.0),
        nn.Softplus(beta=2.0),
        nn.GELU(approximate="tanh"),
        nn.Hardtanh(-2.0, 3.0),
        nn.Softshrink(0.3),
        nn.Hardshrink(0.7),
    ],
    ids=lambda m: repr(m),
)
def test_every_torch_activation_maps_to_the_function_it_computes(module):
    act = from_module(module.double().eval())
    assert act is not None and is_activation(module)
    torch.testing.assert_close(act(GRID), module(GRID).detach())


def test_properties_come_from_the_registry():
    assert from_module(nn.Tanh()).is_odd_sigmoid and not from_module(nn.ReLU()).bounded
    assert from_module(nn.ReLU6()).sup == 6.0 and from_module(nn.Hardsigmoid()).slope0 == pytest.approx(1 / 6)
    assert from_module(nn.Hardtanh(-2.0, 3.0)).sup == pytest.approx(3.0, rel=1e-3)  # measured
    specinit_module = activations.get("sine", omega0=3.0).module()
    assert from_module(specinit_module) is specinit_module.activation
    assert from_module(nn.Linear(2, 2)) is None and not is_activation(nn.Dropout())


def test_walk_classifies_every_module_once():
    net = models.vgg_small(1, 10, widths=(4,), image_size=4)
    kinds = {name: kind for name, _, kind in walk(net)}
    assert kinds[""] == "container" and kinds["features.0"] == "weight"
    assert kinds["features.1"] == "norm" and kinds["features.2"] == "activation"
    assert kinds["features.6"] == "other"  # MaxPool2d: no parameters, not an activation
    assert [n for n, _ in weight_layers(net)] == ["features.0", "features.3", "classifier.1"]
    assert len(norm_layers(net)) == 2 and len(activation_layers(net)) == 2


def test_init_layers_refuse_unknown_parameterized_modules():
    with pytest.raises(TypeError, match=r"layer '1' \(LSTM\) has parameters but is not supported"):
        init_layers(nn.Sequential(nn.Linear(2, 2), nn.LSTM(2, 2)))
    with pytest.raises(TypeError, match="no supported layers"):
        init_layers(nn.Sequential(nn.ReLU()))


def test_chosen_layers_default_and_explicit():
    net = nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1), nn.Tanh())
    assert chosen_layers(net, None) == [net[1], net[3]]
    assert chosen_layers(net, [net[3], net[3]]) == [net[3]]
    with pytest.raises(ValueError, match="not a submodule of model: Tanh never ran"):
        chosen_layers(net, [nn.Tanh()])


def test_mlp_chain_accepts_specinit_and_torch_activations():
    linears, act = mlp_chain(models.mlp(3, [8, 8], 2, "erf"))
    assert len(linears) == 3 and act.name == "erf"
    linears, act = mlp_chain(nn.Sequential(nn.Linear(3, 8), nn.SiLU(), nn.Linear(8, 1)))
    assert act.name == "silu" and math.isclose(act.slope0, 0.5)
    assert mlp_chain(nn.Sequential(nn.Linear(3, 1)))[1] is None
    with pytest.raises(TypeError, match="mlp_chain needs every hidden layer to use the same activation"):
        mlp_chain(nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)))
