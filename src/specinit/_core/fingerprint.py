"""The identity of the code that produced a result: a hash over specinit's own source files.

Run folders and sweep keys include it, so a resumed run or sweep never reuses units computed by
different code: any edit to the package gives a new fingerprint (the version number, which moves
with releases only, is recorded beside it).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["code_fingerprint"]

_PACKAGE = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The first 12 hex digits of the SHA-256 over every ``.py`` file of the installed package
    (relative path and contents, in sorted order); the same source gives the same fingerprint.

    >>> len(code_fingerprint())
    12
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]
