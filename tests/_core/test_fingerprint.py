"""The code's identity (specinit._core.fingerprint) moves with every source edit."""

import shutil

from specinit._core import fingerprint


def test_fingerprint_is_stable_and_moves_with_the_source(tmp_path, monkeypatch):
    copy = tmp_path / "specinit"
    shutil.copytree(fingerprint._PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "_PACKAGE", copy)
    fingerprint.code_fingerprint.cache_clear()
    try:
        first = fingerprint.code_fingerprint()
        fingerprint.code_fingerprint.cache_clear()
        assert fingerprint.code_fingerprint() == first  # same source, same fingerprint
        (copy / "nn" / "models.py").write_text((copy / "nn" / "models.py").read_text() + "\n# an edit\n")
        fingerprint.code_fingerprint.cache_clear()
        assert fingerprint.code_fingerprint() != first
    finally:
        fingerprint.code_fingerprint.cache_clear()
