"""The version of specinit: bumped with every change of behaviour, with an entry in CHANGELOG.md."""

__version__ = "0.7.0"
