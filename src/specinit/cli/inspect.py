"""``specinit inspect``: the init doctor (:mod:`specinit.doctor`) on a model built by the user's code.

``MODULE:FACTORY`` names a callable in an importable module or a ``.py`` file; ``--arg KEY=VALUE``
values are read by the factory's annotations through the one config parser
(:func:`specinit.lab.config.coerce`).  The factory returns the model, or ``(model, x)`` /
``(model, x, y)`` with an example batch (token ids, say) used when neither ``--input-shape`` nor
``--data`` is given.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import torch
from torch import Tensor, nn

from specinit import data
from specinit._core.placement import resolve_device, to_device
from specinit._core.rng import as_generator, fork_rng
from specinit.doctor import (
    Diagnosis,
    Suggestion,
    compare,
    comparison_table,
    diagnose,
    fit_input_layout,
    plot_comparison,
    report_markdown,
    suggest,
)
from specinit.lab.config import ConfigError, coerce
from specinit.nn.layers import chosen_layers

__all__ = ["inspect_command", "load_factory", "factory_kwargs"]


def load_factory(spec: str) -> Callable[..., Any]:
    """The callable named by ``MODULE:FACTORY``: ``MODULE`` an importable dotted path or a
    ``.py`` file; ``FACTORY`` an attribute path (``Net`` or ``zoo.make``) in it.

    Raises:
        ValueError: no ``:``; ModuleNotFoundError / FileNotFoundError: the module is not found;
        AttributeError: no such attribute; TypeError: it is not callable.

    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected MODULE:FACTORY (e.g. mypkg.nets:build or nets.py:Net), got {spec!r}")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise FileNotFoundError(f"model file {str(path)!r} not found")
        name = f"_specinit_user_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:  # pragma: no cover - .py always loads
            raise ImportError(f"cannot import {str(path)!r}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up here
        loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"module {module_name!r} not found ({exc}); give an importable module path or a .py file"
            ) from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise AttributeError(f"{module_name!r} has no attribute {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec!r} is a {type(target).__name__}, not a callable returning an nn.Module")
    return target


def _hints(factory: Callable[..., Any]) -> dict[str, Any]:
    """The factory's parameter annotations (a class's ``__init__``'s), resolved; {} if they cannot be."""
    # mypy calls reading __init__ off a class unsound (a subclass may override it); here the
    # class's own __init__ is exactly what we want the annotations of.
    target = factory.__init__ if isinstance(factory, type) else factory  # type: ignore[misc]
    try:
        return typing.get_type_hints(target)
    except Exception:  # unresolvable annotations: every value is read as a literal
        return {}


def factory_kwargs(
    factory: Callable[..., Any], kwargs_json: str | None, args: Sequence[str]
) -> dict[str, Any]:
    """The factory's keyword arguments: ``--kwargs`` JSON, then each ``--arg KEY=VALUE`` converted
    by the factory's annotation of ``KEY`` (a Python literal or a string where there is none).
    """
    out: dict[str, Any] = {}
    if kwargs_json:
        try:
            parsed = json.loads(kwargs_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--kwargs") from None
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--kwargs")
        out.update(parsed)
    hints = _hints(factory)
    for text in args:
        key, eq, value = text.partition("=")
        key = key.strip()
        if not eq or not key:
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--arg")
        try:
            out[key] = coerce(hints.get(key, Any), value.strip(), key)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--arg") from None
    return out


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise click.BadParameter(
            f"{text!r} is not a list of positive sizes like 1,28,28", param_hint="--input-shape"
        )
    return shape


def _data_batch(name: str, batch: int, seed: int, data_dir: Path | None) -> tuple[Tensor, Tensor]:
    """``batch`` class-balanced test images of ``digits``, ``mnist``, ``fashion-mnist`` (shaped
    ``(N, 1, H, W)``), ``cifar10`` or ``cifar100`` (``(N, 3, 32, 32)``).
    """
    if name == "digits":
        split = data.digits(flatten=False, generator=seed)
        return data.balanced_subset(split.x_test, split.y_test, batch, generator=seed)
    loaders = {"mnist": data.mnist, "fashion-mnist": data.fashion_mnist, "cifar10": data.cifar10}
    load, classes = loaders.get(name, data.cifar100), 100 if name == "cifar100" else 10
    split = load(data_dir=data_dir, limit_train=classes, limit_test=batch, generator=seed)
    return split.x_test, split.y_test


def _feature_axis(text: str) -> str | int:
    """``auto`` or an int axis, for ``--feature-axis``."""
    if text.strip() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not auto or an integer axis like 1 or -1", param_hint="--feature-axis"
        ) from None


def _split_example(built: Any, factory: str) -> tuple[nn.Module, tuple[Tensor, Tensor | None] | None]:
    """The model and the factory's example batch ``(x, y or None)``, if it returned one."""
    if isinstance(built, nn.Module):
        return built, None
    if isinstance(built, (tuple, list)) and len(built) in (2, 3) and isinstance(built[0], nn.Module):
        batch = tuple(built[1:])
        if all(isinstance(t, Tensor) for t in batch):
            return built[0], (batch[0], batch[1] if len(batch) == 2 else None)
    raise click.ClickException(
        f"{factory} returned a {type(built).__name__}, not a torch.nn.Module "
        "(nor (model, x) or (model, x, y) with tensors)"
    )


@click.command(
    "inspect", short_help="Diagnose a model's start per layer; flag problems; suggest initializers."
)
@click.argument("factory", metavar="MODULE:FACTORY")
@click.option(
    "--arg",
    "args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Keyword argument for the factory (repeatable; values are Python literals or strings).",
)
@click.option(
    "--kwargs",
    "kwargs_json",
    default=None,
    metavar="JSON",
    help="Factory keyword arguments as a JSON object, e.g. '{\"depth\": 20}'.",
)
@click.option(
    "--input-shape",
    default=None,
    metavar="D1,D2,...",
    help="Shape of one sample (no batch axis) for a seeded N(0, 1) batch, e.g. 1,28,28.",
)
@click.option(
    "--input-dtype",
    type=click.Choice(["float", "long"]),
    default="float",
    show_default=True,
    help="float: an N(0, 1) batch; long: token ids drawn uniformly from [0, --vocab-size).",
)
@click.option(
    "--vocab-size",
    type=click.IntRange(min=1),
    default=None,
    help="Number of token ids for --input-dtype long.",
)
@click.option(
    "--data",
    "dataset",
    type=click.Choice(["digits", "mnist", "fashion-mnist", "cifar10", "cifar100"]),
    default=None,
    help="Use a class-balanced batch of test images (and their labels) instead.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding mnist/, fashion-mnist/ and the CIFAR folders (else $SPECINIT_DATA).",
)
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    metavar="DEVICE",
    help="Where the model and the batch run: cpu, cuda, cuda:N or mps (refused in one line when "
    "this machine lacks it).",
)
@click.option("--batch", type=click.IntRange(min=2), default=256, show_default=True, help="Batch size.")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seeds the factory's global RNG, the batch, surrogate targets, Hessian start and "
    "re-initializations.",
)
@click.option(
    "--hessian-iters",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Lanczos restarts (about 20 Hessian-vector products each) for the top Hessian "
    "eigenvalue; 0 skips it.",
)
@click.option(
    "--layers",
    "layer_names",
    default=None,
    metavar="NAME[,NAME...]",
    help="Record exactly these modules (qualified names as in model.named_modules()) instead of "
    "every non-linearity the model computes.",
)
@click.option(
    "--feature-axis",
    default="auto",
    show_default=True,
    metavar="auto|1|-1",
    help="The axis of each recorded output holding the features (dead units, effective rank): "
    "auto decides per output (last for (N, L, D) sequences, 1 for (N, C, H, W) channels).",
)
@click.option(
    "--suggest/--no-suggest",
    "do_suggest",
    default=True,
    show_default=True,
    help="Suggest initializers and measure the model re-initialized with each.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write report.md and doctor.png into this folder.",
)
def inspect_command(
    factory: str,
    args: tuple[str, ...],
    kwargs_json: str | None,
    input_shape: str | None,
    input_dtype: str,
    vocab_size: int | None,
    dataset: str | None,
    data_dir: Path | None,
    device: str,
    batch: int,
    seed: int,
    hessian_iters: int,
    layer_names: str | None,
    feature_axis: str,
    do_suggest: bool,
    out: Path | None,
) -> None:
    """Diagnose the start of the model FACTORY builds: signal, saturation, dead units, rank,
    gradients, bandwidth and curvature per layer; flag problems; suggest initializers.

    MODULE is an importable module (mypkg.nets) or a .py file (nets.py); FACTORY a callable in
    it returning an nn.Module, or (model, x) / (model, x, y) with an example batch.  Give
    --input-shape (with --input-dtype long --vocab-size V for token ids) or --data, or let the
    factory return the batch.
    """
    if input_shape is not None and dataset is not None:
        raise click.UsageError("give only one of --input-shape and --data")
    if input_dtype == "long" and vocab_size is None:
        raise click.BadParameter("--input-dtype long needs --vocab-size V", param_hint="--vocab-size")
    if vocab_size is not None and input_dtype != "long":
        raise click.BadParameter("--vocab-size needs --input-dtype long", param_hint="--vocab-size")
    axis = _feature_axis(feature_axis)
    try:
        target = resolve_device(device)
    except ValueError as exc:  # a device this machine lacks: one line, before the model is built
        raise click.ClickException(str(exc)) from None
    try:
        build = load_factory(factory)
    except (ValueError, ImportError, FileNotFoundError, AttributeError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="MODULE:FACTORY") from None
    kwargs = factory_kwargs(build, kwargs_json, args)
    try:
        with fork_rng(seed):  # the factory's own random init
            model = build(**kwargs)
    except Exception as exc:  # the user's code: report whatever it raised
        raise click.ClickException(f"{factory}(**{kwargs}) raised {type(exc).__name__}: {exc}") from None
    model, example = _split_example(model, factory)
    y = None
    if input_shape is not None:
        shape = (batch, *_shape(input_shape))
        if input_dtype == "long":
            assert vocab_size is not None  # checked above
            x = torch.randint(0, vocab_size, shape, generator=as_generator(seed))
        else:
            x = torch.randn(shape, generator=as_generator(seed))
    elif dataset is not None:
        try:
            x, y = _data_batch(dataset, batch, seed, data_dir)
        except (FileNotFoundError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    elif example is not None:
        x, y = example
    else:
        raise click.UsageError(
            "give --input-shape or --data, or let the factory return (model, example_batch)"
        )
    layers = None
    if layer_names is not None:
        layers = [name.strip() for name in layer_names.split(",") if name.strip()]
        try:
            chosen_layers(model, layers)
        except (ValueError, TypeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--layers") from None
    options: dict[str, Any] = {"layers": layers, "feature_axis": axis, "hessian_iters": hessian_iters}
    model, x, y = to_device(model, target), to_device(x, target), to_device(y, target)
    try:
        x = fit_input_layout(model, x)
        before = diagnose(model, x, y, generator=seed, **options)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(before.text())
    suggestions: list[Suggestion] = []
    results: dict[str, Diagnosis] = {"as built": before}
    if do_suggest:
        try:
            suggestions = suggest(model, before, data=y is not None)
        except TypeError as exc:
            click.echo(f"\nno initializer suggested: {exc}")
        if suggestions:
            click.echo("\nsuggested initializers:")
            for s in suggestions:
                click.echo(f"  {s.label}: {s.reason}")
            try:
                results.update(compare(model, x, y, suggestions, generator=seed, **options))
            except (ValueError, TypeError) as exc:
                raise click.ClickException(f"comparing the suggested initializers failed: {exc}") from None
            click.echo("\nbefore and after (same batch, seed " + str(seed) + "):")
            click.echo(comparison_table(results))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        fig = plot_comparison(results)
        fig.savefig(out / "doctor.png", dpi=120)
        if input_shape is not None:
            source = f"--input-shape {input_shape}"
            if input_dtype == "long":
                source += f" --input-dtype long --vocab-size {vocab_size}"
        else:
            source = f"--data {dataset}" if dataset is not None else "(the factory's example batch)"
        if layer_names is not None:
            source += f" --layers {layer_names}"
        if feature_axis != "auto":
            source += f" --feature-axis {feature_axis}"
        given = [f"--kwargs '{json.dumps(kwargs, default=str)}'"] if kwargs else []
        settings = " ".join(
            [
                factory,
                *given,
                source,
                f"--batch {batch}",
                f"--seed {seed}",
                f"--hessian-iters {hessian_iters}",
                *([f"--device {device}"] if target.type != "cpu" else []),
            ]
        )
        text = report_markdown(
            before,
            results if len(results) > 1 else None,
            suggestions,
            title=f"specinit inspect {factory}",
            command=f"specinit inspect {settings}",
            figure="doctor.png",
        )
        (out / "report.md").write_text(text)
        click.echo(f"\nreport: {out / 'report.md'}")
