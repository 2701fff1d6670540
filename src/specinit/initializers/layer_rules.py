"""Layer rules: which tensors of a layer are weights (and how they are laid out), which are biases,
and which hold constants — what :func:`~specinit.initializers.registry.init_` needs to initialize
a layer it did not write.

A :class:`LayerRule` lists a module's :class:`WeightRule` s, :class:`BiasRule` s and constants.
Every layer method draws a weight in the *canonical* layout ``(out, in, *kernel)`` of
``nn.Linear`` / ``nn.Conv`` (so ``fan_in = in · prod(kernel)``, ``fan_out = out · prod(kernel)``,
:func:`shape_fans`), one block at a time, and the rule's ``layout`` says how the module stores it:

* ``"out_in"`` — stored canonically: Linear, Conv1/2/3d, MultiheadAttention, RNN weights;
* ``"in_out"`` — a 2-D ``(in, out)`` weight, ``y = x W + b`` (HuggingFace's ``Conv1D``):
  the draw is transposed, so its fans are those of the ``(out, in)`` matrix;
* ``"transposed"`` — ``(in, out/groups, *kernel)`` of ``nn.ConvTranspose``: the draw is the
  equivalent Conv weight ``(out, in/groups, *kernel)``, so ``fan_in = in/groups · prod(kernel)``
  is the number of terms each output sums (stride 1), unlike ``torch.nn.init``, which reads the
  second axis as the fan-in.

``blocks`` splits the canonical ``out`` axis into equal blocks, each drawn as a layer of its
own: the q, k, v projections stacked in ``MultiheadAttention.in_proj_weight`` (each an
``(E, E)`` layer) and the gates of ``nn.LSTM`` (4: i, f, g, o) and ``nn.GRU`` (3: r, z, n).

Built-in rules (:func:`layer_types` lists them): Linear, Conv1/2/3d, ConvTranspose1/2/3d,
Embedding and EmbeddingBag (``role="embedding"``, padding row kept zero), MultiheadAttention,
RNN/LSTM/GRU and their cells (``weight_hh`` has ``role="recurrent"``; the LSTM forget gate's
bias block is marked), PReLU (its slope is a constant, never a random draw) and HuggingFace's
``transformers.pytorch_utils.Conv1D`` (matched by name: specinit never imports transformers).
A rule for a class also applies to its subclasses; the most specific registered class wins.

>>> import torch
>>> from torch import nn
>>> class Dense(nn.Module):  # stores its kernel (in, out), like Keras
...     def __init__(self, d_in, d_out):
...         super().__init__()
...         self.kernel = nn.Parameter(torch.empty(d_in, d_out))
...         self.offset = nn.Parameter(torch.empty(d_out))
>>> register_layer_type(Dense, LayerRule(weights=(WeightRule("kernel", layout="in_out"),),
...                                      biases=(BiasRule("offset"),)))
>>> canonical_shape((3, 5), layer_rule(Dense(3, 5)).weights[0])
(5, 3)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

__all__ = [
    "Layout",
    "Role",
    "WeightRule",
    "BiasRule",
    "LayerRule",
    "RuleLike",
    "register_layer_type",
    "layer_rule",
    "layer_types",
    "canonical_shape",
    "block_shape",
    "to_stored",
    "shape_fans",
]

#: How a weight is stored relative to the canonical ``(out, in, *kernel)`` layout.
Layout = Literal["out_in", "in_out", "transposed"]
#: What a weight does: ``"weight"`` (drawn by the method), ``"recurrent"`` (hidden-to-hidden,
#: ``recurrent=`` of ``init_`` chooses), ``"embedding"`` (a lookup table, ``embedding=`` chooses).
Role = Literal["weight", "recurrent", "embedding"]
LAYOUTS: tuple[str, ...] = ("out_in", "in_out", "transposed")
ROLES: tuple[str, ...] = ("weight", "recurrent", "embedding")
LSTM_GATES = ("i", "f", "g", "o")  # torch's order in weight_ih / weight_hh / biases
GRU_GATES = ("r", "z", "n")
HF_CONV1D = "transformers.pytorch_utils.Conv1D"


@dataclass(frozen=True)
class WeightRule:
    """A weight tensor of a layer: its attribute ``name``, storage ``layout``, ``blocks`` (equal
    parts of the canonical ``out`` axis, each drawn as its own layer, named by ``block_names``),
    the ``groups`` of a transposed convolution, its ``role`` and ``zero_rows`` (rows of the stored
    tensor set to zero after the draw: an embedding's ``padding_idx``).
    """

    name: str
    layout: Layout = "out_in"
    blocks: int = 1
    groups: int = 1
    role: Role = "weight"
    block_names: tuple[str, ...] = ()
    zero_rows: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        """Check the fields (one-line errors)."""
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        if self.blocks < 1 or self.groups < 1:
            raise ValueError(f"blocks and groups must be ≥ 1, got {self.blocks} and {self.groups}")
        if self.block_names and len(self.block_names) != self.blocks:
            raise ValueError(f"{len(self.block_names)} block_names for {self.blocks} blocks")


@dataclass(frozen=True)
class BiasRule:
    """A bias tensor: attribute ``name`` and the ``weight`` it goes with (default: the rule's first
    weight), whose per-block fan-in sets the ``"uniform"`` bias rule.  ``forget_gate`` marks the
    entries ``[start, stop)`` of an LSTM's forget gate: after the bias rule they are set to
    ``forget_bias · forget_share`` (``init_``'s ``forget_bias=``; ``bias_ih`` has share 1 and
    ``bias_hh`` share 0, so the gate's total bias is ``forget_bias``).
    """

    name: str
    weight: str | None = None
    forget_gate: tuple[int, int] | None = None
    forget_share: float = 1.0


@dataclass(frozen=True)
class LayerRule:
    """What :func:`~specinit.initializers.registry.init_` does with a layer's own parameters:
    draw the ``weights``, apply the bias rule to the ``biases``, and treat ``constants``
    ``(name, value)`` like normalization parameters (kept by default, set to ``value`` with
    ``norms="reset"``).  A tensor a rule names that the module sets to ``None`` (``bias=False``)
    is ignored; a parameter no rule names is left alone with an :class:`InitWarning`.
    """

    weights: tuple[WeightRule, ...] = ()
    biases: tuple[BiasRule, ...] = ()
    constants: tuple[tuple[str, float], ...] = ()


#: A rule, or a function of the module that returns one (``None``: not a layer it handles).
RuleLike = LayerRule | Callable[[nn.Module], "LayerRule | None"]

_RULES: dict[type | str, RuleLike] = {}


def register_layer_type(layer: type[nn.Module] | str, rule: RuleLike, *, replace: bool = False) -> None:
    """Tell :func:`~specinit.initializers.registry.init_` how to initialize ``layer`` (a class,
    or a dotted class name such as ``"transformers.pytorch_utils.Conv1D"`` matched without
    importing it) and its subclasses: ``rule`` is a :class:`LayerRule` or ``rule(module)``
    returning one.  ``replace=True`` overrides an existing rule (a built-in one too).
    """
    if not (isinstance(layer, str) or (isinstance(layer, type) and issubclass(layer, nn.Module))):
        raise TypeError(f"layer must be an nn.Module subclass or a dotted class name, got {layer!r}")
    if not (isinstance(rule, LayerRule) or callable(rule)):
        raise TypeError(f"rule must be a LayerRule or a function of the module, got {type(rule).__name__}")
    if layer in _RULES and not replace:
        raise ValueError(f"layer type {_key_name(layer)} already has a rule; pass replace=True")
    _RULES[layer] = rule


def _key_name(key: type | str) -> str:
    return key if isinstance(key, str) else key.__name__


def layer_rule(module: nn.Module) -> LayerRule | None:
    """The rule of the most specific registered class of ``module`` (by class, then by dotted
    name), or ``None`` when no rule applies.
    """
    for cls in type(module).__mro__:
        for key in (cls, f"{cls.__module__}.{cls.__qualname__}"):
            if key in _RULES:
                found = _RULES[key]
                return found if isinstance(found, LayerRule) else found(module)
    return None


def layer_types() -> list[str]:
    """The names of the layer types with a rule, in registration order."""
    return [_key_name(key) for key in _RULES]


def canonical_shape(shape: Sequence[int], weight: WeightRule) -> tuple[int, ...]:
    """The canonical ``(out, in, *kernel)`` shape of a weight stored with ``shape``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"weight {weight.name!r} needs at least 2 dimensions, got shape {shape}")
    if weight.layout == "in_out":
        if len(shape) != 2:
            raise ValueError(f"weight {weight.name!r} with layout 'in_out' must be 2-D, got shape {shape}")
        return shape[1], shape[0]
    if weight.layout == "transposed":
        if shape[0] % weight.groups:
            raise ValueError(f"weight {weight.name!r}: {shape[0]} input channels in {weight.groups} groups")
        return shape[1] * weight.groups, shape[0] // weight.groups, *shape[2:]
    return shape


def block_shape(shape: Sequence[int], weight: WeightRule) -> tuple[int, ...]:
    """The canonical shape of one of the weight's ``blocks`` (the shape a method draws)."""
    canon = canonical_shape(shape, weight)
    if canon[0] % weight.blocks:
        raise ValueError(
            f"weight {weight.name!r}: {canon[0]} output rows do not split into {weight.blocks} blocks"
        )
    return canon[0] // weight.blocks, *canon[1:]


def to_stored(canonical: Tensor, weight: WeightRule) -> Tensor:
    """A canonical ``(out, in, *kernel)`` tensor in the layout the module stores."""
    if weight.layout == "in_out":
        return canonical.T
    if weight.layout == "transposed":
        out, in_group, *kernel = canonical.shape
        g = weight.groups
        grouped = canonical.reshape(g, out // g, in_group, *kernel).transpose(1, 2)
        return grouped.reshape(in_group * g, out // g, *kernel)
    return canonical


def shape_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Fan-in and fan-out of a canonical ``(out, in, *kernel)`` shape:
    ``(in · prod(kernel), out · prod(kernel))``.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"fan-in/fan-out need a weight with at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    if fan_in == 0 or fan_out == 0:
        raise ValueError(f"weight of shape {shape} has a zero fan-in or fan-out")
    return fan_in, fan_out


# ---------------------------------------------------------------------------------------------
# Built-in rules.

_PLAIN = LayerRule(weights=(WeightRule("weight"),), biases=(BiasRule("bias"),))


def _transposed_conv(module: nn.Module) -> LayerRule:
    groups = int(getattr(module, "groups", 1))
    return LayerRule((WeightRule("weight", layout="transposed", groups=groups),), (BiasRule("bias"),))


def _embedding(module: nn.Module) -> LayerRule:
    pad = getattr(module, "padding_idx", None)
    rows = () if pad is None else (int(pad),)
    return LayerRule((WeightRule("weight", role="embedding", zero_rows=rows),))


def _attention(module: nn.Module) -> LayerRule:
    if getattr(module, "in_proj_weight", None) is not None:
        weights: tuple[WeightRule, ...] = (
            WeightRule("in_proj_weight", blocks=3, block_names=("q", "k", "v")),
        )
    else:
        weights = tuple(WeightRule(f"{p}_proj_weight") for p in "qkv")
    first = weights[0].name
    biases = (BiasRule("in_proj_bias", first), BiasRule("bias_k", first), BiasRule("bias_v", first))
    return LayerRule(weights, biases)  # out_proj is a Linear of its own


def _recurrent(names: Sequence[str], gates: tuple[str, ...], hidden: int, forget: bool) -> LayerRule:
    """Rule of one RNN layer-direction: ``names`` = (weight_ih, weight_hh, bias_ih, bias_hh)."""
    w_ih, w_hh, b_ih, b_hh = names
    blocks = max(len(gates), 1)
    gate_block = (hidden, 2 * hidden) if forget else None
    return LayerRule(
        (
            WeightRule(w_ih, blocks=blocks, block_names=gates),
            WeightRule(w_hh, blocks=blocks, block_names=gates, role="recurrent"),
        ),
        (BiasRule(b_ih, w_ih, gate_block, 1.0), BiasRule(b_hh, w_hh, gate_block, 0.0)),
    )


def _gates(mode: str) -> tuple[str, ...]:
    return LSTM_GATES if mode == "LSTM" else GRU_GATES if mode == "GRU" else ()


def _rnn(module: nn.Module) -> LayerRule:
    assert isinstance(module, nn.RNNBase)
    gates = _gates(module.mode)
    weights: list[WeightRule] = []
    biases: list[BiasRule] = []
    for layer in range(module.num_layers):
        for sfx in ("", "_reverse")[: 1 + int(module.bidirectional)]:
            names = [f"{kind}_{part}_l{layer}{sfx}" for kind, part in (("weight", "ih"), ("weight", "hh"))]
            names += [f"bias_{part}_l{layer}{sfx}" for part in ("ih", "hh")]
            part = _recurrent(names, gates, module.hidden_size, module.mode == "LSTM")
            weights += part.weights
            biases += part.biases
            if module.proj_size > 0:
                weights.append(WeightRule(f"weight_hr_l{layer}{sfx}"))
    return LayerRule(tuple(weights), tuple(biases))


def _rnn_cell(module: nn.Module) -> LayerRule:
    assert isinstance(module, nn.RNNCellBase)
    mode = "LSTM" if isinstance(module, nn.LSTMCell) else "GRU" if isinstance(module, nn.GRUCell) else "RNN"
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return _recurrent(names, _gates(mode), module.hidden_size, mode == "LSTM")


def _prelu(module: nn.Module) -> LayerRule:
    return LayerRule(constants=(("weight", float(getattr(module, "init", 0.25))),))


def _hf_conv1d(module: nn.Module) -> LayerRule | None:
    weight = getattr(module, "weight", None)
    if not isinstance(weight, Tensor) or weight.dim() != 2:
        return None
    return LayerRule((WeightRule("weight", layout="in_out"),), (BiasRule("bias"),))


def _register_builtins() -> None:
    plain: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    transposed: tuple[type[nn.Module], ...] = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
    for cls in plain:
        register_layer_type(cls, _PLAIN)
    for cls in transposed:
        register_layer_type(cls, _transposed_conv)
    register_layer_type(nn.Embedding, _embedding)
    register_layer_type(nn.EmbeddingBag, _embedding)
    register_layer_type(nn.MultiheadAttention, _attention)
    register_layer_type(nn.RNNBase, _rnn)
    register_layer_type(nn.RNNCellBase, _rnn_cell)
    register_layer_type(nn.PReLU, _prelu)
    register_layer_type(HF_CONV1D, _hf_conv1d)


_register_builtins()
