"""The plan of init_: only=/skip=, what is left alone and why, warnings, norms, dry runs (issue 15)."""

import contextlib
import warnings
from collections.abc import Iterator

import pytest
import torch
from torch import nn
from zoo import ZOO

from specinit.initializers import InitPlan, InitWarning, init_, init_plan
from specinit.nn import models


class LoRALinear(nn.Linear):
    """A Linear with a low-rank update ``B A`` (LoRA, arXiv 2106.09685): extra parameters."""

    def __init__(self, d_in: int, d_out: int, rank: int = 2) -> None:
        super().__init__(d_in, d_out)
        self.lora_A = nn.Parameter(torch.full((rank, d_in), 0.5))
        self.lora_B = nn.Parameter(torch.zeros(d_out, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + x @ self.lora_A.T @ self.lora_B.T


class WithPositions(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.full((4, 8), 0.25))  # a free parameter on a container
        self.proj = nn.Linear(8, 8)


@contextlib.contextmanager
def warnings_as_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", InitWarning)
        yield


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_lora_extra_parameters_are_left_alone_and_warned() -> None:
    layer = LoRALinear(6, 5)
    a, b = layer.lora_A.detach().clone(), layer.lora_B.detach().clone()
    with pytest.warns(InitWarning, match="lora_A, lora_B"):
        init_(layer, "xavier_normal", generator=0)
    assert torch.equal(layer.lora_A, a) and torch.equal(layer.lora_B, b)
    assert bool((layer.bias == 0).all())  # the Linear part is initialized
    plan = init_plan(layer, "xavier_normal")
    assert plan.names("left alone") == ["lora_A", "lora_B"]
    assert plan.row("lora_A").reason == "not in the LoRALinear rule"


def test_free_parameter_and_unknown_layers_are_left_alone_with_a_warning() -> None:
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(3))

    net = WithPositions()
    net.scale = Scale()
    with pytest.warns(InitWarning, match=r"left alone \(no layer rule names them\): pos, scale.gamma"):
        init_(net, "kaiming_normal", generator=0)
    assert bool((net.pos == 0.25).all()) and bool((net.scale.gamma == 1).all())
    plan = init_plan(net, "kaiming_normal")
    assert plan.row("scale.gamma").reason == "no layer rule for Scale"
    assert "warning: left alone" in plan.table()
    # skipping them silences the warning
    with warnings_as_errors():
        init_(net, "kaiming_normal", skip=["pos", "scale"], generator=0)


def test_norms_and_running_statistics_are_kept_by_default() -> None:
    model, x, _ = ZOO["residual_cnn"]()
    model.train()
    model(x)  # moves the running statistics
    with torch.no_grad():
        model.stem[1].weight.fill_(3.0)
    stats = model.stem[1].running_mean.clone()
    assert not bool((stats == 0).all())
    init_(model, "kaiming_normal", generator=0)
    assert torch.equal(model.stem[1].running_mean, stats)
    assert bool((model.stem[1].weight == 3.0).all())
    init_(model, "kaiming_normal", norms="reset", generator=0)
    assert bool((model.stem[1].running_mean == 0).all()) and bool((model.stem[1].weight == 1).all())


def test_layernorm_weight_the_user_set_is_untouched() -> None:
    model, _, _ = ZOO["transformer_encoder"]()
    with torch.no_grad():
        model.norm.weight.fill_(0.5)
    init_(model, "xavier_normal", generator=0)
    assert bool((model.norm.weight == 0.5).all())
    assert init_plan(model, "xavier_normal").row("norm.weight").action == "kept"


@pytest.mark.parametrize("name", list(ZOO))
def test_dry_run_touches_nothing(name) -> None:
    model, _, _ = ZOO[name]()
    before = _state(model)
    rng = torch.random.get_rng_state()
    plan = init_(model, "kaiming_normal", norms="reset", dry_run=True)
    assert isinstance(plan, InitPlan) and plan.names("initialized")
    assert torch.equal(torch.random.get_rng_state(), rng)
    for key, value in _state(model).items():
        assert torch.equal(value, before[key]), key


def test_only_and_skip_select_by_glob_type_and_predicate() -> None:
    model, _, _ = ZOO["transformer_encoder"]()
    before = _state(model)
    init_(model, "xavier_normal", only="encoder.layers.0", generator=0)
    after = _state(model)
    assert not torch.equal(
        after["encoder.layers.0.linear1.weight"], before["encoder.layers.0.linear1.weight"]
    )
    for key in ("encoder.layers.1.linear1.weight", "head.weight", "embed.weight"):
        assert torch.equal(after[key], before[key]), key
    plan = init_plan(model, "xavier_normal", skip=[nn.MultiheadAttention, "head.*"])
    assert plan.row("encoder.layers.0.self_attn.in_proj_weight").reason == "skip=MultiheadAttention"
    assert plan.row("encoder.layers.0.self_attn.out_proj.weight").action == "skipped"  # the subtree
    assert plan.row("head.bias").reason == "skip='head.*'"
    assert plan.row("encoder.layers.0.linear2.weight").action == "initialized"
    plan = init_plan(model, "xavier_normal", only=lambda name, m: isinstance(m, nn.Embedding))
    assert [r.tensor for r in plan.rows if r.action == "initialized"] == ["embed.weight"]
    assert plan.row("head.weight").reason == "not in only="


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"only": "decoder.*"}, "only='decoder.*' matches no module or tensor"),
        ({"skip": nn.LSTM}, "skip=LSTM matches no module"),
        ({"only": "head", "skip": "head"}, "'head' is in both only= and skip="),
        ({"only": "norm"}, "leave no weight to initialize"),
        ({"only": 3}, "globs, module types or predicates"),
        ({"norms": "drop"}, "norms must be one of"),
        ({"recurrent": "identity"}, "recurrent must be one of"),
    ],
)
def test_selection_errors(kwargs, match) -> None:
    model, _, _ = ZOO["transformer_encoder"]()
    before = _state(model)
    with pytest.raises((ValueError, TypeError), match=match):
        init_(model, "xavier_normal", generator=0, **kwargs)
    assert all(torch.equal(v, before[k]) for k, v in _state(model).items())


def test_methods_warn_when_the_model_computes_another_activation() -> None:
    relu = models.mlp(2, [8, 8], 1, "relu")
    with pytest.warns(
        InitWarning, match="'odd_sigmoid' assumes odd_sigmoid activations, but the model computes relu"
    ):
        init_(relu, "odd_sigmoid", activation="tanh", generator=0)
    with pytest.warns(InitWarning, match="'siren' assumes sine"):
        init_(relu, "siren", generator=0)
    assert init_plan(relu, "siren").warnings and not init_plan(relu, "kaiming_normal").warnings
    with warnings_as_errors():
        init_(models.mlp(2, [8], 1, "tanh"), "odd_sigmoid", generator=0)  # tanh is an odd sigmoid
        init_(models.mlp(2, [8], 1, "sine"), "siren", generator=0)


def test_activation_functions_stored_on_modules_are_seen() -> None:
    # nn.TransformerEncoderLayer keeps F.relu (a function, not a module) as .activation
    model, _, _ = ZOO["transformer_encoder"]()
    with pytest.warns(InitWarning, match=r"computes relu \(layer 'encoder.layers.0.activation'\)"):
        init_(model, "odd_sigmoid", activation="tanh", generator=0)
    gelu = nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", batch_first=True)
    assert "computes gelu" in init_plan(gelu, "siren").warnings[0]


def test_tied_tensors_are_initialized_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.embed.weight

    model = Tied()
    plan = init_plan(model, "xavier_normal")
    assert plan.row("embed.weight").action == "initialized"
    assert (plan.row("out.weight").action, plan.row("out.weight").reason) == ("kept", "tied to embed.weight")


def test_model_methods_take_no_layer_options() -> None:
    net = models.mlp(1, [8], 1, "relu")
    with pytest.raises(ValueError, match="initializes the whole model: only="):
        init_(net, "shallow", only="0")
    with pytest.raises(ValueError, match="no per-layer plan"):
        init_plan(net, "shallow")
