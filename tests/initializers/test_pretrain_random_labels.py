"""The "random_labels" high-bandwidth start (arXiv 2206.08558, Exp 4): pre-train on shuffled labels."""

import pytest
import torch

import specinit
from specinit.data import balanced_subset, digits, random_labels
from specinit.nn.models import mlp, resnet_small, vgg_small


@pytest.fixture(scope="module")
def small_digits():
    split = digits(generator=0)
    return balanced_subset(split.x_train, split.y_train, 200, generator=0)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return mlp(64, [256, 256], 10, "relu")


def _seed_drawn_from(generator_seed):
    # The documented contract: one seed s drawn from the generator drives init, labels and training.
    return int(torch.randint(0, 2**31 - 1, (), generator=torch.Generator().manual_seed(generator_seed)))


def _same(a, b):
    return all(
        torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_memorizes_the_shuffled_labels_not_the_true_ones(small_digits):
    x, y = small_digits
    net = specinit.init_(
        _mlp(), "random_labels", data=x, targets=y, epochs=30, lr=3e-3, batch_size=50, generator=0
    )
    shuffled = random_labels(y, generator=_seed_drawn_from(0))
    assert (shuffled != y).float().mean() > 0.8  # the labels really moved
    assert specinit.accuracy(net, x, shuffled) > 0.8  # chance is 0.1
    assert specinit.accuracy(net, x, y) < 0.25


def test_init_is_base_init_then_pretraining_with_the_drawn_seed(small_digits):
    x, y = small_digits
    a = specinit.init_(
        _mlp(1),
        "random_labels",
        data=x,
        targets=y,
        epochs=2,
        lr=3e-3,
        batch_size=64,
        base="kaiming_normal",
        generator=4,
    )
    s = _seed_drawn_from(4)
    b = specinit.init_(_mlp(2), "kaiming_normal", generator=s)
    specinit.pretrain_random_labels_(b, x, y, epochs=2, lr=3e-3, batch_size=64, generator=s)
    assert _same(a, b)


def test_same_generator_same_weights_whatever_the_previous_weights(small_digits):
    x, y = small_digits
    kwargs = dict(data=x, targets=y, epochs=1, batch_size=64)
    a = specinit.init_(_mlp(1), "random_labels", generator=3, **kwargs)
    b = specinit.init_(_mlp(2), "random_labels", generator=torch.Generator().manual_seed(3), **kwargs)
    c = specinit.init_(_mlp(1), "random_labels", generator=5, **kwargs)
    assert _same(a, b)
    assert not _same(a, c)


def test_pretraining_reaches_high_accuracy_on_its_own_labels(small_digits):
    x, y = small_digits
    net = specinit.init_(_mlp(), "xavier_normal", generator=0)
    out = specinit.pretrain_random_labels_(
        net, x.numpy(), y.numpy(), epochs=30, lr=3e-3, batch_size=50, generator=11
    )
    assert out is net
    assert specinit.accuracy(net, x, random_labels(y, generator=11)) > 0.8


@pytest.mark.parametrize("make", [vgg_small, resnet_small])
def test_small_cnns_on_a_tiny_28x28_batch(make):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 1, 28, 28, generator=gen)
    y = torch.arange(16) % 10
    nets = [make(1, 10, widths=(8, 16)) for _ in range(2)]
    for net in nets:
        net.eval()
    before = [p.detach().clone() for p in nets[0].parameters()]
    for net in nets:
        specinit.init_(
            net,
            "random_labels",
            data=x,
            targets=y,
            epochs=1,
            batch_size=8,
            base="kaiming_normal",
            generator=0,
        )
    assert _same(*nets)
    assert not nets[0].training and not any(m.training for m in nets[0].modules())  # mode restored
    assert any(not torch.equal(p, q) for p, q in zip(before, nets[0].parameters(), strict=True))
    bn = next(m for m in nets[0].modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert int(bn.num_batches_tracked) == 2  # one epoch of two mini-batches, after the norm reset
    assert all(torch.isfinite(p).all() for p in nets[0].parameters())


def test_needs_data_and_integer_targets(small_digits):
    x, y = small_digits
    with pytest.raises(ValueError, match="data-driven"):
        specinit.init_(_mlp(), "random_labels", epochs=1)
    net = _mlp()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match="needs targets="):
        specinit.init_(net, "random_labels", data=x, epochs=1)
    with pytest.raises(TypeError, match="integer class labels"):
        specinit.init_(net, "random_labels", data=x, targets=y.float(), epochs=1)
    with pytest.raises(TypeError, match="integer class labels"):
        specinit.init_(net, "random_labels", data=x, targets=y[:, None], epochs=1)
    with pytest.raises(ValueError, match="different numbers of samples"):
        specinit.init_(net, "random_labels", data=x[:10], targets=y, epochs=1)
    with pytest.raises(ValueError, match="epochs must be"):
        specinit.init_(net, "random_labels", data=x, targets=y, epochs=0)
    with pytest.raises(ValueError, match="lr must be"):
        specinit.init_(net, "random_labels", data=x, targets=y, lr=-1.0)
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters(), strict=True))  # refused untouched
    with pytest.raises(ValueError, match="class label 9 but the model has 5 outputs"):
        specinit.init_(mlp(64, [8], 5), "random_labels", data=x, targets=y, epochs=1)
    with pytest.raises(TypeError, match="takes no option.*seed"):
        specinit.init_(net, "random_labels", data=x, targets=y, seed=0)


def test_progress_is_an_option_of_every_pretraining_start(small_digits, capsys):
    x, y = small_digits
    specinit.init_(_mlp(), "random_labels", data=x, targets=y, epochs=1, progress=True, generator=0)
    assert "random-label pre-training" in capsys.readouterr().err
    net = specinit.models.coordinate_mlp(1, 16, 2)
    specinit.init_(net, "high_frequency", freq=2.0, steps=3, progress=False, generator=0)
    specinit.init_(net, "dc", steps=3, progress=False, generator=0)
    assert "random_labels" in specinit.methods()
