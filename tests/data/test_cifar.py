"""CIFAR-10/100 loaders (specinit.data.cifar): the official python-pickle batches, read from the
data folder only, checked against their MD5 unless verify=False, never unpickling arbitrary objects."""

import os
import pickle

import numpy as np
import pytest
import torch
from cifar_files import md5s, write_cifar

from specinit import data
from specinit.data import CIFAR_FILES, CIFAR_MD5, DataFileError, FullDataRequired
from specinit.data.cifar import read_cifar_batch


def test_cifar10_reads_every_batch_as_rgb_images_in_the_unit_interval(tmp_path):
    folder = write_cifar(tmp_path, n=20)
    split = data.cifar10(data_dir=tmp_path, verify=False)
    assert split.x_train.shape == (100, 3, 32, 32) and split.x_test.shape == (20, 3, 32, 32)
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert split.num_classes == 10 and "unverified" in split.source
    # pixel (c, h, w) of image 0 is byte c·1024 + h·32 + w of its row, divided by 255
    raw = pickle.loads((folder / "data_batch_1").read_bytes())[b"data"][0]
    expected = torch.tensor(raw[1024 + 2 * 32 + 3] / 255.0, dtype=torch.float32)
    assert torch.equal(split.x_train[0, 1, 2, 3], expected)
    assert torch.equal(split.y_train[:12], torch.tensor([k % 10 for k in range(12)]))
    subset = {"flatten": True, "limit_train": 30, "limit_test": 10, "generator": 3}
    flat = data.cifar10(data_dir=tmp_path, verify=False, **subset)
    assert flat.x_train.shape == (30, 3072) and torch.bincount(flat.y_train).tolist() == [3] * 10
    again = data.cifar10(data_dir=tmp_path, verify=False, **subset)
    assert torch.equal(flat.x_train, again.x_train)  # the subset depends on the seed only


def test_cifar100_fine_and_coarse_labels(tmp_path):
    write_cifar(tmp_path, "cifar100", n=200)
    fine = data.cifar100(data_dir=tmp_path, verify=False)
    coarse = data.cifar100(data_dir=tmp_path, verify=False, coarse=True)
    assert fine.num_classes == 100 and int(fine.y_train.max()) == 99
    assert coarse.num_classes == 20 and torch.equal(coarse.y_train, fine.y_train % 20)
    assert torch.equal(fine.x_test, coarse.x_test)


def test_checksums_are_enforced_by_default_and_name_the_file(tmp_path, monkeypatch):
    folder = write_cifar(tmp_path)
    message = r"batches.meta: checksum mismatch, MD5 is [0-9a-f]{32} but the official file has 5ff9c542"
    with pytest.raises(DataFileError, match=message):
        data.cifar10(data_dir=tmp_path)
    monkeypatch.setitem(CIFAR_MD5, "cifar10", md5s(folder))  # these files as the "official" ones
    assert data.cifar10(data_dir=tmp_path).source.startswith("official files in")
    (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes()[:-10])  # truncated
    os.utime(folder / "test_batch", ns=(1, 1))  # a new mtime: the cache reads it again
    with pytest.raises(DataFileError, match="test_batch: checksum mismatch"):
        data.cifar10(data_dir=tmp_path)


def test_missing_files_and_the_embedded_default_are_one_clear_error(tmp_path, monkeypatch):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match=r"(?s)missing data_batch_3\.\n.*data_batch_3  md5 54ebc095"):
        data.cifar10(data_dir=tmp_path, verify=False)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    with pytest.raises(FullDataRequired, match="no CIFAR data ships with specinit; point --data-dir"):
        data.cifar100()
    with pytest.raises(ValueError, match="60,000 training images asked for"):
        data.check_cifar(data.data_source(tmp_path), "cifar10", 60000, None)


def test_the_unpickler_rebuilds_arrays_only(tmp_path):
    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({b"data": os.system}))  # a global that is not an array
    with pytest.raises(DataFileError, match="refusing to rebuild .*system"):
        read_cifar_batch(path)
    bad = tmp_path / "bad"
    bad.write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataFileError, match="3072 pixels"):
        read_cifar_batch(bad)


def test_official_checksum_table_is_complete():
    for dataset, (train, test, meta) in CIFAR_FILES.items():
        assert set(CIFAR_MD5[dataset]) == {*train, *test, meta}
        assert all(len(h) == 32 and int(h, 16) >= 0 for h in CIFAR_MD5[dataset].values())
