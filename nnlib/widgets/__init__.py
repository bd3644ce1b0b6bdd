"""Widgets for the chapter "Explore the network": the training explorer and the digit pad.

Importing this package imports ipywidgets and ipycanvas; ``import nnlib`` never does, so
the command line and the tests of the maths load no GUI toolkit.
"""
from .digit_pad import DigitPad
from .explorer import Explorer

__all__ = ["DigitPad", "Explorer"]
