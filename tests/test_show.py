"""The helpers chapters use to display nnlib's code and shapes."""
from nnlib import forward_prop, show


def test_source_renders_nnlib_code_as_python_markdown():
    text = show.source(forward_prop).data
    assert text.startswith("```python\ndef forward_prop(X, params):")
    assert text.endswith("```")


def test_shape_table_for_the_article_big_net():
    table = show.shape_table([784, 256, 128, 64, 10], m=33600)
    assert list(table.index) == [1, 2, 3, 4]
    assert table.loc[1, "W_l"] == "(256, 784)"
    assert table.loc[4, "A_l"] == "(10, 33600)"
    assert table.loc[4, "g_l"] == "softmax"
    assert table["parameters"].sum() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10


def test_gradient_shape_table_runs_backwards():
    table = show.gradient_shape_table([784, 10, 10])
    assert list(table.index) == [2, 1]
    assert table.loc[1, "dA_(l-1) = W_l^T dZ_l"] == "(784, m)"
