"""specinit.nn.recording: what a model computes is recorded — modules, functional calls, gates."""

import pytest
import torch
from torch import nn

from specinit.nn import activations
from specinit.nn.recording import ActivationRecorder, layout_of


def _record(model, x, **options):
    found = []
    with ActivationRecorder(model, found.append, **options) as tap:
        tap.start(x.shape[0])
        out = model(x)
    return found, out, tap


class Functional(nn.Module):
    """Functional non-linearities in a forward, one inside an activation module (no double count)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 6), nn.Conv1d(6, 5, 1)
        self.act = nn.Tanh()  # calls torch.tanh itself: recorded once, as the module
        self.gate = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        h = torch.relu(self.a(x))
        h = nn.functional.leaky_relu(h, 0.2).unsqueeze(-1)
        h = self.b(h).squeeze(-1).tanh()
        return self.act(h) * torch.sigmoid(self.gate)  # a scalar gate is no layer


def test_functional_calls_are_recorded_by_name_with_their_activation():
    torch.manual_seed(0)
    net = Functional()
    x = torch.randn(8, 4)
    found, _, _ = _record(net, x)
    assert [r.name for r in found] == ["relu", "leaky_relu", "tanh", "act"]
    assert [r.kind for r in found] == ["function", "function", "function", "module"]
    assert found[1].activation.describe() == "leaky_relu(negative_slope=0.2)"
    assert found[2].activation.sup == 1.0 and found[3].label == "tanh"
    expected = torch.relu(net.a(x))
    assert torch.equal(found[0].output, expected)
    assert found[0].weight is net.a.weight and found[2].weight is net.b.weight


def test_inside_torch_layers_and_foreign_activation_modules():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, batch_first=True).eval()
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x = torch.randn(3, 5, 8)
    with torch.no_grad():  # the eval fast path would hide the ReLU: the recorder turns it off
        found, out, _ = _record(enc, x)
    assert [r.name for r in found] == ["layers.0.relu", "layers.1.relu"]
    hooked = []
    enc.layers[1].linear1.register_forward_hook(lambda m, i, o: hooked.append(o))
    with torch.no_grad():
        enc(x)
    assert torch.allclose(found[1].output, torch.relu(hooked[-1]), atol=1e-6)
    assert found[1].feature_axis == -1

    class GELUish(nn.Module):  # another library's activation module
        def forward(self, t):
            return nn.functional.gelu(t)

    class NewGELUish(nn.Module):  # computes tanh inside, returns something else
        def forward(self, t):
            return 0.5 * t * (1.0 + torch.tanh(t))

    net = nn.Sequential(nn.Linear(4, 4), GELUish(), nn.Linear(4, 4), NewGELUish())
    found, out, _ = _record(net, torch.randn(6, 4))
    assert [(r.name, r.label) for r in found] == [("1", "gelu"), ("3", "NewGELUish")]
    assert found[1].activation is None and found[1].output is out


def test_recurrent_gates_are_replayed_and_carry_gradients():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    head = nn.Linear(4, 1)
    x = torch.randn(5, 6, 3)
    found, out, tap = _record(nn.Sequential(lstm), x)
    names = [r.name for r in found]
    assert names[:5] == [
        f"0.layer0.{g}" for g in ("input_gate", "forget_gate", "cell_gate", "output_gate", "hidden")
    ]
    assert len(names) == 10 and not tap.not_seen
    assert torch.allclose(out[0], lstm(x)[0], atol=1e-6)  # the replay stands in for the fused output
    loss = head(out[0]).sum()
    grads = torch.autograd.grad(loss, [t for r in found for t in r.parts], allow_unused=True)
    assert all(g is not None for g in grads)
    forget = found[1]
    assert forget.activation.describe() == "sigmoid" and forget.output.shape == (5, 6, 4)


def test_not_seen_and_explicit_layers():
    lstm = nn.LSTM(3, 4)
    packed = nn.utils.rnn.pack_padded_sequence(torch.randn(6, 2, 3), [6, 4])
    found = []
    with ActivationRecorder(lstm, found.append) as tap:
        tap.start(2)
        lstm(packed)
    assert not found and "PackedSequence" in tap.not_seen["LSTM"]
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3))
    found, _, _ = _record(net, torch.randn(4, 2), layers=["2"])
    assert [r.name for r in found] == ["2"] and found[0].activation is None


def test_feature_axis_is_decided_per_output_and_can_be_fixed():
    conv = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    found, _, _ = _record(conv, torch.randn(2, 1, 5, 5))
    assert found[0].feature_axis == 1
    seq = nn.Sequential(nn.Linear(4, 6), nn.ReLU())
    found, _, _ = _record(seq, torch.randn(2, 7, 4))
    assert found[0].feature_axis == -1
    found, _, _ = _record(seq, torch.randn(2, 7, 4), feature_axis=1)
    assert found[0].feature_axis == 1
    with pytest.raises(ValueError, match="feature_axis=5 is out of range"):
        _record(seq, torch.randn(2, 7, 4), feature_axis=5)
    with pytest.raises(ValueError, match="feature_axis must be 'auto' or an int"):
        ActivationRecorder(seq, print, feature_axis="last")
    assert (layout_of(nn.LayerNorm(3)), layout_of(nn.GroupNorm(1, 2)), layout_of(nn.Embedding(2, 2))) == (
        -1,
        1,
        -1,
    )


def test_reference_is_the_first_float_input_to_a_weight_layer():
    net = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3), nn.Tanh())
    ids = torch.randint(0, 10, (5, 7))
    _, _, tap = _record(net, ids)
    assert tap.reference_name == "1" and torch.equal(tap.reference, net[0](ids).detach())
    assert activations.from_function(torch.relu).name == "relu"
