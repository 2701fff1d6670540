"""The doctor on models nobody here wrote (tests/zoo.py): token ids, functional activations,
recurrent gates, sequence layouts."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/zoo.py

import zoo

from specinit.doctor import compare, diagnose, effective_rank, suggest


@pytest.mark.parametrize("name", ["bert", "gpt2", "transformer_encoder", "lstm_classifier"])
def test_token_models_use_the_embedded_tokens_as_reference_and_never_nan(name):
    model, x, y = zoo.ZOO[name]()
    d = diagnose(model, x, hessian_iters=0)
    text = d.text()
    assert "nan" not in text.lower() and "inf×" not in text
    assert math.isfinite(d.input_std) and d.input_std > 0
    assert np.isfinite(d.column("std_ratio")).all()
    assert "embedded tokens" in d.reference and "reference signal" in text
    assert d.bandwidth is None and "not measured (torch.int64 inputs" in text
    # The reference is the float input of the first weight layer: the embedded tokens.
    assert d.column("std_ratio") == pytest.approx(d.column("std") / d.input_std)


def test_bert_gelu_modules_are_recorded_with_their_activation():
    model, x, _ = zoo.bert()
    seen = []
    for layer in model.backbone.encoder.layer:
        layer.intermediate.dense.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    d = diagnose(model, x, hessian_iters=0)
    names = [row.name for row in d.layers]
    assert names == [f"backbone.encoder.layer.{k}.intermediate.intermediate_act_fn" for k in (0, 1)]
    assert [row.activation for row in d.layers] == ["gelu", "gelu"]
    by_hand = nn.functional.gelu(seen[-1].double())  # the last pass is the full-batch one
    assert d.layers[1].std == pytest.approx(float(by_hand.std(unbiased=False)), rel=1e-5)
    assert d.layers[1].max_rank == 32 and d.layers[1].feature_axis == -1


def test_functional_relu_inside_torch_transformer_layers_and_its_gradient():
    model, x, y = zoo.transformer_encoder()
    seen = []
    model.encoder.layers[0].linear1.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    d = diagnose(model, x, y, hessian_iters=0)
    assert [row.name for row in d.layers] == ["encoder.layers.0.relu", "encoder.layers.1.relu"]
    assert all(row.kind == "function" for row in d.layers)
    h = torch.relu(seen[-1]).double()
    assert d.layers[0].std == pytest.approx(float(h.std(unbiased=False)), rel=1e-5)
    assert d.layers[0].effective_rank == pytest.approx(effective_rank(h.reshape(-1, 32)), rel=1e-5)
    assert d.layers[0].frac_dead == float(np.mean(np.ptp(h.reshape(-1, 32).numpy(), axis=0) == 0))
    assert all(row.grad_norm > 0 for row in d.layers)


def test_functional_relu_in_a_residual_block_has_the_gradient_autograd_gives():
    model, x, y = zoo.residual_cnn()
    d = diagnose(model, x, y, hessian_iters=0)
    names = [row.name for row in d.layers]
    assert names == ["stem.2", "blocks.0.relu#1", "blocks.0.relu#2", "blocks.1.relu#1", "blocks.1.relu#2"]
    # blocks.0.conv2's input *is* the tensor torch.relu returned inside blocks.0.
    inputs = []
    handle = model.blocks[0].conv2.register_forward_pre_hook(lambda m, a: inputs.append(a[0]))
    model.eval()
    loss = nn.functional.cross_entropy(model(x), y)
    handle.remove()
    (g,) = torch.autograd.grad(loss, [inputs[0]])
    row = d.layers[1]
    assert row.grad_norm == pytest.approx(float(g.norm()), rel=1e-5)
    assert row.std == pytest.approx(float(inputs[0].detach().double().std(unbiased=False)), rel=1e-5)
    assert row.feature_axis == 1 and row.max_rank == 8


def test_lstm_gates_are_recorded_and_saturate_with_large_weights():
    model, x, y = zoo.lstm_classifier()
    d = diagnose(model, x, y, hessian_iters=0)
    gates = [row.name for row in d.layers if row.kind == "gate"]
    assert gates[:5] == [
        "lstm.layer0.input_gate",
        "lstm.layer0.forget_gate",
        "lstm.layer0.cell_gate",
        "lstm.layer0.output_gate",
        "lstm.layer0.hidden",
    ]
    assert len(d.layers) == 10 and not d.not_seen
    assert all(row.grad_norm > 0 for row in d.layers)
    with torch.no_grad():
        for name, p in model.lstm.named_parameters():
            if name.startswith("weight"):
                p.mul_(20)
    loud = diagnose(model, x, y, hessian_iters=0)
    assert "saturation" in loud.codes
    assert max(row.frac_saturated for row in loud.layers if row.name.endswith("forget_gate")) > 0.2


def test_what_is_not_seen_is_said():
    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 6, batch_first=True)
            self.head = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 2))

        def forward(self, x):
            packed = nn.utils.rnn.pack_padded_sequence(x, [x.shape[1]] * x.shape[0], batch_first=True)
            _, (h, _) = self.lstm(packed)
            return self.head(h[-1])

    d = diagnose(Packed(), torch.randn(8, 5, 4), hessian_iters=0)
    assert [row.name for row in d.layers] == ["head.1"]
    assert d.not_seen and d.not_seen[0].startswith("lstm: LSTM gates")
    assert "not seen: lstm: LSTM gates (a PackedSequence input cannot be replayed" in d.text()


def test_sequence_features_are_the_last_axis():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=96, dropout=0.0, batch_first=True)
    model = nn.Sequential(
        nn.TransformerEncoder(layer, 1, enable_nested_tensor=False), nn.Flatten(), nn.LazyLinear(3)
    )
    x = torch.randn(16, 8, 64)
    model(x)  # materialize the lazy head
    d = diagnose(model, x, hessian_iters=0)
    (relu,) = d.layers
    assert relu.feature_axis == -1 and relu.max_rank == 96  # not the sequence length 8
    d = diagnose(model, x, layers=["0.layers.0"], hessian_iters=0)
    assert d.layers[0].max_rank == 64 and "features: the last axis" in d.text()
    forced = diagnose(model, x, layers=["0.layers.0"], hessian_iters=0, feature_axis=1)
    assert forced.layers[0].feature_axis == 1 and forced.layers[0].max_rank == 8


def test_suggest_and_compare_do_not_break_on_real_models():
    model, x, y = zoo.residual_cnn()
    d = diagnose(model, x, y, hessian_iters=0)
    tips = suggest(model, d)
    assert tips[0].method == "kaiming_normal"  # functional ReLUs count as the ReLU family
    after = compare(model, x, y, tips[:1], generator=0, hessian_iters=0)
    assert [row.name for row in after["kaiming_normal"].layers] == [row.name for row in d.layers]
    for name in ("transformer_encoder", "lstm_classifier", "bert", "gpt2"):
        model, x, y = zoo.ZOO[name]()
        state = {k: v.clone() for k, v in model.state_dict().items()}
        d = diagnose(model, x, y, hessian_iters=0)
        tips = suggest(model, d)
        after = compare(model, x, y, tips[:1], generator=0, hessian_iters=0)
        assert [row.name for row in after[tips[0].label].layers] == [row.name for row in d.layers]
        assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items()), name


@pytest.mark.parametrize("name", ["transformer_encoder", "bert", "lstm_classifier"])
def test_hessian_top_on_real_models(name):
    """Needs Hessian-vector products through attention (specinit.measure.curvature)."""
    model, x, y = zoo.ZOO[name]()
    d = diagnose(model, x, y, hessian_iters=2)
    assert d.hessian_top is not None and math.isfinite(d.hessian_top)


def test_channels_transposed_back_after_a_layer_norm_keep_the_channel_axis():
    """Review finding (the wav2vec2 conv block): conv → transpose → LayerNorm → transpose → GELU
    was read with features on the last axis (positions), max_rank 32 instead of 8 channels.
    """

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.norm, self.act = nn.Conv1d(8, 8, 3, padding=1), nn.LayerNorm(8), nn.GELU()

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return self.act(self.norm(self.conv(h).transpose(-2, -1)).transpose(-2, -1))

    torch.manual_seed(0)
    model = nn.Sequential(Block(), Block(), nn.Flatten(), nn.Linear(400, 1)).double()
    d = diagnose(model, torch.randn(4, 8, 50, dtype=torch.float64), hessian_iters=0)
    assert [(row.feature_axis, row.max_rank) for row in d.layers] == [(1, 8), (1, 8)]
