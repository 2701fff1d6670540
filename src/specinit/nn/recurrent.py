"""Replay of ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` from their weights: the gates the fused kernel hides.

PyTorch runs recurrent layers in one fused kernel, so no hook sees their gates.
:func:`replay_recurrent` recomputes the cell equations step by step, per layer and direction,
from the module's own weights, input and initial state (PyTorch's gate order and equations):

* LSTM: ``i, f, o = σ(·)``, ``g = tanh(·)`` of ``W_i· x_t + b_i· + W_h· h_{t−1} + b_h·``;
  ``c_t = f ⊙ c_{t−1} + i ⊙ g``; ``h_t = o ⊙ tanh(c_t)`` (times ``W_hr`` with ``proj_size``);
* GRU: ``r, z = σ(·)``; ``n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn))``;
  ``h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}``;
* RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)`` with ``act`` tanh or ReLU.

The replay's output equals the module's (to rounding: ~1e-15 in float64, ~1e-6 in float32) and
is differentiable in the weights and the input, so it can stand in for the fused call.

>>> import torch
>>> lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True).double()
>>> x = torch.randn(2, 5, 3, dtype=torch.float64)
>>> replay = replay_recurrent(lstm, x)
>>> bool(torch.allclose(replay.output, lstm(x)[0], atol=1e-12)), sorted(replay.layers[0])
(True, ['cell_gate', 'forget_gate', 'hidden', 'input_gate', 'output_gate'])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from specinit._core.records import compact_repr

__all__ = ["RecurrentReplay", "replay_recurrent", "GATE_ACTIVATIONS"]

#: The activation of each recorded gate (``hidden`` of an LSTM/GRU is a product of gates: none).
GATE_ACTIVATIONS: dict[str, str | None] = {
    "input_gate": "sigmoid",
    "forget_gate": "sigmoid",
    "cell_gate": "tanh",
    "output_gate": "sigmoid",
    "reset_gate": "sigmoid",
    "update_gate": "sigmoid",
    "new_gate": "tanh",
    "hidden": None,
}


@dataclass(frozen=True, eq=False)
class RecurrentReplay:
    """Outcome of :func:`replay_recurrent`.

    ``output`` and ``h_n`` (``c_n`` for an LSTM, else ``None``) are shaped as the module returns
    them.  ``layers[k]`` maps each gate name (``input_gate``, ``forget_gate``, ``cell_gate``,
    ``output_gate`` for an LSTM; ``reset_gate``, ``update_gate``, ``new_gate`` for a GRU) and
    ``hidden`` (the layer's output sequence ``h_t``) to a ``(N, L, D·H)`` batch-first tensor,
    both directions side by side on the last axis as in the module's output.  ``steps[k]`` maps
    the same names to the per-step ``(N, H)`` tensors the recurrence computed with (every
    direction): the graph nodes whose gradients make up the gradient of ``layers[k][name]``.
    """

    output: Tensor
    h_n: Tensor
    c_n: Tensor | None
    layers: tuple[dict[str, Tensor], ...]
    steps: tuple[dict[str, tuple[Tensor, ...]], ...] = ()

    __repr__ = compact_repr


def replay_recurrent(
    module: nn.Module, x: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None
) -> RecurrentReplay:
    """Recompute ``module(x, hx)`` for an ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``, keeping every gate.

    Args:
        module: the recurrent layer; its train-mode inter-layer dropout cannot be replayed.
        x: ``(L, N, H_in)``, ``(N, L, H_in)`` with ``batch_first``, or unbatched ``(L, H_in)``.
        hx: the initial state as the module takes it (``(h_0, c_0)`` for an LSTM), or zeros.

    Raises:
        TypeError: not an RNN/LSTM/GRU, or not a tensor input.
        ValueError: a ``PackedSequence`` input, or active inter-layer dropout (train mode).

    """
    if not isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        raise TypeError(f"replay_recurrent needs nn.RNN, nn.LSTM or nn.GRU, got {type(module).__name__}")
    if isinstance(x, PackedSequence):
        raise ValueError("a PackedSequence input cannot be replayed; pass a padded tensor")
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    if module.training and module.dropout > 0 and module.num_layers > 1:
        raise ValueError("train-mode dropout between the layers is random and cannot be replayed")
    lstm = isinstance(module, nn.LSTM)
    batched = x.ndim == 3
    seq = x if batched else x.unsqueeze(1)
    if batched and module.batch_first:
        seq = seq.transpose(0, 1)  # (L, N, H_in)
    n = seq.shape[1]
    dirs = 2 if module.bidirectional else 1
    size = module.hidden_size
    out_size = module.proj_size if lstm and module.proj_size > 0 else size
    h0: Tensor | None = None
    c0: Tensor | None = None
    if isinstance(hx, tuple):
        h0, c0 = hx
    elif hx is not None:
        h0 = hx
    if h0 is not None and not batched:
        h0 = h0.unsqueeze(1)
        c0 = None if c0 is None else c0.unsqueeze(1)
    zeros = seq.new_zeros(module.num_layers * dirs, n, out_size)
    h0 = zeros if h0 is None else h0
    c0 = seq.new_zeros(module.num_layers * dirs, n, size) if (lstm and c0 is None) else c0
    last_h: list[Tensor] = []
    last_c: list[Tensor] = []
    layers: list[dict[str, Tensor]] = []
    steps: list[dict[str, tuple[Tensor, ...]]] = []
    for layer in range(module.num_layers):
        per_dir: list[dict[str, Tensor]] = []
        parts: dict[str, tuple[Tensor, ...]] = {}
        for d in range(dirs):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            index = layer * dirs + d
            steps_in = seq if d == 0 else seq.flip(0)
            state_c = c0[index] if c0 is not None else None
            record, h, c = _run_direction(module, suffix, steps_in, h0[index], state_c)
            for key, values in record.items():
                parts[key] = parts.get(key, ()) + tuple(values)
            gates = {k: torch.stack(v) for k, v in record.items()}
            if d:
                gates = {k: v.flip(0) for k, v in gates.items()}
            per_dir.append(gates)
            last_h.append(h)
            if c is not None:
                last_c.append(c)
        merged = {k: torch.cat([g[k] for g in per_dir], -1) for k in per_dir[0]}
        seq = merged["hidden"]
        layers.append({k: v.transpose(0, 1) for k, v in merged.items()})  # batch-first (N, L, ·)
        steps.append(parts)
    output = seq.transpose(0, 1) if batched and module.batch_first else seq
    h_n, c_n = torch.stack(last_h), (torch.stack(last_c) if lstm else None)
    if not batched:
        output, h_n = output.squeeze(1), h_n.squeeze(1)
        c_n = None if c_n is None else c_n.squeeze(1)
    return RecurrentReplay(output, h_n, c_n, tuple(layers), tuple(steps))


def _run_direction(
    module: nn.Module, suffix: str, steps: Tensor, h: Tensor, c: Tensor | None
) -> tuple[dict[str, list[Tensor]], Tensor, Tensor | None]:
    """One layer, one direction over ``steps`` ``(L, N, ·)``: its per-step gates and final state."""
    w_ih, w_hh = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
    b_ih = getattr(module, "bias_ih" + suffix) if module.bias else None
    b_hh = getattr(module, "bias_hh" + suffix) if module.bias else None
    pre = nn.functional.linear(steps, w_ih, b_ih)  # every step's input part at once
    record: dict[str, list[Tensor]] = {}

    def keep(**values: Tensor) -> None:
        for key, value in values.items():
            record.setdefault(key, []).append(value)

    for t in range(steps.shape[0]):
        rec = nn.functional.linear(h, w_hh, b_hh)
        if isinstance(module, nn.LSTM):
            i, f, g, o = (pre[t] + rec).chunk(4, -1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            assert c is not None, "an LSTM always has a cell state"
            c = f * c + i * g
            h = o * torch.tanh(c)
            if module.proj_size > 0:
                h = h @ getattr(module, "weight_hr" + suffix).T
            keep(input_gate=i, forget_gate=f, cell_gate=g, output_gate=o, hidden=h)
        elif isinstance(module, nn.GRU):
            x_r, x_z, x_n = pre[t].chunk(3, -1)
            h_r, h_z, h_n = rec.chunk(3, -1)
            r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
            new = torch.tanh(x_n + r * h_n)
            h = (1 - z) * new + z * h
            keep(reset_gate=r, update_gate=z, new_gate=new, hidden=h)
        else:
            act = torch.tanh if module.nonlinearity == "tanh" else torch.relu
            h = act(pre[t] + rec)
            keep(hidden=h)
    return record, h, c
