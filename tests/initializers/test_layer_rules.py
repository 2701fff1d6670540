"""init_ on models nobody here wrote: layer rules with the right fans, blocks and layouts (issue 15)."""

import math
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations
from zoo import ZOO

import specinit
from specinit.initializers import (
    BiasRule,
    InitPlan,
    InitWarning,
    LayerRule,
    WeightRule,
    init_,
    init_plan,
    layer_rule,
    register_layer_type,
)
from specinit.initializers.layer_rules import block_shape, canonical_shape, to_stored

METHODS = [
    ("xavier_normal", {}),
    ("kaiming_normal", {}),
    ("odd_sigmoid", {"activation": "tanh"}),  # arXiv 2509.23085
    ("orthogonal", {}),
]


def _std_close(t: torch.Tensor, std: float, rel: float) -> bool:
    return abs(float(t.detach().double().std()) / std - 1) < rel


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", list(ZOO))
@pytest.mark.parametrize("method, options", METHODS, ids=[m for m, _ in METHODS])
def test_every_zoo_model_initializes_deterministically(name, method, options) -> None:
    model, x, _ = ZOO[name]()
    before = _state(model)
    plan = init_plan(model, method, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InitWarning)  # odd_sigmoid on a ReLU net warns (tested below)
        assert init_(model, method, generator=0, **options) is model
    after = _state(model)
    for tensor in plan.names("initialized"):
        if plan.row(tensor).fan_in is not None:  # every drawn weight changed
            assert not torch.equal(after[tensor], before[tensor]), tensor
    for tensor in plan.names("kept"):
        if tensor in before:
            assert torch.equal(after[tensor], before[tensor]), tensor
    assert plan.names("left alone") == []
    model.eval()
    assert torch.isfinite(model(x)).all()
    again, _, _ = ZOO[name](seed=1)  # other starting weights, same generator: same result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InitWarning)
        init_(again, method, generator=0, **options)
    for key, value in _state(again).items():
        if key in plan.names("initialized"):
            assert torch.equal(value, after[key]), key


# The rule each zoo model's layers get, as the plan shows it.
PLANS = {
    "transformer_encoder": {
        "embed.weight": ("N(0, 1)", None, "initialized"),
        "encoder.layers.0.self_attn.in_proj_weight": (
            "xavier_normal ×3 blocks (q, k, v)",
            (16, 16),
            "initialized",
        ),
        "encoder.layers.0.self_attn.in_proj_bias": ("bias 0", None, "initialized"),
        "encoder.layers.0.self_attn.out_proj.weight": ("xavier_normal", (16, 16), "initialized"),
        "encoder.layers.0.linear1.weight": ("xavier_normal", (16, 32), "initialized"),
        "encoder.layers.1.norm2.weight": ("norm: 1, 0", None, "kept"),
        "head.weight": ("xavier_normal", (16, 3), "initialized"),
    },
    "lstm_classifier": {
        "lstm.weight_ih_l0": ("xavier_normal ×4 blocks (i, f, g, o)", (12, 16), "initialized"),
        "lstm.weight_hh_l1": ("orthogonal (gain 1) ×4 blocks (i, f, g, o)", (16, 16), "initialized"),
        "lstm.bias_ih_l0": ("bias 0, forget gate 1", None, "initialized"),
        "lstm.bias_hh_l0": ("bias 0, forget gate 0", None, "initialized"),
    },
    "gru_classifier": {
        "gru.weight_ih_l0": ("xavier_normal ×3 blocks (r, z, n)", (12, 16), "initialized"),
        "gru.weight_hh_l0": ("orthogonal (gain 1) ×3 blocks (r, z, n)", (16, 16), "initialized"),
        "gru.bias_ih_l0": ("bias 0", None, "initialized"),
    },
    "residual_cnn": {
        "stem.0.weight": ("xavier_normal", (9, 72), "initialized"),
        "stem.1.weight": ("norm: 1, 0", None, "kept"),
        "stem.1.running_mean/var": ("norm: running statistics", None, "kept"),
        "blocks.1.conv2.weight": ("xavier_normal", (72, 72), "initialized"),
    },
    "bert": {
        "backbone.embeddings.word_embeddings.weight": ("N(0, 1), row 0 zero", None, "initialized"),
        "backbone.encoder.layer.0.attention.self.query.weight": ("xavier_normal", (16, 16), "initialized"),
        "backbone.embeddings.LayerNorm.weight": ("norm: 1, 0", None, "kept"),
    },
    "gpt2": {
        "backbone.wpe.weight": ("N(0, 1)", None, "initialized"),
        "backbone.h.0.attn.c_attn.weight": ("xavier_normal, layout in_out", (16, 48), "initialized"),
        "backbone.h.1.mlp.c_proj.weight": ("xavier_normal, layout in_out", (64, 16), "initialized"),
        "backbone.ln_f.bias": ("norm: 1, 0", None, "kept"),
    },
}


@pytest.mark.parametrize("name", list(PLANS))
def test_plan_of_each_zoo_model(name) -> None:
    model, _, _ = ZOO[name]()
    plan = init_(model, "xavier_normal", dry_run=True)
    assert isinstance(plan, InitPlan) and plan.warnings == ()
    for tensor, (rule, fans, action) in PLANS[name].items():
        row = plan.row(tensor)
        assert (row.rule, row.action) == (rule, action), tensor
        assert (None if row.fan_in is None else (row.fan_in, row.fan_out)) == fans, tensor
    # every parameter has exactly one row
    params = {n for n, _ in model.named_parameters()}
    rows = {r.tensor for r in plan.rows if "/" not in r.tensor}
    assert params == rows
    assert repr(plan).startswith("InitPlan('xavier_normal': ") and "\n" not in repr(plan)
    assert plan.table().splitlines()[0].split()[:3] == ["tensor", "layer", "shape"]
    assert plan.table(markdown=True).startswith("| tensor | layer |")


def test_attention_q_k_v_blocks_each_get_their_own_xavier_std() -> None:
    mha = nn.MultiheadAttention(256, 4)
    init_(mha, "xavier_normal", generator=0)
    q, k, v = mha.in_proj_weight.detach().chunk(3)
    for block in (q, k, v):
        assert _std_close(block, math.sqrt(2 / (256 + 256)), 0.02)  # not √(2/(768+256)) of the stack
    assert bool((mha.in_proj_bias == 0).all()) and bool((mha.out_proj.bias == 0).all())
    assert _std_close(mha.out_proj.weight, math.sqrt(2 / 512), 0.02)
    other = nn.MultiheadAttention(64, 4, kdim=32, vdim=48)
    init_(other, "kaiming_normal", generator=0)
    assert _std_close(other.k_proj_weight, math.sqrt(2 / 32), 0.05)
    assert _std_close(other.v_proj_weight, math.sqrt(2 / 48), 0.05)


@pytest.mark.parametrize(
    "cls, gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)]
)
def test_recurrent_gate_blocks_are_orthogonal(cls, gates) -> None:
    rnn = cls(10, 24)
    init_(rnn, "xavier_normal", generator=0)
    hh = rnn.weight_hh_l0 if hasattr(rnn, "weight_hh_l0") else rnn.weight_hh
    ih = rnn.weight_ih_l0 if hasattr(rnn, "weight_ih_l0") else rnn.weight_ih
    assert hh.shape[0] == gates * 24
    for block in hh.detach().chunk(gates):
        torch.testing.assert_close(block @ block.T, torch.eye(24), atol=1e-5, rtol=0)
    assert _std_close(ih, math.sqrt(2 / (10 + 24)), 0.1)  # per gate block (24, 10), not (gates·24, 10)
    init_(rnn, "xavier_normal", recurrent="method", generator=0)
    block = hh.detach()[:24]
    assert not torch.allclose(block @ block.T, torch.eye(24), atol=0.1)


def test_lstm_forget_gate_bias() -> None:
    lstm = nn.LSTM(5, 8, num_layers=2, bidirectional=True)
    init_(lstm, "xavier_normal", generator=0)
    for sfx in ("l0", "l1_reverse"):
        b_ih, b_hh = getattr(lstm, f"bias_ih_{sfx}").detach(), getattr(lstm, f"bias_hh_{sfx}").detach()
        assert bool((b_ih[8:16] == 1).all()) and bool((b_ih[:8] == 0).all()) and bool((b_ih[16:] == 0).all())
        assert bool((b_hh == 0).all())
    init_(lstm, "xavier_normal", forget_bias=None, generator=0)
    assert bool((lstm.bias_ih_l0 == 0).all())
    with pytest.raises(ValueError, match="forget_bias"):
        init_(lstm, "xavier_normal", forget_bias=math.nan)


@pytest.mark.parametrize("embedding", ["normal", "method"])
def test_embedding_padding_row_stays_zero(embedding) -> None:
    emb = nn.Embedding(1000, 64, padding_idx=3)
    init_(emb, "xavier_normal", embedding=embedding, generator=0)
    assert bool((emb.weight[3] == 0).all())
    rest = torch.cat([emb.weight[:3], emb.weight[4:]])
    std = 1.0 if embedding == "normal" else math.sqrt(2 / (64 + 1000))  # (num, dim) read as (out, in)
    assert _std_close(rest, std, 0.02)


def test_weight_norm_effective_weight_equals_the_plain_draw() -> None:
    plain = init_(nn.Linear(20, 30), "kaiming_normal", generator=5)
    normed = parametrizations.weight_norm(nn.Linear(20, 30))
    plan = init_plan(normed, "kaiming_normal")
    assert plan.row("weight").rule == "kaiming_normal via WeightNorm" and plan.warnings == ()
    init_(normed, "kaiming_normal", generator=5)
    torch.testing.assert_close(normed.weight, plain.weight)
    g = normed.parametrizations.weight.original0
    torch.testing.assert_close(g.squeeze(1), plain.weight.detach().norm(dim=1))


def test_spectral_norm_sets_the_original_and_rescales() -> None:
    plain = init_(nn.Linear(20, 30), "xavier_normal", generator=5)
    sn = parametrizations.spectral_norm(nn.Linear(20, 30))
    init_(sn, "xavier_normal", generator=5)
    torch.testing.assert_close(sn.parametrizations.weight.original, plain.weight.detach())


def test_conv_transpose_fans() -> None:
    conv = nn.ConvTranspose2d(64, 128, 3)  # stored (in, out, k, k)
    row = init_plan(conv, "kaiming_normal").row("weight")
    assert (row.fan_in, row.fan_out) == (64 * 9, 128 * 9)
    init_(conv, "xavier_normal", generator=0)
    assert _std_close(conv.weight, math.sqrt(2 / (64 * 9 + 128 * 9)), 0.02)
    init_(conv, "kaiming_normal", generator=0)
    assert _std_close(conv.weight, math.sqrt(2 / (64 * 9)), 0.02)  # torch.nn.init would use 128·9
    small = nn.ConvTranspose2d(4, 8, 3)
    init_(small, "xavier_normal", generator=0)
    assert _std_close(small.weight, math.sqrt(2 / (36 + 72)), 0.15)
    grouped = init_plan(nn.ConvTranspose2d(8, 12, 3, groups=2), "xavier_normal").row("weight")
    assert (grouped.fan_in, grouped.fan_out) == (4 * 9, 12 * 9)


def test_conv_transpose_diagonal_is_the_identity() -> None:
    """odd_sigmoid's ω D with no noise on the canonical layout passes channels through."""
    conv = nn.ConvTranspose2d(4, 4, 3, padding=1)
    init_(conv, "odd_sigmoid", activation="tanh", target_layer=10, noise_multiplier=0.0, generator=0)
    x = torch.randn(2, 4, 5, 5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(conv(x), x)


def test_transposed_layout_round_trip() -> None:
    rule = WeightRule("weight", layout="transposed", groups=3)
    stored = torch.arange(6 * 4 * 2 * 1.0).reshape(6, 4, 2)  # (in, out/groups, k)
    conv = nn.ConvTranspose1d(6, 12, 2, groups=3, bias=False)
    assert canonical_shape(conv.weight.shape, rule) == (12, 2, 2) == block_shape(stored.shape, rule)
    canon = torch.stack([stored[g * 2 + i, o] for g in range(3) for o in range(4) for i in range(2)])
    torch.testing.assert_close(to_stored(canon.reshape(12, 2, 2), rule), stored)


def test_hf_conv1d_fans_are_transposed() -> None:
    model, _, _ = ZOO["gpt2"]()
    attn = [m.attn.c_attn for m in model.backbone.h]
    assert type(attn[0]).__name__ == "Conv1D" and attn[0].weight.shape == (16, 48)
    init_(model, "xavier_normal", generator=0)
    assert _std_close(torch.cat([a.weight for a in attn]), math.sqrt(2 / (16 + 48)), 0.1)
    init_(model, "kaiming_normal", generator=0)
    assert _std_close(torch.cat([a.weight for a in attn]), math.sqrt(2 / 16), 0.1)  # fan_in 16, not 48
    init_(model, "odd_sigmoid", activation="tanh", target_layer=10, noise_multiplier=0.0, generator=0)
    w = attn[0].weight.detach()  # (in, out): input j feeds output j
    torch.testing.assert_close(w, torch.eye(16, 48))


def test_prelu_slope_is_never_drawn() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.PReLU(init=0.1))
    with torch.no_grad():
        net[1].weight.fill_(0.7)
    init_(net, "xavier_normal", generator=0)
    assert float(net[1].weight.detach()) == pytest.approx(0.7)
    init_(net, "xavier_normal", norms="reset", generator=0)
    assert float(net[1].weight.detach()) == pytest.approx(0.1)


def test_register_a_layer_type_in_a_few_lines() -> None:
    class Dense(nn.Module):  # stores its kernel (in, out)
        def __init__(self, d_in: int, d_out: int) -> None:
            super().__init__()
            self.kernel = nn.Parameter(torch.empty(d_in, d_out))
            self.offset = nn.Parameter(torch.full((d_out,), 3.0))

    with pytest.raises(TypeError, match="no supported layers"):
        init_(Dense(400, 300), "kaiming_normal", generator=0)
    rule = LayerRule(weights=(WeightRule("kernel", layout="in_out"),), biases=(BiasRule("offset"),))
    register_layer_type(Dense, rule)
    assert layer_rule(Dense(2, 3)) is rule
    dense = init_(Dense(400, 300), "kaiming_normal", generator=0)
    assert _std_close(dense.kernel, math.sqrt(2 / 400), 0.02) and bool((dense.offset == 0).all())
    with pytest.raises(ValueError, match="already has a rule"):
        register_layer_type(Dense, rule)
    with pytest.raises(TypeError, match="nn.Module subclass"):
        register_layer_type(int, rule)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layout must be"):
        WeightRule("w", layout="sideways")  # type: ignore[arg-type]


def test_lazy_layers_are_a_clear_error() -> None:
    with pytest.raises(TypeError, match="lazy: run a batch"):
        init_(nn.Sequential(nn.LazyLinear(3)), "xavier_normal")


def test_high_frequency_on_a_cnn_is_refused_before_anything_changes() -> None:
    model, _, _ = ZOO["residual_cnn"]()
    model.train()
    before = _state(model)
    with pytest.raises(
        TypeError, match="'high_frequency' pre-trains a network of one input.*ResidualCNN fails"
    ):
        init_(model, "high_frequency", freq=2.0, steps=2, generator=0)
    for key, value in _state(model).items():
        assert torch.equal(value, before[key]), key
    assert model.training and all(m.training for m in model.modules())
    with pytest.raises(TypeError, match=r"maps x of shape \(2, 1\) to \(2, 3\)"):
        init_(nn.Sequential(nn.Linear(1, 3)), "dc", steps=2)


def test_the_top_level_names() -> None:
    assert specinit.init_plan is init_plan and specinit.InitWarning is InitWarning
    assert specinit.register_layer_type is register_layer_type and specinit.InitPlan is InitPlan
