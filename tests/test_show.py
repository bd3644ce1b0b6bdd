"""The helpers chapters use to display nnlib's code and shapes."""
import importlib.util
import inspect

import pytest

import nnlib
from nnlib import (activations, article, checks, cnn, conv, data, forward_prop,
                   gradcheck, history, images, losses, network, optimizers,
                   params, regularization, show, sweeps, training)

# The modules whose functions and classes chapters show with show.source.
SHOWN_MODULES = (activations, article, checks, cnn, conv, data, gradcheck, history,
                 images, losses, network, optimizers, params, regularization,
                 show, sweeps, training)


def _public_objects():
    """nnlib.__all__, then every public function and class of SHOWN_MODULES."""
    objects = {f"nnlib.{name}": getattr(nnlib, name) for name in nnlib.__all__}
    for module in SHOWN_MODULES:
        for name, obj in vars(module).items():
            if (not name.startswith("_")
                    and (inspect.isfunction(obj) or inspect.isclass(obj))
                    and obj.__module__ == module.__name__):
                objects[f"{module.__name__}.{name}"] = obj
    return objects


def _function_from_file(tmp_path, text, name):
    """Function ``name`` of a module written to ``tmp_path`` with ``text``."""
    path = tmp_path / "wide_module.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("wide_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_source_renders_nnlib_code_as_python_markdown():
    text = show.source(forward_prop).data
    assert text.startswith(
        "```python\ndef forward_prop(X, params, dropout=0.0, rng=None):")
    assert text.endswith("```")


def test_source_refuses_a_line_wider_than_the_code_column(tmp_path):
    wide = "    return " + " + ".join(["1"] * 30)  # 98 characters
    fn = _function_from_file(tmp_path, f"def wide():\n{wide}\n", "wide")
    with pytest.raises(ValueError, match=r"wide_module\.wide: line 2 .* "
                                         rf"is {len(wide)} characters wide"):
        show.source(fn)


def test_source_accepts_a_line_exactly_as_wide_as_the_code_column(tmp_path):
    line = "    return " + "1" * (show.COLUMN - len("    return "))
    fn = _function_from_file(tmp_path, f"def full():\n{line}\n", "full")
    assert len(line) == show.COLUMN == 79
    assert line in show.source(fn).data


@pytest.mark.parametrize("name, obj", sorted(_public_objects().items()))
def test_every_public_function_of_nnlib_fits_the_code_column(name, obj):
    show.source(obj)  # raises ValueError naming the object and the line


def test_shape_table_for_the_article_big_net():
    table = show.shape_table([784, 256, 128, 64, 10], m=33600)
    assert list(table.index) == [1, 2, 3, 4]
    assert table.loc[1, "W_l"] == "(256, 784)"
    assert table.loc[4, "A_l"] == "(10, 33600)"
    assert table.loc[4, "g_l"] == "softmax"
    assert table["parameters"].sum() == (784 * 256 + 256 + 256 * 128 + 128
                                         + 128 * 64 + 64 + 64 * 10 + 10)


def test_gradient_shape_table_runs_backwards():
    table = show.gradient_shape_table([784, 10, 10])
    assert list(table.index) == [2, 1]
    assert table.loc[1, "dA_(l-1) = W_l^T dZ_l"] == "(784, m)"
