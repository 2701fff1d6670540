"""The plan of :func:`~specinit.initializers.registry.init_`: what happens to every parameter of a
model, and why.

:func:`build_plan` walks the model once (:func:`specinit.nn.layers.walk`) and gives every
parameter one :class:`PlanRow`: ``"initialized"`` (drawn by the method, or by the recurrent /
embedding rule), ``"reset"`` (set to a constant: normalization layers and PReLU slopes with
``norms="reset"``), ``"kept"`` (normalization layers and PReLU slopes with ``norms="keep"``, a
tensor tied to one already in the plan), ``"skipped"`` (outside ``only=`` or inside ``skip=``)
or ``"left alone"`` (no layer rule names it: a LoRA ``Linear``'s extra ``A``, ``B``, a free
``nn.Parameter`` on a container, a layer type nobody registered — each with an
:class:`InitWarning` from ``init_``).  Nothing here draws or writes a tensor.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn
from torch.nn.utils import parametrize

from specinit._core.tables import text_table
from specinit.initializers.layer_rules import (
    BiasRule,
    LayerRule,
    WeightRule,
    block_shape,
    layer_rule,
    shape_fans,
)
from specinit.nn.layers import walk

__all__ = [
    "InitWarning",
    "PlanRow",
    "InitPlan",
    "Selector",
    "Task",
    "build_plan",
    "ACTIONS",
    "NORMS",
    "RECURRENT",
    "EMBEDDING",
]

#: What :func:`~specinit.initializers.registry.init_` does to a tensor.
Action = Literal["initialized", "reset", "kept", "skipped", "left alone"]
ACTIONS: tuple[str, ...] = ("initialized", "reset", "kept", "skipped", "left alone")
NORMS: tuple[str, ...] = ("keep", "reset")
RECURRENT: tuple[str, ...] = ("orthogonal", "method")
EMBEDDING: tuple[str, ...] = ("normal", "method")

#: A layer choice for ``only=`` / ``skip=``: a glob over qualified module or tensor names
#: (``"encoder.*"``), a module type, or a predicate ``(name, module) -> bool``.
Selector = str | type[nn.Module] | Callable[[str, nn.Module], bool]


class InitWarning(UserWarning):
    """``init_`` left parameters alone that it does not know, or the method assumes an activation
    the model does not compute.
    """


@dataclass(frozen=True)
class PlanRow:
    """One parameter: its qualified ``tensor`` name, the ``layer`` type that owns it, its stored
    ``shape``, the ``rule`` that fills it, the canonical per-block ``fan_in`` / ``fan_out``
    (``None`` for biases and constants), the ``action`` and the ``reason``.
    """

    tensor: str
    layer: str
    shape: tuple[int, ...]
    rule: str
    fan_in: int | None
    fan_out: int | None
    action: Action
    reason: str = ""


@dataclass(frozen=True)
class InitPlan:
    """Every parameter of a model and what ``init_`` does to it (:class:`PlanRow` s, in the order
    of ``model.named_modules()``), plus the ``warnings`` ``init_`` issues.
    """

    method: str
    rows: tuple[PlanRow, ...]
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """``InitPlan('xavier_normal': 12 initialized, 4 kept, 1 left alone)``."""
        counts: Counter[str] = Counter(row.action for row in self.rows)
        body = ", ".join(f"{counts[a]} {a}" for a in ACTIONS if counts[a])
        extra = f", {len(self.warnings)} warning{'s' * (len(self.warnings) != 1)}" if self.warnings else ""
        return f"InitPlan({self.method!r}: {body or 'no parameters'}{extra})"

    def names(self, action: Action) -> list[str]:
        """The tensors with ``action``, in plan order."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
        return [row.tensor for row in self.rows if row.action == action]

    def row(self, tensor: str) -> PlanRow:
        """The row of the qualified ``tensor`` name."""
        for row in self.rows:
            if row.tensor == tensor:
                return row
        raise KeyError(f"no tensor {tensor!r} in the plan")

    def table(self, *, markdown: bool = False) -> str:
        """The rows as an aligned text (or Markdown) table, warnings below."""
        cells = [
            {
                "tensor": row.tensor,
                "layer": row.layer,
                "shape": "×".join(map(str, row.shape)) or "scalar",
                "rule": row.rule,
                "fan_in": "" if row.fan_in is None else str(row.fan_in),
                "fan_out": "" if row.fan_out is None else str(row.fan_out),
                "action": row.action + (f" ({row.reason})" if row.reason else ""),
            }
            for row in self.rows
        ]
        text = text_table(cells, markdown=markdown) if cells else "(no parameters)"
        return "\n".join([text, *(f"warning: {w}" for w in self.warnings)])


@dataclass(frozen=True)
class Task:
    """One write of :func:`~specinit.initializers.registry.init_` (internal to the package):
    ``kind`` ``"method"`` / ``"orthogonal"`` / ``"normal"`` draw a weight block by block,
    ``"bias"`` applies the bias rule, ``"constant"`` fills ``value``, ``"norm"`` resets a
    normalization layer.  ``index`` is the layer index a method sees.
    """

    kind: Literal["method", "orthogonal", "normal", "bias", "constant", "norm"]
    module: nn.Module
    attr: str
    weight: WeightRule | None = None
    bias: BiasRule | None = None
    fan_in: int = 0
    value: float = 0.0
    index: int = -1


# ---------------------------------------------------------------------------------------------
# only= / skip=


def _selectors(value: Selector | Sequence[Selector] | None, name: str) -> tuple[Selector, ...]:
    if value is None:
        return ()
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    for item in items:
        ok = isinstance(item, str) or (isinstance(item, type) and issubclass(item, nn.Module))
        if not (ok or (callable(item) and not isinstance(item, type))):
            raise TypeError(
                f"{name}= takes globs, module types or predicates (name, module) -> bool, got {item!r}"
            )
    return items


def _describe(item: Selector) -> str:
    if isinstance(item, str):
        return repr(item)
    return item.__name__ if isinstance(item, type) else getattr(item, "__name__", "predicate")


def _hit(item: Selector, tensor: str, chain: Sequence[tuple[str, nn.Module]]) -> bool:
    """Does ``item`` select ``tensor``: its qualified name, its module or one of the ancestors?"""
    if isinstance(item, str):
        return fnmatch.fnmatchcase(tensor, item) or any(fnmatch.fnmatchcase(n, item) for n, _ in chain)
    if isinstance(item, type):
        return any(isinstance(m, item) for _, m in chain)
    return any(bool(item(n, m)) for n, m in chain)


class _Selection:
    def __init__(self, only: tuple[Selector, ...], skip: tuple[Selector, ...]) -> None:
        both = [item for item in only if item in skip]
        if both:
            raise ValueError(f"{_describe(both[0])} is in both only= and skip=")
        self.only, self.skip = only, skip

    def why_not(self, tensor: str, chain: Sequence[tuple[str, nn.Module]]) -> str:
        """Empty when ``tensor`` is selected, else the reason it is skipped."""
        hit = next((item for item in self.skip if _hit(item, tensor, chain)), None)
        if hit is not None:
            return f"skip={_describe(hit)}"
        if self.only and not any(_hit(item, tensor, chain) for item in self.only):
            return "not in only="
        return ""

    def check(self, modules: Sequence[tuple[str, nn.Module]], tensors: Iterable[str]) -> None:
        """A ``ValueError`` for a selector that matches no module and no tensor of the model."""
        names = list(tensors)
        for label, items in (("only", self.only), ("skip", self.skip)):
            for item in items:
                if isinstance(item, str):
                    found = any(fnmatch.fnmatchcase(n, item) for n in [*names, *(n for n, _ in modules)])
                else:
                    found = any(_hit(item, "", [pair]) for pair in modules)
                if not found:
                    raise ValueError(f"{label}={_describe(item)} matches no module or tensor of the model")


# ---------------------------------------------------------------------------------------------
# The walk.


def _chain(name: str, by_name: dict[str, nn.Module]) -> list[tuple[str, nn.Module]]:
    parts = name.split(".") if name else []
    names = [""] + [".".join(parts[: i + 1]) for i in range(len(parts))]
    return [(n, by_name[n]) for n in names if n in by_name]


def _underlying(module: nn.Module, attr: str) -> list[Tensor]:
    """The parameters that hold ``module.attr``: itself, or a parametrization's originals."""
    if parametrize.is_parametrized(module, attr):
        return list(module.parametrizations[attr].parameters())  # type: ignore[index, union-attr]
    tensor = getattr(module, attr)
    return [tensor]


def _via(module: nn.Module, attr: str) -> tuple[str, str]:
    """``(" via WeightNorm", "")`` for a parametrized tensor, or ``("", why)`` when one of its
    parametrizations has no ``right_inverse`` to set it through.
    """
    if not parametrize.is_parametrized(module, attr):
        return "", ""
    chain = list(module.parametrizations[attr])  # type: ignore[index]
    names = "·".join(type(p).__name__.lstrip("_") for p in chain)
    missing = [type(p).__name__ for p in chain if not hasattr(p, "right_inverse")]
    if missing:
        return "", f"parametrization {missing[0]} has no right_inverse"
    return f" via {names}", ""


def _head(row: PlanRow) -> tuple[str, str, tuple[int, ...], str, int | None, int | None]:
    return row.tensor, row.layer, row.shape, row.rule, row.fan_in, row.fan_out


def _tensor(module: nn.Module, attr: str, kind_name: str) -> Tensor | None:
    """``module.attr`` as a rule names it: a tensor, or ``None`` when the module has none."""
    value = getattr(module, attr, None)
    if value is not None and not isinstance(value, Tensor):
        raise TypeError(f"the {kind_name} layer rule names {attr!r}, which is not a tensor")
    return value


def _weight_rule_text(method: str, w: WeightRule, kind: str) -> str:
    base = {"method": method, "orthogonal": "orthogonal (gain 1)", "normal": "N(0, 1)"}[kind]
    if w.blocks > 1:
        names = f" ({', '.join(w.block_names)})" if w.block_names else ""
        base += f" ×{w.blocks} blocks{names}"
    if w.layout != "out_in":
        base += f", layout {w.layout}"
    if w.zero_rows:
        base += f", row {', '.join(map(str, w.zero_rows))} zero"
    return base


def _bias_text(bias_rule: object, b: BiasRule, forget_bias: float | None) -> str:
    text = {"zeros": "bias 0", "uniform": "bias U(±1/√fan_in)"}.get(str(bias_rule), f"bias {bias_rule}")
    if b.forget_gate is not None and forget_bias is not None:
        text += f", forget gate {forget_bias * b.forget_share:g}"
    return text


def build_plan(
    model: nn.Module,
    method: str,
    *,
    only: Selector | Sequence[Selector] | None = None,
    skip: Selector | Sequence[Selector] | None = None,
    norms: str = "keep",
    recurrent: str = "orthogonal",
    embedding: str = "normal",
    forget_bias: float | None = 1.0,
    bias_rule: object = "zeros",
) -> tuple[InitPlan, list[Task]]:
    """The plan of a layer method on ``model`` and the writes that carry it out, in order."""
    for value, name, choices in (
        (norms, "norms", NORMS),
        (recurrent, "recurrent", RECURRENT),
        (embedding, "embedding", EMBEDDING),
    ):
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    selection = _Selection(_selectors(only, "only"), _selectors(skip, "skip"))
    modules = [(name, module) for name, module, _ in walk(model)]
    by_name = dict(modules)
    norm_ids = {id(m) for _, m, kind in walk(model) if kind == "norm"}
    rows: list[PlanRow] = []
    tasks: list[Task] = []
    covered: dict[int, str] = {}  # id of a parameter → the qualified tensor that holds it
    warned: list[str] = []
    index = 0
    weights_seen = False

    def add(row: PlanRow, task: Task | None = None, held: Iterable[Tensor] = ()) -> None:
        rows.append(row)
        for tensor in held:
            covered.setdefault(id(tensor), row.tensor)
        if task is not None and row.action in ("initialized", "reset"):
            tasks.append(task)

    def not_drawn(row: PlanRow, why: str, broken: str = "") -> PlanRow:
        """``row`` skipped (``why``), left alone (``broken``: warned), or ``row`` itself."""
        if why:
            return PlanRow(*_head(row), "skipped", why)
        if broken:
            warned.append(row.tensor)
            return PlanRow(*_head(row), "left alone", broken)
        return row

    def rule_rows(
        rule: LayerRule, module: nn.Module, prefix: str, chain: list[tuple[str, nn.Module]]
    ) -> None:
        nonlocal index, weights_seen
        kind_name = type(module).__name__
        fans: dict[str, int] = {}
        for w in rule.weights:
            tensor = _tensor(module, w.name, kind_name)
            if tensor is None:
                continue
            shape, held = tuple(tensor.shape), _underlying(module, w.name)
            fan_in, fan_out = shape_fans(block_shape(shape, w))
            fans[w.name] = fan_in
            weights_seen = True
            tied = next((covered[id(t)] for t in held if id(t) in covered), None)
            kind: Literal["method", "orthogonal", "normal"] = (
                "normal"
                if w.role == "embedding" and embedding == "normal"
                else "orthogonal"
                if w.role == "recurrent" and recurrent == "orthogonal"
                else "method"
            )
            via, broken = _via(module, w.name)
            row = PlanRow(
                prefix + w.name,
                kind_name,
                shape,
                _weight_rule_text(method, w, kind) + via,
                None if kind == "normal" else fan_in,  # a lookup table drawn N(0, 1): no fans
                None if kind == "normal" else fan_out,
                "initialized",
            )
            if tied is not None:
                add(PlanRow(*_head(row), "kept", f"tied to {tied}"))
                continue
            row = not_drawn(row, selection.why_not(row.tensor, chain), broken)
            add(row, Task(kind, module, w.name, weight=w, index=index if kind == "method" else -1), held)
            index += int(kind == "method" and row.action == "initialized")
        for b in rule.biases:
            tensor = _tensor(module, b.name, kind_name)
            if tensor is None:
                continue
            held = _underlying(module, b.name)
            if rule.weights:
                fan = fans.get(b.weight or rule.weights[0].name, 1)
            else:
                fan = 1
            row = PlanRow(
                prefix + b.name,
                kind_name,
                tuple(tensor.shape),
                _bias_text(bias_rule, b, forget_bias),
                None,
                None,
                "initialized",
            )
            tied = next((covered[id(t)] for t in held if id(t) in covered), None)
            if tied is not None:
                add(PlanRow(*_head(row), "kept", f"tied to {tied}"))
                continue
            row = not_drawn(row, selection.why_not(row.tensor, chain), _via(module, b.name)[1])
            add(row, Task("bias", module, b.name, bias=b, fan_in=fan), held)
        for cname, value in rule.constants:
            tensor = _tensor(module, cname, kind_name)
            if tensor is None:
                continue
            why = selection.why_not(prefix + cname, chain)
            action: Action = "kept" if norms == "keep" else "skipped" if why else "reset"
            reason = "norms='keep'" if norms == "keep" else why
            row = PlanRow(
                prefix + cname,
                kind_name,
                tuple(tensor.shape),
                f"constant {value:g}",
                None,
                None,
                action,
                reason,
            )
            add(row, Task("constant", module, cname, value=value), _underlying(module, cname))

    for name, module in modules:
        prefix = f"{name}." if name else ""
        chain = _chain(name, by_name)
        kind_name = type(module).__name__
        if id(module) in norm_ids:
            why = selection.why_not(name, chain)
            action: Action = "kept" if norms == "keep" else "skipped" if why else "reset"
            reason = "norms='keep'" if norms == "keep" else why
            own = list(module.named_parameters(recurse=False))
            stats = getattr(module, "running_mean", None)
            entries = [(prefix + pname, tuple(p.shape), "norm: 1, 0", [p]) for pname, p in own]
            if isinstance(stats, Tensor):
                entries.append(
                    (prefix + "running_mean/var", tuple(stats.shape), "norm: running statistics", [])
                )
            for i, (tname, shape, text, held) in enumerate(entries):
                task = Task("norm", module, "") if i == 0 else None
                add(PlanRow(tname, kind_name, shape, text, None, None, action, reason), task, held)
            continue
        rule = layer_rule(module)
        if rule is not None:
            if any(
                isinstance(p, nn.parameter.UninitializedParameter) for p in module.parameters(recurse=False)
            ):
                raise TypeError(
                    f"layer {name or '<root>'!r} ({kind_name}) is lazy: run a batch through it first"
                )
            rule_rows(rule, module, prefix, chain)
        for pname, p in module.named_parameters(recurse=False):
            if id(p) in covered:
                continue
            reason = f"no layer rule for {kind_name}" if rule is None else f"not in the {kind_name} rule"
            row = PlanRow(prefix + pname, kind_name, tuple(p.shape), "—", None, None, "left alone")
            add(not_drawn(row, selection.why_not(row.tensor, chain), reason), None, [p])
    selection.check(modules, (row.tensor for row in rows))
    if not any(task.kind in ("method", "orthogonal", "normal") for task in tasks):
        if not weights_seen:
            raise TypeError(
                f"{type(model).__name__} has no supported layers (no weight a layer rule names) to initialize"
            )
        raise ValueError("only=/skip= leave no weight to initialize")
    warnings: tuple[str, ...] = ()
    if warned:
        shown = ", ".join(warned[:6]) + (f" and {len(warned) - 6} more" if len(warned) > 6 else "")
        warnings = (f"left alone (no layer rule names them): {shown}; register_layer_type or skip= them",)
    return InitPlan(method, tuple(rows), warnings), tasks
