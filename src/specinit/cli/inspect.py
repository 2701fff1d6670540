"""``specinit inspect``: the init doctor (:mod:`specinit.doctor`) on a model built by the user's code.

``MODULE:FACTORY`` names a callable in an importable module or a ``.py`` file; ``--arg KEY=VALUE``
values are read by the factory's annotations through the one config parser
(:func:`specinit.lab.config.coerce`).
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
    """``batch`` class-balanced test images of ``digits``, ``mnist`` or ``fashion-mnist``,
    shaped ``(N, 1, H, W)``.
    """
    if name == "digits":
        split = data.digits(flatten=False, generator=seed)
        return data.balanced_subset(split.x_test, split.y_test, batch, generator=seed)
    load = data.mnist if name == "mnist" else data.fashion_mnist
    split = load(data_dir=data_dir, limit_train=10, limit_test=batch, generator=seed)
    return split.x_test, split.y_test


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
    "--data",
    "dataset",
    type=click.Choice(["digits", "mnist", "fashion-mnist"]),
    default=None,
    help="Use a class-balanced batch of test images (and their labels) instead.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding mnist/ and fashion-mnist/ (else $SPECINIT_DATA).",
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
    dataset: str | None,
    data_dir: Path | None,
    batch: int,
    seed: int,
    hessian_iters: int,
    do_suggest: bool,
    out: Path | None,
) -> None:
    """Diagnose the start of the model FACTORY builds: signal, saturation, dead units, rank,
    gradients, bandwidth and curvature per layer; flag problems; suggest initializers.

    MODULE is an importable module (mypkg.nets) or a .py file (nets.py); FACTORY a callable in
    it returning an nn.Module.  Give --input-shape or --data.
    """
    if (input_shape is None) == (dataset is None):
        raise click.UsageError("give exactly one of --input-shape and --data")
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
    if not isinstance(model, nn.Module):
        raise click.ClickException(f"{factory} returned a {type(model).__name__}, not a torch.nn.Module")
    y = None
    if input_shape is not None:
        x = torch.randn((batch, *_shape(input_shape)), generator=as_generator(seed))
    else:
        assert dataset is not None  # exactly one of input_shape and dataset, checked above
        try:
            x, y = _data_batch(dataset, batch, seed, data_dir)
        except (FileNotFoundError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    try:
        x = fit_input_layout(model, x)
        before = diagnose(model, x, y, generator=seed, hessian_iters=hessian_iters)
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
            results.update(compare(model, x, y, suggestions, generator=seed, hessian_iters=hessian_iters))
            click.echo("\nbefore and after (same batch, seed " + str(seed) + "):")
            click.echo(comparison_table(results))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        fig = plot_comparison(results)
        fig.savefig(out / "doctor.png", dpi=120)
        source = f"--input-shape {input_shape}" if input_shape is not None else f"--data {dataset}"
        given = [f"--kwargs '{json.dumps(kwargs, default=str)}'"] if kwargs else []
        settings = " ".join(
            [
                factory,
                *given,
                source,
                f"--batch {batch}",
                f"--seed {seed}",
                f"--hessian-iters {hessian_iters}",
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
