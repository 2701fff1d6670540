"""The seeded training loop: convergence, determinism, callbacks, epochs, modes, errors."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from specinit._core.placement import module_mode
from specinit.nn import models
from specinit.training import (
    LrSearch,
    TrainingDiverged,
    TrainResult,
    TrainState,
    accuracy,
    evaluate_loss,
    param_groups,
    train,
    tune_lr,
)


def linear_data(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3


def seeded(build, seed: int = 0):
    """``build()`` with a fixed global seed inside a fork, so tests leave the global RNG alone."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


def linear_model(seed: int = 0) -> nn.Linear:
    return seeded(lambda: nn.Linear(3, 1), seed)


def blobs(n: int = 90, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three well separated Gaussian blobs in 2D, labels 0..2."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    centres = torch.tensor([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    return centres[labels] + 0.5 * torch.randn(n, 2, generator=g), labels


def test_linear_model_converges():
    x, y = linear_data()
    model = linear_model()
    result = train(model, x, y, lr=0.1, steps=300, progress=False)
    assert isinstance(result, TrainResult)
    assert result.steps == 300 and result.losses.shape == (300,)
    assert result.final_loss == pytest.approx(evaluate_loss(model, x, y), rel=1e-6)
    assert result.losses[-1] < result.losses[0] / 100
    torch.testing.assert_close(model.weight.detach(), torch.tensor([[1.0, -2.0, 0.5]]), atol=1e-3, rtol=0)
    assert result.seconds > 0


def test_same_seed_is_bit_identical_and_leaves_global_rng_alone():
    x, y = linear_data(50)
    start = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
    models = [copy.deepcopy(start) for _ in range(3)]
    rng_before = torch.get_rng_state()
    options = dict(lr=0.05, momentum=0.9, epochs=4, batch_size=8, progress=False)
    runs = [train(m, x, y, generator=s, **options) for m, s in zip(models, (7, 7, 8), strict=True)]
    assert torch.equal(torch.get_rng_state(), rng_before)
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)
    assert not np.array_equal(runs[0].losses, runs[2].losses)


def test_divergence_raises_with_step_and_advice():
    x, y = linear_data()
    model = linear_model()
    model.eval()
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+: mse loss is (nan|inf).*smaller lr"):
        train(model, x, 1e3 * y, lr=1e3, steps=200, progress=False)
    assert not model.training  # mode restored on the way out
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_diverged_model_holds_the_weights_that_gave_the_non_finite_loss():
    """Nothing is rolled back: the weights are those after the last step that had a finite loss."""
    x, y = linear_data()
    model = linear_model()
    seen: list[tuple[int, dict[str, torch.Tensor]]] = []

    def snapshot(state: TrainState) -> None:
        seen.append((state.step, copy.deepcopy(state.model.state_dict())))

    with pytest.raises(TrainingDiverged, match=r"at step (\d+)") as info:
        train(model, x, 1e3 * y, lr=1e3, steps=200, callbacks=[snapshot], progress=False)
    step, weights = seen[-1]  # the callback ran after the last applied update
    assert f"at step {step + 1}:" in str(info.value)
    for name, value in model.state_dict().items():
        assert torch.equal(value, weights[name])
    with torch.no_grad():
        assert not math.isfinite(F.mse_loss(model(x), 1e3 * y).item())  # these weights diverge


def test_callbacks_see_step_zero_then_every_step():
    x, y = linear_data(20)
    model = linear_model()
    seen: list[tuple[int, int, bool, float]] = []

    def callback(state: TrainState) -> None:
        seen.append((state.step, state.epoch, state.model.training, state.loss))

    result = train(model, x, y, lr=0.01, steps=5, callbacks=[callback], progress=False)
    assert [s[0] for s in seen] == [0, 1, 2, 3, 4, 5]
    assert [s[1] for s in seen] == [0, 1, 2, 3, 4, 5]  # full batch: one step is one epoch
    assert all(s[2] for s in seen)
    assert math.isnan(seen[0][3])
    np.testing.assert_array_equal([s[3] for s in seen[1:]], result.losses)


class RowRecorder(nn.Module):
    """Linear model that remembers which rows (encoded in feature 0) each forward saw."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.batches: list[list[int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.batches.append(x[:, 0].long().tolist())
        return self.linear(x)


def test_mini_batch_epochs_cover_every_row_once():
    x = torch.stack([torch.arange(10.0), torch.zeros(10)], dim=1)
    y = torch.zeros(10, 1)
    model = RowRecorder()
    epochs: list[int] = []
    result = train(
        model,
        x,
        y,
        lr=1e-3,
        epochs=3,
        batch_size=3,
        progress=False,
        callbacks=[lambda s: epochs.append(s.epoch)],
    )
    assert result.steps == 12  # ceil(10 / 3) = 4 steps per epoch
    assert [len(b) for b in model.batches] == [3, 3, 3, 1] * 3
    for e in range(3):
        assert sorted(sum(model.batches[4 * e : 4 * e + 4], [])) == list(range(10))
    assert model.batches[:4] != model.batches[4:8]  # reshuffled each epoch
    assert epochs == [0] + [1] * 4 + [2] * 4 + [3] * 4
    assert result.history["epoch"] == [1, 2, 3]
    assert train(RowRecorder(), x, y, steps=6, batch_size=3, progress=False).steps == 6


def test_modes_of_every_submodule_are_restored():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    model.train()
    model[1].eval()  # a frozen batch norm, as in fine-tuning
    x, y = linear_data(16)
    train(model, x, y, steps=2, progress=False)
    assert [m.training for m in model.modules()] == [True, True, False, True]
    with module_mode(model, training=False):
        assert not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == [True, True, False, True]


def test_classification_history_and_helpers():
    x, y = blobs()
    xv, yv = blobs(30, seed=1)
    model = seeded(lambda: nn.Linear(2, 3))
    result = train(
        model,
        x,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.05,
        epochs=6,
        batch_size=30,
        x_val=xv,
        y_val=yv.numpy(),
        progress=False,
    )
    history = result.history
    assert history["step"] == [3, 6, 9, 12, 15, 18]
    assert set(history) == {"step", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert history["val_accuracy"][-1] == 1.0 and history["train_accuracy"][-1] == 1.0
    assert history["train_loss"][0] == pytest.approx(result.losses[:3].mean())
    assert accuracy(model, xv, yv) == 1.0
    with torch.no_grad():
        expected = F.cross_entropy(model(xv), yv).item()
    assert evaluate_loss(model, xv, yv, loss="cross_entropy", chunk_size=7) == pytest.approx(
        expected, rel=1e-5
    )
    assert model.training


def test_default_history_is_thinned_and_eval_every_is_honoured():
    x, y = linear_data(16)
    long = train(linear_model(), x, y, lr=0.01, steps=500, progress=False)
    assert len(long.history["step"]) == 100 and long.history["step"][-1] == 500
    custom = train(linear_model(), x, y, lr=0.01, steps=10, eval_every=4, progress=False)
    assert custom.history["step"] == [4, 8, 10]


def test_tol_stops_early_and_custom_loss():
    x, y = linear_data()
    result = train(linear_model(), x, y, lr=0.1, steps=1000, tol=1e-3, progress=False)
    assert result.steps < 1000 and result.losses[-1] < 1e-3 and result.final_loss < 1e-3
    assert np.all(result.losses[:-1] >= 1e-3)
    l1 = train(
        linear_model(), x, y, loss=lambda p, t: (p - t).abs().mean(), lr=0.05, steps=50, progress=False
    )
    assert l1.losses[-1] < l1.losses[0]


def test_mse_reshapes_flat_targets():
    x, y = linear_data()
    flat = train(linear_model(), x, y.squeeze(1), lr=0.1, steps=20, progress=False)
    column = train(linear_model(), x, y, lr=0.1, steps=20, progress=False)
    np.testing.assert_array_equal(flat.losses, column.losses)
    with pytest.raises(ValueError, match=r"output shape \(64, 1\) does not match target shape \(64, 2\)"):
        train(linear_model(), x, y.repeat(1, 2), steps=1, progress=False)


def test_progress_bar_reports_rate_and_loss(capsys):
    x, y = linear_data(16)
    train(linear_model(), x, y, steps=3, desc="fit", progress=True)
    err = capsys.readouterr().err
    assert "fit" in err and "step/s" in err and "loss=" in err
    train(linear_model(), x, y, steps=3, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"y": torch.zeros(5, 1)}, ValueError, "different numbers of samples: 64 vs 5"),
        ({"x": torch.full((64, 3), float("nan"))}, ValueError, "x contains 192 NaN/inf"),
        ({"y": torch.full((64, 1), float("inf"))}, ValueError, "y contains 64 NaN/inf"),
        ({"loss": "cross_entropy"}, TypeError, "integer class labels in y .*float32"),
        ({"loss": "hinge"}, ValueError, "unknown loss 'hinge'"),
        ({"loss": 3}, TypeError, "loss must be"),
        ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'"),
        ({"optimizer": "adam", "momentum": 0.9}, ValueError, "momentum applies to optimizer='sgd'"),
        ({"lr": 0.0}, ValueError, "lr must be a finite positive"),
        ({"lr": -1.0}, ValueError, "lr must be a finite positive"),
        ({"steps": None}, ValueError, "exactly one of steps= or epochs="),
        ({"epochs": 2}, ValueError, "exactly one of steps= or epochs="),
        ({"steps": 0}, ValueError, "steps must be an integer >= 1, got 0"),
        ({"steps": 2.0}, TypeError, "steps must be an integer, got 2.0"),
        ({"steps": True}, TypeError, "steps must be an integer, got True"),
        ({"steps": None, "epochs": -1}, ValueError, "epochs must be an integer >= 1"),
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
        ({"lr": "0.1"}, TypeError, "lr must be a real number"),
        ({"lr": True}, TypeError, "lr must be a real number"),
        ({"x_val": torch.zeros(4, 3)}, ValueError, "both x_val and y_val"),
        ({"callbacks": [1]}, TypeError, "callbacks must be callable"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"generator": 1.5}, TypeError, "generator must be a torch.Generator, an int seed or None"),
    ],
)
def test_bad_input(change, error, match):
    x, y = linear_data()
    args = {"x": x, "y": y, "steps": 1, "progress": False} | change
    with pytest.raises(error, match=match):
        train(linear_model(), args.pop("x"), args.pop("y"), **args)


def test_bad_classification_labels_and_parameterless_model():
    x, _ = blobs(9)
    with pytest.raises(ValueError, match="non-negative, found -1"):
        train(nn.Linear(2, 3), x, torch.full((9,), -1), loss="cross_entropy", steps=1, progress=False)
    with pytest.raises(ValueError, match="must be 1-D"):
        train(
            nn.Linear(2, 3),
            x,
            torch.zeros(9, 1, dtype=torch.long),
            loss="cross_entropy",
            steps=1,
            progress=False,
        )
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(nn.Tanh(), x, x, steps=1, progress=False)


def test_labels_beyond_the_model_outputs_are_named():
    x, y = blobs(9)  # labels 0..2
    message = r"y holds class label 2 but the model has 2 outputs \(labels must lie in 0..1\)"
    with pytest.raises(ValueError, match=message):
        train(nn.Linear(2, 2), x, y, loss="cross_entropy", steps=1, progress=False)
    with pytest.raises(ValueError, match="y_val holds class label 5 but the model has 3 outputs"):
        train(
            nn.Linear(2, 3),
            x,
            y,
            loss="cross_entropy",
            x_val=x[:2],
            y_val=torch.tensor([0, 5]),
            steps=1,
            progress=False,
        )
    with pytest.raises(ValueError, match="y holds class label 2 but the model has 2 outputs"):
        evaluate_loss(nn.Linear(2, 2), x, y, loss="cross_entropy")
    with pytest.raises(ValueError, match=r"needs \(n, classes\) model outputs, got shape \(9,\)"):
        train(
            nn.Sequential(nn.Linear(2, 1), nn.Flatten(0)), x, y, loss="cross_entropy", steps=1, progress=False
        )


# --------------------------------------------------------------------------- final loss


def test_final_loss_is_the_full_training_loss_of_the_final_weights():
    x, y = linear_data(50)
    model = seeded(lambda: nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.3), nn.Linear(8, 1)))
    result = train(model, x, y, lr=0.05, epochs=3, batch_size=16, progress=False)
    # losses[-1] is one mini-batch before the last update, with dropout; final_loss is not
    assert result.final_loss == pytest.approx(evaluate_loss(model, x, y), rel=1e-6)
    assert result.final_loss != pytest.approx(result.losses[-1], rel=1e-3)
    assert model.training and model[1].training  # modes restored after the final evaluation


def test_non_finite_final_loss_counts_as_divergence():
    """A last update that blows the weights up is caught though every step's loss was finite."""
    x, y = linear_data(8)
    model = linear_model()
    with pytest.raises(TrainingDiverged, match=r"after the last step \(1\): mse loss is (inf|nan)"):
        train(model, x, y, lr=1e30, steps=1, progress=False)


# --------------------------------------------------------------------------- tune_lr


def test_tune_lr_selects_on_the_loss_after_training():
    """With one full-batch step every run's step loss is the same (same initial model), so only
    the loss of the final weights can tell the learning rates apart."""
    x, y = linear_data()
    search = tune_lr(linear_model, x, y, [1e-4, 0.1, 1e-2], steps=1, progress=False)
    assert isinstance(search, LrSearch) and search.lr == 0.1
    assert list(search.final_losses) == [1e-4, 0.1, 1e-2]
    assert search.final_losses[0.1] < search.final_losses[1e-2] < search.final_losses[1e-4]
    assert search.result.final_loss == search.final_losses[0.1]
    assert search.final_losses[0.1] == pytest.approx(evaluate_loss(search.model, x, y), rel=1e-6)
    # the returned model is the one trained with the chosen lr
    reference = linear_model()
    train(reference, x, y, lr=0.1, steps=1, progress=False)
    torch.testing.assert_close(search.model.weight, reference.weight, rtol=0, atol=0)


def test_tune_lr_skips_diverging_rates_and_raises_when_all_diverge():
    x, y = linear_data()
    options = dict(steps=200, progress=False)
    search = tune_lr(linear_model, x, 1e3 * y, [1e3, 1e-2, 1e-3], **options)
    assert search.final_losses[1e3] == math.inf
    assert search.lr == 1e-2 and math.isfinite(search.final_losses[1e-2])
    with pytest.raises(TrainingDiverged, match=r"lr=10000\)"):  # the last failure is re-raised
        tune_lr(linear_model, x, 1e3 * y, [1e3, 1e4], **options)
    with pytest.raises(ValueError, match="at least one learning rate"):
        tune_lr(linear_model, x, y, [], **options)


def test_param_groups_depth_rule_scales_middle_layers():
    net = models.mlp(3, [8, 8, 8, 8], 2, "tanh", norm="batch")
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    (one,) = param_groups(net, 0.1)
    assert len(one["params"]) == len(list(net.parameters())) and "lr" not in one
    ends, middle = param_groups(net, 0.1, "depth")
    end_ids = {id(p) for m in (linears[0], linears[-1]) for p in m.parameters()}
    assert {id(p) for p in ends["params"]} == end_ids
    assert middle["lr"] == pytest.approx(0.1 / 3)  # 5 weight layers, 3 in the middle
    # Every other parameter (middle Linear layers and every BatchNorm) is in the middle group.
    assert len(middle["params"]) == len(list(net.parameters())) - 4
    shallow = models.mlp(3, [8], 2, "tanh")
    assert len(param_groups(shallow, 0.1, "depth")) == 1
    with pytest.raises(ValueError, match="unknown lr_rule"):
        param_groups(net, 0.1, "layerwise")


def test_train_depth_rule_moves_middle_layers_less():
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randn(64, 1, generator=torch.Generator().manual_seed(1))
    start = models.mlp(4, [16] * 11, 1, "tanh")
    moved = {}
    for rule in ("uniform", "depth"):
        net = copy.deepcopy(start)
        before = [m.weight.detach().clone() for m in net if isinstance(m, torch.nn.Linear)]
        train(net, x, y, optimizer="adam", lr=1e-2, steps=1, progress=False, lr_rule=rule)
        after = [m.weight.detach() for m in net if isinstance(m, torch.nn.Linear)]
        moved[rule] = [float((a - b).abs().max()) for a, b in zip(after, before, strict=True)]
    # Adam's first step moves every weight with a gradient by lr: by lr/10 in the 10 middle layers.
    assert moved["uniform"] == pytest.approx([1e-2] * 12, rel=1e-3)
    assert moved["depth"] == pytest.approx([1e-2] + [1e-3] * 10 + [1e-2], rel=1e-3)


# --------------------------------------------------------------------------- mixed precision


def test_amp_runs_the_steps_in_bfloat16_on_the_cpu_and_keeps_the_rest_in_float32() -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 4, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    seen: list[torch.dtype] = []
    base = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    plain, mixed = copy.deepcopy(base), copy.deepcopy(base)
    hook = mixed[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    kwargs = {"loss": "cross_entropy", "optimizer": "adam", "lr": 1e-2, "steps": 30, "progress": False}
    a = train(plain, x, y, **kwargs)
    b = train(mixed, x, y, amp=True, callbacks=[lambda state: seen.append("callback")], **kwargs)
    hook.remove()
    # steps in bf16; the callbacks and the final full-precision loss see float32 forward passes
    assert seen.count(torch.bfloat16) == 30 and torch.float32 in seen
    assert all(p.dtype == torch.float32 for p in mixed.parameters())
    assert b.final_loss < b.losses[0] and math.isclose(a.final_loss, b.final_loss, rel_tol=0.2)
    assert not np.array_equal(a.losses, b.losses)  # bf16 rounding changes the trajectory


def test_amp_refuses_a_float64_model() -> None:
    with pytest.raises(ValueError, match="amp=True needs a float32 model"):
        train(
            nn.Linear(2, 1).double(), torch.zeros(4, 2), torch.zeros(4, 1), steps=1, amp=True, progress=False
        )
