"""Widgets for the chapter "Explore the network": the training explorer and the digit pad.

Importing this package imports ipywidgets and ipycanvas; ``import nnlib`` never does, so
the command line and the tests of the maths load no GUI toolkit.
"""
import hashlib
from pathlib import Path

from .digit_pad import DigitPad
from .explorer import Explorer

__all__ = ["DigitPad", "Explorer", "source_digests"]


def source_digests():
    """The SHA-256 of each source file of this package: ``{"explorer.py": "3f...", ...}``.

    The book shows pictures of the widgets taken in JupyterLab (``make widget-pictures``);
    ``book/_static/widget_pictures.json`` records these digests when the pictures are taken,
    and a test fails when the widgets changed since. Line endings are read as ``\\n``, so
    a checkout with Windows line endings gives the same digests.
    """
    return {path.name: hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()
            for path in sorted(Path(__file__).parent.glob("*.py"))}
