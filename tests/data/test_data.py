"""Tests for specinit.data: 1D signals, splits and subsets, and the MNIST / Fashion-MNIST loaders.

The image tests read the real IDX files (found as ``data_dir()`` finds them: ``SPECINIT_DATA``
or ``shared/data`` beside the checkout) and check them against the values published in the
datasets' README.
"""

from __future__ import annotations

import gzip
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from specinit import data as D

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _counts(y: torch.Tensor, k: int = 10) -> list[int]:
    return torch.bincount(y, minlength=k).tolist()


# ------------------------------------------------------------------ sinusoids


def test_sinusoid_values_at_known_points():
    f = D.sinusoids([1.0, 3.0], [2.0, 0.5], [0.0, math.pi / 2])
    x = torch.tensor([0.0, 0.25, 0.5, 1 / 12], dtype=torch.float64)
    expected = [
        0.5,  # 2 sin 0 + 0.5 sin(π/2)
        2.0 + 0.5 * math.sin(1.5 * math.pi + math.pi / 2),  # 2 + 0.5 sin(2π)
        0.5 * math.sin(3 * math.pi + math.pi / 2),  # -0.5
        2 * math.sin(math.pi / 6) + 0.5 * math.sin(math.pi),  # 1
    ]
    assert torch.allclose(f(x), torch.tensor(expected, dtype=torch.float64), atol=1e-12)


def test_sinusoid_defaults_shapes_and_dtypes():
    f = D.sinusoids(2.0)
    assert (f.amplitudes, f.phases) == ((1.0,), (0.0,))
    x = np.linspace(0, 1, 9)
    col = f(x.reshape(-1, 1))
    assert col.shape == (9, 1) and col.dtype == torch.float64
    assert torch.allclose(col.flatten(), torch.from_numpy(np.sin(4 * np.pi * x)), atol=1e-12)
    flat = f(torch.linspace(0, 1, 9))
    assert flat.shape == (9,) and flat.dtype == torch.float32
    assert f(torch.tensor([0, 1])).dtype == torch.float32  # integers become float


def test_sinusoids_validation():
    with pytest.raises(ValueError, match="same length"):
        D.sinusoids([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        D.sinusoids([-1.0])
    with pytest.raises(ValueError, match="NaN/inf"):
        D.sinusoids([1.0], phases=[float("nan")])
    with pytest.raises(ValueError, match="at least one"):
        D.Sinusoids(freqs=(), amplitudes=(), phases=())
    with pytest.raises(ValueError, match="shape"):
        D.sinusoids(1.0)(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN/inf"):
        D.sinusoids(1.0)(torch.tensor([0.0, float("inf")]))


def test_random_sinusoids_seeded_and_in_range():
    a = D.random_sinusoids(50, 8.0, seed=3)
    assert a == D.random_sinusoids(50, 8.0, seed=3)
    assert a != D.random_sinusoids(50, 8.0, seed=4)
    assert all(0 <= f < 8.0 for f in a.freqs)
    assert all(0 <= v < 1 for v in a.amplitudes)
    assert all(0 <= p < 2 * math.pi for p in a.phases)
    assert a.max_freq == max(a.freqs)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert D.random_sinusoids(2, 1.0, seed=g1) == D.random_sinusoids(2, 1.0, seed=g2)
    with pytest.raises(ValueError, match="n_components"):
        D.random_sinusoids(0, 1.0, seed=0)
    with pytest.raises(ValueError, match="max_freq"):
        D.random_sinusoids(2, 0.0, seed=0)
    with pytest.raises(TypeError, match="seed"):
        D.random_sinusoids(2, 1.0, seed=None)  # type: ignore[arg-type]


# ------------------------------------------------------------------ grids and samples


def test_grid_by_step_and_by_n():
    g = D.grid_1d(0.0, 1.0, step=0.1)
    assert g.shape == (10, 1) and g.dtype == torch.float32
    assert torch.allclose(g.flatten(), torch.arange(10) / 10)
    assert D.grid_1d(0.0, 1.0, step=0.1, endpoint=True).shape == (11, 1)
    # a step that does not divide the interval stops below hi, endpoint or not
    for endpoint in (False, True):
        odd = D.grid_1d(0.0, 1.0, step=0.3, endpoint=endpoint, dtype=torch.float64).flatten()
        assert torch.allclose(odd, torch.tensor([0.0, 0.3, 0.6, 0.9], dtype=torch.float64))
    by_n = D.grid_1d(-1.0, 1.0, n=4).flatten()
    assert torch.allclose(by_n, torch.tensor([-1.0, -0.5, 0.0, 0.5]))
    closed = D.grid_1d(-1.0, 1.0, n=5, endpoint=True, dtype=torch.float64).flatten()
    assert closed[-1].item() == 1.0 and torch.allclose(closed.diff(), torch.full((4,), 0.5, dtype=torch.float64))


def test_grid_errors():
    with pytest.raises(ValueError, match="exactly one"):
        D.grid_1d(0, 1)
    with pytest.raises(ValueError, match="exactly one"):
        D.grid_1d(0, 1, n=3, step=0.1)
    with pytest.raises(ValueError, match="lo < hi"):
        D.grid_1d(1, 1, n=3)
    with pytest.raises(ValueError, match="finite"):
        D.grid_1d(0, float("inf"), n=3)
    with pytest.raises(ValueError, match="step"):
        D.grid_1d(0, 1, step=-0.1)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        D.grid_1d(0, 1, n=1, endpoint=True)
    with pytest.raises(TypeError, match="n must be an integer"):
        D.grid_1d(0, 1, n=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="step must be a real number"):
        D.grid_1d(0, 1, step="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lo must be a real number"):
        D.grid_1d(None, 1, n=3)  # type: ignore[arg-type]


def test_sample_1d_without_noise_is_the_function_on_the_grid():
    f = D.sinusoids([1.0, 5.0], [1.0, 0.3])
    x, y = D.sample_1d(f, -1.0, 1.0, n=200)
    assert x.shape == y.shape == (200, 1)
    assert torch.equal(x, D.grid_1d(-1.0, 1.0, n=200))
    assert torch.allclose(y, f(x))
    # sparse sampling at step 1/4 of sin(2π·4x) hits only its zeros (aliased to a constant)
    _, aliased = D.sample_1d(D.sinusoids(4.0), 0.0, 2.0, step=0.25, dtype=torch.float64)
    assert aliased.abs().max() < 1e-12
    # a function returning (N,) is reshaped to a column
    _, col = D.sample_1d(lambda t: t.flatten() ** 2, 0.0, 1.0, n=5)
    assert col.shape == (5, 1)


def test_sample_1d_noise_is_seeded_and_gaussian():
    f = D.sinusoids(1.0)
    kwargs = dict(n=4000, noise=0.2, dtype=torch.float64)
    x, y1 = D.sample_1d(f, 0.0, 1.0, seed=5, **kwargs)
    _, y2 = D.sample_1d(f, 0.0, 1.0, seed=5, **kwargs)
    _, y3 = D.sample_1d(f, 0.0, 1.0, seed=6, **kwargs)
    assert torch.equal(y1, y2) and not torch.equal(y1, y3)
    residual = ((y1 - f(x)) / 0.2).flatten().numpy()
    assert stats.kstest(residual, "norm").pvalue > 1e-3
    with pytest.raises(ValueError, match="noise"):
        D.sample_1d(f, 0.0, 1.0, n=3, noise=-1.0)
    with pytest.raises(ValueError, match="NaN/inf"):
        D.sample_1d(lambda t: t / 0.0, 0.0, 1.0, n=3)


# ------------------------------------------------------------------ labels, subsets, splits


def test_random_labels_permutes_and_keeps_counts():
    y = torch.arange(2000) % 10
    before = y.clone()
    shuffled = D.random_labels(y, seed=0)
    assert torch.equal(y, before)  # input untouched
    assert _counts(shuffled) == _counts(y)
    assert (shuffled != y).float().mean() > 0.8  # ~90% change for 10 balanced classes
    assert torch.equal(shuffled, D.random_labels(y, seed=0))
    assert not torch.equal(shuffled, D.random_labels(y, seed=1))
    with pytest.raises(ValueError, match="1D"):
        D.random_labels(y.reshape(200, 10), seed=0)


def test_balanced_subset_counts_pairs_and_determinism():
    y = torch.arange(1000) % 10
    x = torch.arange(1000, dtype=torch.float32).unsqueeze(1)
    xs, ys = D.balanced_subset(x, y, 100, seed=0)
    assert _counts(ys) == [10] * 10
    assert torch.equal(xs.flatten().long() % 10, ys)  # rows stay paired
    assert bool((xs.flatten().diff() > 0).all())  # original order kept
    assert torch.equal(xs, D.balanced_subset(x, y, 100, seed=0)[0])
    assert not torch.equal(xs, D.balanced_subset(x, y, 100, seed=1)[0])
    _, odd = D.balanced_subset(x, y, 105, seed=0)
    assert sorted(_counts(odd)) == [10] * 5 + [11] * 5


def test_balanced_subset_water_fills_small_classes():
    y = torch.tensor([0] * 2 + [1] * 50 + [2] * 50)
    x = torch.zeros(len(y), 3)
    assert _counts(D.balanced_subset(x, y, 30, seed=0)[1], 3) == [2, 14, 14]
    assert sorted(_counts(D.balanced_subset(x, y, 31, seed=0)[1], 3)) == [2, 14, 15]
    assert _counts(D.balanced_subset(x, y, 102, seed=0)[1], 3) == [2, 50, 50]


def test_balanced_subset_errors():
    y = torch.arange(100) % 10
    x = torch.zeros(100, 2)
    with pytest.raises(ValueError, match="larger than the 100 samples"):
        D.balanced_subset(x, y, 101, seed=0)
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        D.balanced_subset(x, y, 5, seed=0)
    with pytest.raises(ValueError, match="different numbers of samples"):
        D.balanced_subset(x[:50], y, 20, seed=0)
    with pytest.raises(TypeError, match="integer class labels"):
        D.balanced_subset(x, y.float(), 20, seed=0)
    with pytest.raises(ValueError, match="NaN/inf"):
        D.balanced_subset(torch.full((100, 2), float("nan")), y, 20, seed=0)


def test_train_val_split_partitions_and_stratifies():
    y = torch.cat([torch.zeros(30), torch.ones(70)]).long()
    x = torch.arange(100)
    x_tr, y_tr, x_va, y_va = D.train_val_split(x, y, 0.2, seed=0)
    assert len(x_va) == 20 and len(x_tr) == 80
    assert torch.equal(torch.cat([x_tr, x_va]).sort().values, x)  # a partition
    assert bool((x_tr.diff() > 0).all() and (x_va.diff() > 0).all())  # original order kept
    assert torch.equal(y_tr, y[x_tr]) and torch.equal(y_va, y[x_va])
    assert _counts(y_va, 2) == [6, 14]  # 20% of each class
    again = D.train_val_split(x, y, 0.2, seed=0)
    assert all(torch.equal(a, b) for a, b in zip((x_tr, y_tr, x_va, y_va), again))
    assert not torch.equal(x_va, D.train_val_split(x, y, 0.2, seed=1)[2])
    # regression targets need stratify=False
    reg = torch.linspace(0, 1, 100)
    with pytest.raises(TypeError, match="integer class labels"):
        D.train_val_split(x, reg, 0.2, seed=0)
    assert len(D.train_val_split(x, reg, 0.25, seed=0, stratify=False)[2]) == 25
    with pytest.raises(ValueError, match="val_fraction"):
        D.train_val_split(x, y, 1.0, seed=0)
    with pytest.raises(ValueError, match="empty"):
        D.train_val_split(x, y, 0.001, seed=0)


def test_stratified_split_never_moves_a_whole_class_to_validation():
    y = torch.tensor([0] * 10 + [1])
    x = torch.arange(11)
    for seed in range(5):
        _, y_tr, _, y_va = D.train_val_split(x, y, 0.5, seed=seed)
        assert _counts(y_tr, 2) == [4, 1] and _counts(y_va, 2) == [6, 0]  # round(5.5) = 6 held out
    # a singleton class in a large fraction: it stays in train, the others still split
    y = torch.tensor([0] * 4 + [1] * 4 + [2])
    _, y_tr, _, y_va = D.train_val_split(torch.arange(9), y, 0.9, seed=0)
    assert _counts(y_tr, 3) == [1, 1, 1] and _counts(y_va, 3) == [3, 3, 0]
    with pytest.raises(ValueError, match="keeps one sample of each class .* no validation samples"):
        D.train_val_split(torch.arange(3), torch.tensor([0, 1, 2]), 0.5, seed=0)
    # unstratified splits are not constrained
    plain = D.train_val_split(torch.arange(3), torch.tensor([0, 1, 2]), 0.5, seed=0, stratify=False)
    assert len(plain[2]) == 2


def test_split_validates_lengths():
    with pytest.raises(ValueError, match="x_train and y_train"):
        D.Split(torch.zeros(3, 2), torch.zeros(2), torch.zeros(1, 2), torch.zeros(1))
    assert "train=(3, 2)" in repr(D.Split(torch.zeros(3, 2), torch.zeros(3), torch.zeros(1, 2), torch.zeros(1)))


def test_digits_split():
    split = D.digits(seed=0)
    assert split.x_train.shape == (1348, 64) and split.x_test.shape == (449, 64)
    assert split.num_classes == 10 and split.name == "digits"
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    total = np.array(_counts(split.y_train)) + np.array(_counts(split.y_test))
    assert np.all(np.abs(np.array(_counts(split.y_test)) - 0.25 * total) < 1)  # stratified
    same = D.digits(seed=0)
    assert torch.equal(split.x_test, same.x_test) and torch.equal(split.y_train, same.y_train)
    assert not torch.equal(split.y_test, D.digits(seed=1).y_test)
    assert D.digits(flatten=False).x_train.shape == (1348, 1, 8, 8)


# ------------------------------------------------------------------ MNIST / Fashion-MNIST (real files)


def test_mnist_real_files():
    split = D.mnist()
    assert split.x_train.shape == (60000, 1, 28, 28) and split.x_test.shape == (10000, 1, 28, 28)
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    assert split.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert _counts(split.y_train) == MNIST_TRAIN_COUNTS
    assert _counts(split.y_test) == MNIST_TEST_COUNTS
    assert split.num_classes == 10 and split.name == "mnist"


def test_fashion_mnist_real_files():
    split = D.fashion_mnist(flatten=True)
    assert split.x_train.shape == (60000, 784) and split.x_test.shape == (10000, 784)
    assert split.y_train[:5].tolist() == [9, 0, 0, 3, 0]
    assert _counts(split.y_train) == [6000] * 10 and _counts(split.y_test) == [1000] * 10
    assert split.name == "fashion-mnist"


def test_mnist_limits_are_balanced_and_deterministic():
    full = D.mnist(flatten=True)
    small = D.mnist(flatten=True, limit_train=100, limit_test=55, seed=3)
    assert _counts(small.y_train) == [10] * 10
    assert sorted(_counts(small.y_test)) == [5] * 5 + [6] * 5
    again = D.mnist(flatten=True, limit_train=100, limit_test=55, seed=3)
    assert torch.equal(small.x_train, again.x_train) and torch.equal(small.y_test, again.y_test)
    assert not torch.equal(small.x_train, D.mnist(flatten=True, limit_train=100, seed=4).x_train)
    # the test subset depends on (seed, limit_test) only, not on limit_train
    for limit_train in (25, 300):  # 25: a remainder draw that shifts a shared generator
        other = D.mnist(flatten=True, limit_train=limit_train, limit_test=55, seed=3)
        assert torch.equal(other.x_test, small.x_test) and torch.equal(other.y_test, small.y_test)
    reseeded = D.mnist(flatten=True, limit_train=10, limit_test=55, seed=4)
    assert not torch.equal(reseeded.x_test, small.x_test)
    generator = torch.Generator().manual_seed(3)  # a generator seed works like the int seed
    assert torch.equal(D.mnist(flatten=True, limit_train=100, limit_test=55, seed=generator).x_test,
                       small.x_test)
    # each subset image is one of the full set's images, with that image's label
    # integer fingerprints, exact in float64 (784 · 255 · 2^20 < 2^53)
    weights = torch.randint(1, 2**20, (784,), generator=torch.Generator().manual_seed(0)).double()
    keys = (full.x_train.double() * 255).round() @ weights
    sub_keys = (small.x_train.double() * 255).round() @ weights
    for key, label in zip(sub_keys.tolist(), small.y_train.tolist()):
        assert label in full.y_train[keys == key].tolist()
    # "as equal as possible" when the smallest class (5: 5421 images) runs out
    labels = full.y_train
    _, y = D.balanced_subset(labels, labels, 55000, seed=0)
    taken = np.array(_counts(y))
    assert taken.sum() == 55000 and taken[5] == 5421
    assert np.all((taken == MNIST_TRAIN_COUNTS) | (taken >= taken.max() - 1))


# ------------------------------------------------------------------ data folder resolution


def _fake_root(folder: Path) -> Path:
    (folder / "mnist").mkdir(parents=True)
    return folder


def test_data_dir_order_explicit_env_default(tmp_path, monkeypatch):
    explicit = _fake_root(tmp_path / "explicit")
    env = _fake_root(tmp_path / "env")
    checkout = tmp_path / "root" / "main" / "sub"
    checkout.mkdir(parents=True)
    shared = _fake_root(tmp_path / "root" / "shared" / "data")
    _fake_root(tmp_path / "root" / "data")  # same level as shared/data: shared/data wins
    monkeypatch.chdir(checkout)
    monkeypatch.setenv("SPECINIT_DATA", str(env))
    assert D.data_dir(explicit) == explicit.resolve()
    assert D.data_dir(str(explicit)) == explicit.resolve()
    assert D.data_dir() == env.resolve()
    monkeypatch.setenv("SPECINIT_DATA", "")  # empty means unset
    assert D.data_dir() == shared.resolve()
    nearer = _fake_root(tmp_path / "root" / "main" / "data")
    assert D.data_dir() == nearer.resolve()


def test_data_dir_falls_back_to_the_package_location(tmp_path, monkeypatch):
    monkeypatch.delenv("SPECINIT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    package = tmp_path / "elsewhere" / "checkout" / "src" / "specinit"
    package.mkdir(parents=True)
    beside = _fake_root(tmp_path / "elsewhere" / "shared" / "data")
    monkeypatch.setattr(D, "__file__", str(package / "data.py"))
    assert D.data_dir() == beside.resolve()


def test_missing_data_messages(tmp_path, monkeypatch):
    monkeypatch.delenv("SPECINIT_DATA", raising=False)
    (tmp_path / "mnist").mkdir()
    shutil.copy(D.data_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz", tmp_path / "mnist")
    with pytest.raises(FileNotFoundError) as info:
        D.mnist(data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message
    for name in D.IDX_FILES:
        assert name in message
        assert D.SHA256["mnist"][name] in message
    assert "missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images" in message
    for hint in ("--data-dir", "SPECINIT_DATA", "../shared/data"):
        assert hint in message
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        D.fashion_mnist(data_dir=tmp_path / "nowhere")
    # nothing found by the default search
    empty = tmp_path / "empty" / "pkg"
    empty.mkdir(parents=True)
    monkeypatch.chdir(empty)
    monkeypatch.setattr(D, "__file__", str(empty / "data.py"))
    with pytest.raises(FileNotFoundError, match="searched upward") as info:
        D.data_dir()
    assert str(empty / "shared" / "data") in str(info.value)
    assert D.SHA256["fashion-mnist"]["train-images-idx3-ubyte.gz"] in str(info.value)


# ------------------------------------------------------------------ corrupt files and the IDX reader


def _root_with_copied_labels(tmp_path: Path) -> Path:
    """A data root whose test-label file is a writable copy; the others link to the real files."""
    real = D.data_dir() / "mnist"
    root = tmp_path / "root"
    (root / "mnist").mkdir(parents=True)
    for name in D.IDX_FILES:
        if name == "t10k-labels-idx1-ubyte.gz":
            shutil.copy(real / name, root / "mnist" / name)
            (root / "mnist" / name).chmod(0o644)
        else:
            (root / "mnist" / name).symlink_to(real / name)
    return root


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupt_file_is_rejected_with_its_checksum(tmp_path, monkeypatch, damage):
    monkeypatch.delenv("SPECINIT_DATA", raising=False)
    root = _root_with_copied_labels(tmp_path)
    path = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    assert D.mnist(data_dir=root).y_test[:3].tolist() == [7, 2, 1]  # intact copy loads
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[2000] ^= 0xFF
        raw.append(0)  # also changes the size, so the per-process cache sees a new file
    else:
        raw = raw[: len(raw) // 2]
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum mismatch") as info:
        D.mnist(data_dir=root)
    assert str(path.resolve()) in str(info.value)
    assert D.SHA256["mnist"]["t10k-labels-idx1-ubyte.gz"] in str(info.value)


def test_checksums_are_computed_once_per_process(monkeypatch):
    calls = []
    original = D._sha256
    monkeypatch.setattr(D, "_sha256", lambda path: calls.append(path) or original(path))
    D._verified_idx.cache_clear()
    D.mnist(limit_train=10, limit_test=10)
    D.mnist(flatten=True)
    assert sorted(p.name for p in calls) == sorted(D.IDX_FILES)


def _idx_bytes(array: np.ndarray, code: int, magic_zero: int = 0) -> bytes:
    header = struct.pack(">HBB", magic_zero, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_formats_and_errors(tmp_path):
    values = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    raw = tmp_path / "a.idx"
    raw.write_bytes(_idx_bytes(values, 0x0B))
    assert np.array_equal(D.read_idx(raw), values) and D.read_idx(raw).dtype.isnative
    packed = tmp_path / "b.idx.gz"
    floats = np.linspace(0, 1, 5, dtype=np.float32)
    packed.write_bytes(gzip.compress(_idx_bytes(floats, 0x0D)))
    assert np.array_equal(D.read_idx(packed), floats)
    real = D.read_idx(D.data_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert real.shape == (10000,) and real.dtype == np.uint8

    bad_magic = tmp_path / "c.idx"
    bad_magic.write_bytes(_idx_bytes(values, 0x0B, magic_zero=1))
    with pytest.raises(ValueError, match="bad IDX magic"):
        D.read_idx(bad_magic)
    short = tmp_path / "d.idx"
    short.write_bytes(_idx_bytes(values, 0x0B)[:-2])
    with pytest.raises(ValueError, match=r"d\.idx: IDX header says shape \(3, 4\)"):
        D.read_idx(short)
    truncated = tmp_path / "e.idx.gz"
    truncated.write_bytes(gzip.compress(_idx_bytes(values, 0x0B))[:-10])
    with pytest.raises(ValueError, match="e.idx.gz: cannot decompress"):
        D.read_idx(truncated)
    with pytest.raises(FileNotFoundError):
        D.read_idx(tmp_path / "missing.idx")
