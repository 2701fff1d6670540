"""The one rule for differentiating any model twice, and for saying why it failed.

Hessian-vector products (``∇_θ (∇_θ L · v)``, Pearlmutter 1994) need the derivative of every
backward formula the model uses, and the NTK's ``torch.func.vmap(jacrev(f))`` needs a batching
rule for them.  Two of torch's own paths lack them:

* **attention** — ``F.scaled_dot_product_attention`` (``nn.MultiheadAttention``,
  ``nn.TransformerEncoder``, HuggingFace BERT and GPT-2) dispatches to fused kernels (flash,
  memory-efficient, cuDNN) whose backward has no derivative ("derivative for
  aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented") and no vmap
  batching rule; the math backend is plain matmul + softmax and supports both.  Likewise
  ``nn.MultiheadAttention``'s and ``nn.TransformerEncoderLayer``'s fast path
  (``torch._native_multi_head_attention``, taken in eval mode when no gradient is needed);
* **cuDNN recurrent layers** — ``_cudnn_rnn_backward`` has no derivative (CUDA only; the CPU
  kernel of ``nn.LSTM``/``nn.GRU`` differentiates twice).

:func:`double_backward_safe` routes around both for the duration of a measurement, and
:func:`measurement_errors` turns what remains — an op of the user's model without a
double-backward formula, a ``vmap`` restriction — into one line naming the op, the layer and
the workaround (a :class:`MeasurementError`, a ``ValueError``), keeping torch's error as
``__cause__``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = [
    "MeasurementError",
    "double_backward_safe",
    "measurement_errors",
    "differentiable",
    "refuse_once_differentiable",
]


class MeasurementError(ValueError):
    """A measurement cannot differentiate the model as it needs to (raised as a ``ValueError``).

    The message is one line: what was measured, the torch op and the layer (qualified module
    name) that failed, and the workaround; torch's own error is the ``__cause__``.
    """


# --------------------------------------------------------------------------- routing


@contextmanager
def double_backward_safe(model: nn.Module | None = None) -> Iterator[None]:
    """Run attention (and, on CUDA, recurrent layers) through kernels with double backward and vmap rules.

    * ``F.scaled_dot_product_attention`` uses the math backend only
      (``torch.nn.attention.sdpa_kernel([SDPBackend.MATH])``; on torch < 2.3,
      ``torch.backends.cuda.sdp_kernel(enable_flash=False, enable_mem_efficient=False)``, which
      also governs the CPU flash kernel);
    * the fast path of ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` is switched
      off (``torch.backends.mha.set_fastpath_enabled(False)``), so ``torch.func`` transforms
      always see the differentiable composite ops;
    * if ``model`` has a recurrent layer (``nn.RNNBase``) on CUDA, cuDNN is disabled
      (``_cudnn_rnn_backward`` has no derivative).

    Numbers are unchanged up to round-off (the math backend computes the same function); every
    setting is restored on exit.
    """
    with ExitStack() as stack:
        attention = getattr(torch.nn, "attention", None)
        if attention is not None and hasattr(attention, "sdpa_kernel"):
            stack.enter_context(attention.sdpa_kernel([attention.SDPBackend.MATH]))
        else:  # pragma: no cover - torch < 2.3
            stack.enter_context(
                torch.backends.cuda.sdp_kernel(
                    enable_flash=False, enable_mem_efficient=False, enable_math=True
                )
            )
        mha = getattr(torch.backends, "mha", None)
        if mha is not None and hasattr(mha, "set_fastpath_enabled"):
            was = mha.get_fastpath_enabled()
            mha.set_fastpath_enabled(False)
            stack.callback(mha.set_fastpath_enabled, was)
        if model is not None and _has_cuda_rnn(model):  # pragma: no cover - needs CUDA
            stack.enter_context(torch.backends.cudnn.flags(enabled=False))
        yield


def _has_cuda_rnn(model: nn.Module) -> bool:
    return any(
        isinstance(m, nn.RNNBase) and any(p.is_cuda for p in m.parameters(recurse=False))
        for m in model.modules()
    )


# --------------------------------------------------------------------------- error translation

#: torch messages this module recognises: pattern → kind (the op is the pattern's first group).
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"derivative for '?(?:aten::)?([\w.]+?)'? is not implemented"), "derivative"),
    (re.compile(r"marked with @once_differentiable"), "once"),
    (re.compile(r"[Bb]atching rule not implemented for ([\w:.]+)"), "batching"),
    (
        re.compile(
            r"vmap: .*(?:in-?place|inplace)|output with shape \[[\d, ]*\] doesn't match the broadcast"
        ),
        "inplace",
    ),
    (re.compile(r"vmap: .*(?:\.item\(\)|data-dependent control flow)"), "item"),
    (re.compile(r"vmap: .*random"), "random"),
    (re.compile(r"does not require grad and does not have a grad_fn"), "nograd"),
)


@contextmanager
def measurement_errors(
    model: nn.Module, what: str, *, replay: Callable[[], Any] | None = None
) -> Iterator[None]:
    """Re-raise autodiff / ``torch.func`` failures in the block as a one-line :class:`MeasurementError`.

    Recognised: a missing derivative ("derivative for X is not implemented", a custom
    ``autograd.Function`` marked ``@once_differentiable``), a missing vmap batching rule, vmap's
    refusal of in-place updates, ``.item()``/data-dependent control flow and random ops, and a
    model output that does not depend on the parameters.  Any other error passes through
    unchanged (it is the model's own, e.g. a shape mismatch).

    The layer is the innermost submodule of ``model`` whose ``forward`` is in the error's
    traceback (errors raised in the forward pass); for an error raised in a backward pass,
    ``replay`` (a callable running the model's forward once) is run under a dispatch mode that
    records which submodule called the failing op's forward.  ``what`` names the measurement
    (``"hessian_trace"``, ``"ntk"``).
    """
    try:
        yield
    except (RuntimeError, NotImplementedError) as exc:
        message = str(exc)
        for pattern, kind in _PATTERNS:
            match = pattern.search(message)
            if match is not None:
                op = match.group(1) if match.groups() else None
                layer = _layer_in_traceback(model, exc.__traceback__)
                if layer is None and op is not None and replay is not None:
                    layer = _layer_calling(model, op, replay)
                raise MeasurementError(_explain(what, kind, op, layer, model)) from exc
        raise


@contextmanager
def differentiable(model: nn.Module, what: str, *, replay: Callable[[], Any] | None = None) -> Iterator[None]:
    """:func:`double_backward_safe` and :func:`measurement_errors` together: the context every
    measurement that differentiates a model runs in.
    """
    with measurement_errors(model, what, replay=replay), double_backward_safe(model):
        yield


def refuse_once_differentiable(output: torch.Tensor, what: str) -> None:
    """Raise a :class:`MeasurementError` if the graph of ``output`` holds a custom
    ``autograd.Function`` whose backward is marked ``@once_differentiable``.

    torch raises for those only when the incoming gradient itself requires grad; otherwise its
    second derivative is silently taken as 0, so a Hessian-vector product would quietly miss
    terms.  One walk over the graph's nodes.
    """
    seen: set[int] = set()
    todo = [output.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        forward_cls = getattr(node, "_forward_cls", None)
        backward = getattr(forward_cls, "backward", None)
        if forward_cls is not None and "once_differentiable" in getattr(backward, "__qualname__", ""):
            raise MeasurementError(
                f"{what} failed: the custom autograd.Function {forward_cls.__name__} is marked "
                "@once_differentiable (no second derivative); give it a differentiable backward or "
                "restrict params= to the layers after it"
            )
        todo.extend(next_node for next_node, _ in node.next_functions)


def _explain(
    what: str, kind: str, op: str | None, layer: tuple[str, nn.Module] | None, model: nn.Module
) -> str:
    """One line: measurement, op, layer, workaround."""
    where = f" in layer {layer[0]!r} ({type(layer[1]).__name__})" if layer is not None else ""
    exclude = (
        f"restrict params= to layers after {layer[0]!r} (their derivatives do not pass through it)"
        if layer is not None and layer[0]
        else "restrict params= to layers after the failing one (their derivatives do not pass through it)"
    )
    rnn = any(isinstance(m, nn.RNNBase) for m in model.modules())
    if kind == "derivative":
        if op is not None and "cudnn_rnn" in op:
            fix = (
                "cuDNN's LSTM/GRU kernel has no double backward: "
                "run under torch.backends.cudnn.flags(enabled=False)"
            )
        elif op is not None and ("scaled_dot_product" in op or "attention" in op):
            fix = (
                "a fused attention kernel has no double backward: call F.scaled_dot_product_attention "
                "without forcing a backend (specinit selects the math backend), or "
                f"{exclude}"
            )
        else:
            fix = f"replace the op by differentiable torch ops or {exclude}"
        head = f"torch has no derivative for {op}" + (
            " (needed for second derivatives)" if "backward" in (op or "") else ""
        )
        return f"{what} failed: {head}{where}; {fix}"
    if kind == "once":
        return (
            f"{what} failed: a custom autograd.Function{where} is marked @once_differentiable "
            f"(no second derivative); give it a differentiable backward or {exclude}"
        )
    if kind == "batching":
        return (
            f"{what} failed: torch.func.vmap has no batching rule for {op}{where}; "
            f"replace the op or {exclude}"
        )
    if kind == "inplace":
        return (
            f"{what} failed: an in-place update{where} writes a larger tensor into a smaller one "
            "(under torch.func.vmap: an unbatched tensor updated from a batched one, e.g. "
            "h = torch.zeros(d); h += x); write it out of place (h = h + x)"
        )
    if kind == "item":
        return (
            f"{what} failed: torch.func.vmap cannot run .item() or data-dependent control flow{where} "
            "(if tensor: ...); use torch.where or keep the condition out of forward"
        )
    if kind == "random":
        return (
            f"{what} failed: the model draws random numbers in forward{where} "
            "(dropout or noise outside nn.Dropout); run it in eval mode / disable dropout"
        )
    tip = (
        "; nn.LSTM/nn.GRU outputs depend on their weights, so check for .detach() or torch.no_grad()"
        if rnn
        else ""
    )
    return (
        f"{what} failed: the model's output does not depend on the parameters being differentiated{where} "
        f"(a .detach(), torch.no_grad() or frozen parameters in forward?){tip}"
    )


def _named(model: nn.Module) -> dict[int, tuple[str, nn.Module]]:
    return {id(m): (name, m) for name, m in model.named_modules()}


def _layer_in_traceback(model: nn.Module, tb: TracebackType | None) -> tuple[str, nn.Module] | None:
    """The innermost submodule of ``model`` that is ``self`` in a frame of ``tb``."""
    modules = _named(model)
    found = None
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, nn.Module) and id(owner) in modules:
            found = modules[id(owner)]
        tb = tb.tb_next
    return found


class _OpFinder(TorchDispatchMode):
    """Records the module stack's top when an aten op whose name starts with ``stem`` runs."""

    def __init__(self, stem: str, stack: list[nn.Module]) -> None:
        super().__init__()
        self.stem, self.stack = stem, stack
        self.found: nn.Module | None = None

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        if self.found is None and self.stack and func.__name__.split(".")[0].startswith(self.stem):
            self.found = self.stack[-1]
        return func(*args, **(kwargs or {}))


def _layer_calling(model: nn.Module, op: str, replay: Callable[[], Any]) -> tuple[str, nn.Module] | None:
    """The submodule whose forward calls the forward op of ``op`` (``X_backward`` → ``X…``), found
    by running ``replay`` once more under a dispatch mode; ``None`` if it cannot be found.
    """
    stem = op.split("::")[-1]
    stem = stem[: -len("_backward")] if stem.endswith("_backward") else stem
    modules = _named(model)
    stack: list[nn.Module] = []

    def enter(module: nn.Module, _args: Any) -> None:
        stack.append(module)

    def leave(module: nn.Module, _args: Any, _out: Any) -> None:
        stack.pop()

    handles = []
    for _, module in modules.values():
        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    finder = _OpFinder(stem, stack)
    try:
        with double_backward_safe(model), torch.enable_grad(), finder:
            replay()
    except Exception:  # best effort: the op's name is reported anyway
        pass
    finally:
        for handle in handles:
            handle.remove()
    return None if finder.found is None else modules[id(finder.found)]
