"""specinit.nn.recurrent: the step-by-step replay equals the fused RNN/LSTM/GRU kernels."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from specinit.nn.recurrent import replay_recurrent

CASES = [
    (nn.LSTM, {"num_layers": 2, "bidirectional": True}),
    (nn.LSTM, {"num_layers": 2, "proj_size": 3}),
    (nn.GRU, {"num_layers": 2, "bidirectional": True}),
    (nn.GRU, {"bias": False}),
    (nn.RNN, {"nonlinearity": "relu", "num_layers": 2}),
    (nn.RNN, {}),
]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("cls, options", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_replay_matches_the_fused_module(cls, options, batch_first):
    torch.manual_seed(0)
    module = cls(5, 6, batch_first=batch_first, **options).double().eval()
    x = torch.randn(4, 7, 5, dtype=torch.float64)
    dirs = 2 if options.get("bidirectional") else 1
    size = options.get("proj_size", 6)
    n = 4 if batch_first else 7  # x is (N, L, ·) or (L, N, ·)
    h0 = torch.randn(options.get("num_layers", 1) * dirs, n, size, dtype=torch.float64)
    hx = (h0, torch.randn(h0.shape[0], n, 6, dtype=torch.float64)) if cls is nn.LSTM else h0
    out, state = module(x, hx)
    replay = replay_recurrent(module, x, hx)
    assert torch.allclose(replay.output, out, atol=1e-12, rtol=0)
    h_n = state[0] if cls is nn.LSTM else state
    assert torch.allclose(replay.h_n, h_n, atol=1e-12, rtol=0)
    if cls is nn.LSTM:
        assert torch.allclose(replay.c_n, state[1], atol=1e-12, rtol=0)
    # Gates are batch-first (N, L, D·H); the last layer's hidden sequence is the output.
    last = replay.layers[-1]
    batch_first_out = out if batch_first else out.transpose(0, 1)
    assert torch.allclose(last["hidden"], batch_first_out, atol=1e-12, rtol=0)
    for gate, value in last.items():
        if gate.endswith("_gate"):
            assert value.shape == (*batch_first_out.shape[:2], dirs * 6)
            low, high = (-1, 1) if gate in ("cell_gate", "new_gate") else (0, 1)
            assert low <= float(value.min()) and float(value.max()) <= high


def test_lstm_gates_follow_the_cell_equations_in_float32():
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    replay = replay_recurrent(lstm, x)
    assert float((replay.output - lstm(x)[0]).abs().max()) < 1e-6
    # First step from zero state: c = i·g, h = o·tanh(c), with i from W_ii x + b_ii + b_hi.
    gates = replay.layers[0]
    pre = x[:, 0] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
    i = torch.sigmoid(pre[:, :4])
    assert torch.allclose(gates["input_gate"][:, 0], i, atol=1e-6)
    c = gates["input_gate"][:, 0] * gates["cell_gate"][:, 0]
    assert torch.allclose(gates["hidden"][:, 0], gates["output_gate"][:, 0] * torch.tanh(c), atol=1e-6)
    # The per-step tensors are the graph nodes the output was computed from.
    (g,) = torch.autograd.grad(replay.output.sum(), [replay.steps[0]["forget_gate"][-1]])
    assert g.shape == (2, 4) and float(g.abs().sum()) > 0


def test_unbatched_input_and_errors():
    gru = nn.GRU(3, 4).double()
    x = torch.randn(6, 3, dtype=torch.float64)
    assert torch.allclose(replay_recurrent(gru, x).output, gru(x)[0], atol=1e-12)
    with pytest.raises(TypeError, match="needs nn.RNN, nn.LSTM or nn.GRU"):
        replay_recurrent(nn.Linear(3, 4), x)
    packed = pack_padded_sequence(torch.randn(6, 2, 3, dtype=torch.float64), [6, 4])
    with pytest.raises(ValueError, match="PackedSequence"):
        replay_recurrent(gru, packed)
    deep = nn.LSTM(3, 4, num_layers=2, dropout=0.5).train()
    with pytest.raises(ValueError, match="dropout between the layers"):
        replay_recurrent(deep, x.float())
