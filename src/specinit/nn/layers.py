"""The one walk over a model's layers: which modules hold weights, normalize, or activate.

Every part of specinit that looks inside a model — :func:`specinit.init_`, the per-layer
learning-rate rule, signal propagation, the layer spectra, SWIM, the hyperplane view of shallow
nets, the NTK's Linear-layer route and the doctor — classifies modules by :func:`walk`:

* ``"weight"``: ``nn.Linear`` and ``nn.Conv1d/2d/3d`` (:data:`WEIGHT_LAYERS`);
* ``"norm"``: batch, instance, layer, group and RMS normalization (:data:`NORM_LAYERS`);
* ``"activation"``: a pointwise non-linearity (:func:`specinit.nn.activations.is_activation`);
* ``"container"``: a module with submodules and no parameters of its own;
* ``"other"``: anything else (with parameters of its own: a layer no initializer knows).

>>> from specinit.nn import models
>>> net = models.mlp(2, [8], 1, "tanh")
>>> [(name, kind) for name, _, kind in walk(net)]
[('', 'container'), ('0', 'weight'), ('1', 'activation'), ('2', 'weight')]
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence

from torch import Tensor, nn
from torch.nn.modules.batchnorm import _NormBase

from specinit.nn.activations import Activation, ActivationModule, from_function, from_module, is_activation

__all__ = [
    "WEIGHT_LAYERS",
    "NORM_LAYERS",
    "NormLayer",
    "walk",
    "weight_and_bias",
    "weight_layers",
    "norm_layers",
    "activation_layers",
    "init_layers",
    "activations_used",
    "chosen_layers",
    "mlp_chain",
    "shallow_parts",
]

#: Layers with a ``weight`` (and optional ``bias``) that initializers fill.
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

#: Normalization layers (reset to weight 1, bias 0 by :func:`specinit.init_`).
NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
)

#: The type of the layers in :data:`NORM_LAYERS` (the batch and instance norms share ``_NormBase``).
NormLayer = _NormBase | nn.LayerNorm | nn.GroupNorm | nn.RMSNorm


def _kind(module: nn.Module) -> str:
    if isinstance(module, WEIGHT_LAYERS):
        return "weight"
    if isinstance(module, NORM_LAYERS):
        return "norm"
    if is_activation(module):
        return "activation"
    if next(module.parameters(recurse=False), None) is None and next(module.children(), None) is not None:
        return "container"
    return "other"


def walk(model: nn.Module) -> Iterator[tuple[str, nn.Module, str]]:
    """``(qualified name, module, kind)`` for every module of ``model`` in registration order
    (the root's name is ``""``); kinds as in the module docstring.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, module in model.named_modules():
        yield name, module, _kind(module)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs of the Linear/Conv layers, in registration order."""
    return [(name, m) for name, m, kind in walk(model) if kind == "weight"]


def weight_and_bias(layer: nn.Module) -> tuple[Tensor, Tensor | None]:
    """The ``weight`` and the ``bias`` (``None`` when it has none) of a weight layer."""
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    if not isinstance(weight, Tensor) or not (bias is None or isinstance(bias, Tensor)):
        raise TypeError(f"{type(layer).__name__} is not a weight layer with weight and bias tensors")
    return weight, bias


def norm_layers(model: nn.Module) -> list[NormLayer]:
    """The normalization layers, in registration order."""
    return [
        m
        for _, m, kind in walk(model)
        if kind == "norm" and isinstance(m, (_NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm))
    ]


def activation_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs of the activation modules (specinit's and ``torch.nn``'s),
    in registration order — the forward order for sequential models.
    """
    return [(name, m) for name, m, kind in walk(model) if kind == "activation"]


def activations_used(model: nn.Module) -> list[tuple[str, Activation]]:
    """Every activation ``model`` declares without running it: its activation modules
    (:func:`~specinit.nn.activations.from_module`) and activation *functions* stored on a module
    (``nn.TransformerEncoderLayer.activation = F.relu``,
    :func:`~specinit.nn.activations.from_function`), as ``(qualified name, activation)`` in
    registration order.  Functional calls written inside a ``forward`` are seen only by running
    the model (:class:`specinit.nn.recording.ActivationRecorder`).
    """
    found: list[tuple[str, Activation]] = []
    for name, module, kind in walk(model):
        act = from_module(module) if kind == "activation" else None
        if act is not None:
            found.append((name, act))
            continue
        for attr, value in vars(module).items():
            if callable(value) and not isinstance(value, nn.Module):
                fn_act = from_function(value)
                if fn_act is not None:
                    found.append((f"{name}.{attr}" if name else attr, fn_act))
    return found


def init_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The weight layers an initializer fills; a ``TypeError`` for a module with parameters of its
    own that is neither a weight layer nor a normalization layer (never silently left as it was).
    """
    layers: list[tuple[str, nn.Module]] = []
    for name, module, kind in walk(model):
        if kind == "weight":
            layers.append((name or type(module).__name__, module))
        elif kind != "norm" and next(module.parameters(recurse=False), None) is not None:
            raise TypeError(
                f"layer {name or '<root>'!r} ({type(module).__name__}) has parameters but is not "
                f"supported; supported layers: {', '.join(t.__name__ for t in WEIGHT_LAYERS)} "
                "(normalization layers are reset)"
            )
    if not layers:
        raise TypeError(
            f"{type(model).__name__} has no supported layers "
            f"({', '.join(t.__name__ for t in WEIGHT_LAYERS)}) to initialize"
        )
    return layers


def chosen_layers(model: nn.Module, layers: Sequence[nn.Module | str] | None) -> list[nn.Module]:
    """The modules a per-layer measurement records: ``layers`` (checked: a non-empty sequence of
    distinct submodules of ``model``, or their qualified names as in ``model.named_modules()``)
    or, by default, every activation module.

    An unknown name is a one-line ``ValueError`` listing the closest names.
    """
    if layers is None:
        found = [m for _, m in activation_layers(model)]
        if not found:
            raise ValueError(
                f"{type(model).__name__} has no activation module to record (no specinit "
                "ActivationModule nor a torch.nn activation such as nn.Tanh, nn.ReLU); "
                "pass layers=[...] to choose the modules"
            )
        return found
    if isinstance(layers, (nn.Module, str)) or not isinstance(layers, Sequence):
        raise TypeError("layers must be a sequence of nn.Module or of module names (e.g. a list)")
    if not layers:
        raise ValueError("layers is empty: give at least one module to record")
    owned = {id(m) for m in model.modules()}
    named = dict(model.named_modules())
    chosen: list[nn.Module] = []
    for i, module in enumerate(layers):
        if isinstance(module, str):
            if module not in named or not module:
                close = difflib.get_close_matches(module, [n for n in named if n], n=5, cutoff=0.5)
                hint = f"; close matches: {', '.join(close)}" if close else ""
                raise ValueError(
                    f"{type(model).__name__} has no submodule named {module!r}{hint} "
                    "(names as in model.named_modules())"
                )
            module = named[module]
        if not isinstance(module, nn.Module):
            raise TypeError(f"layers[{i}] must be an nn.Module or a module name, got {type(module).__name__}")
        if id(module) not in owned:
            kind = type(module).__name__
            raise ValueError(
                f"layers[{i}] ({kind}) is not a submodule of model: {kind} never ran in its forward pass"
            )
        chosen.append(module)
    return list(dict.fromkeys(chosen))


def mlp_chain(model: nn.Module, who: str = "mlp_chain") -> tuple[list[nn.Linear], Activation | None]:
    """The Linear layers of a fully connected ``Linear → f → … → f → Linear`` chain and its one
    activation ``f`` (``None`` for a single Linear); a ``TypeError`` naming what breaks the chain
    (``who`` starts the message, e.g. ``"SWIM"``).

    Accepts an ``nn.Sequential`` (as built by :func:`specinit.nn.models.mlp`) or a module wrapping
    one as ``.net`` (:class:`~specinit.nn.models.CoordinateMLP`).  Every activation must be the
    same (specinit or ``torch.nn`` module).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    net = model if isinstance(model, nn.Sequential) else getattr(model, "net", model)
    expected = "an nn.Sequential Linear → activation → ... → Linear (as built by specinit.nn.models.mlp)"
    if not isinstance(net, nn.Sequential) or len(net) == 0:
        raise TypeError(f"{who} needs {expected}, got {type(model).__name__}")
    acts: dict[str, Activation] = {}
    linears: list[nn.Linear] = []
    for index, module in enumerate(net):
        if index % 2 == 0:
            if not isinstance(module, nn.Linear):
                raise TypeError(
                    f"{who} needs {expected}; module {index} is {type(module).__name__}, not Linear"
                )
            linears.append(module)
        else:
            act = from_module(module)
            if act is None:
                raise TypeError(
                    f"{who} needs {expected}; module {index} is {type(module).__name__}, not an activation"
                )
            acts[act.describe()] = act
    if len(net) % 2 == 0:
        raise TypeError(f"{who} needs {expected}; the last module is not a Linear layer")
    if len(acts) > 1:
        raise TypeError(f"{who} needs every hidden layer to use the same activation, got {', '.join(acts)}")
    return linears, next(iter(acts.values()), None)


def shallow_parts(model: nn.Module) -> tuple[nn.Linear, Activation, nn.Linear]:
    """The hidden ``Linear``, the activation and the output ``Linear`` of a shallow network.

    Accepts an ``nn.Sequential`` of exactly ``Linear → activation → Linear`` (as built by
    ``specinit.nn.models.mlp(d, [K], m)``) or a :class:`~specinit.nn.models.CoordinateMLP`
    wrapping one; the activation is a parameter-free activation module (specinit's or
    ``torch.nn``'s, :func:`~specinit.nn.activations.from_module`).  Anything else is a
    ``TypeError`` naming the modules found; a hidden width that does not match the output
    layer's ``in_features`` is a ``ValueError``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    net = getattr(model, "net", model) if not isinstance(model, nn.Sequential) else model
    if not isinstance(net, nn.Sequential):
        raise TypeError(
            f"not a shallow network: expected nn.Sequential(Linear, activation, Linear), got "
            f"{type(model).__name__}"
        )
    kinds = [type(m).__name__ for m in net]
    if len(net) != 3 or not isinstance(net[0], nn.Linear) or not isinstance(net[2], nn.Linear):
        raise TypeError(
            f"not a shallow network: expected Linear → activation → Linear (one hidden layer), "
            f"got {' → '.join(kinds) or 'an empty Sequential'}"
        )
    hidden, middle, out = net[0], net[1], net[2]
    act = from_module(middle)
    if act is None or next(middle.parameters(), None) is not None:
        raise TypeError(
            "not a shallow network: the middle module must be a parameter-free activation "
            f"(a specinit ActivationModule or a torch.nn activation), got {type(middle).__name__}"
        )
    if hidden.out_features != out.in_features:
        raise ValueError(
            f"mismatched feature sizes: the hidden layer has {hidden.out_features} outputs but "
            f"the output layer expects {out.in_features} inputs"
        )
    return hidden, act, out


def specinit_activations(model: nn.Module) -> list[ActivationModule]:
    """The specinit :class:`ActivationModule` s among the activation layers, in order."""
    return [m for _, m in activation_layers(model) if isinstance(m, ActivationModule)]
