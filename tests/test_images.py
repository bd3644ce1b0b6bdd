"""center_of_mass, center_digit, shift and to_mnist: MNIST's preprocessing of a drawn digit."""
import numpy as np
import pytest

from nnlib.images import _box_weights, center_digit, center_of_mass, shift, to_mnist


def test_center_of_mass_hand_computed():
    image = np.zeros((4, 5))
    image[1, 1] = 1.0
    image[3, 4] = 3.0
    assert center_of_mass(image) == pytest.approx(((1 + 3 * 3) / 4, (1 + 3 * 4) / 4))


def test_center_of_mass_needs_ink():
    with pytest.raises(ValueError, match="no ink"):
        center_of_mass(np.zeros((28, 28)))


def test_center_digit_moves_a_single_pixel_to_14_14():
    image = np.zeros((28, 28), dtype=np.float32)
    image[3, 5] = 0.7
    moved = center_digit(image)
    assert moved[14, 14] == np.float32(0.7) and np.count_nonzero(moved) == 1
    assert moved.dtype == np.float32


@pytest.mark.parametrize("seed", range(5))
def test_center_digit_puts_the_centre_of_mass_within_half_a_pixel_and_keeps_the_values(seed):
    rng = np.random.default_rng(seed)
    image = np.zeros((28, 28))
    top, left = rng.integers(0, 18, size=2)
    image[top:top + 10, left:left + 10] = rng.random((10, 10))
    moved = center_digit(image)
    rows, cols = center_of_mass(moved)
    assert abs(rows - 14) <= 0.5 and abs(cols - 14) <= 0.5
    np.testing.assert_array_equal(np.sort(moved[moved > 0]), np.sort(image[image > 0]))


def test_center_digit_leaves_its_input_and_a_blank_image_unchanged():
    image = np.zeros((28, 28))
    image[0, 0] = 1
    before = image.copy()
    center_digit(image)
    np.testing.assert_array_equal(image, before)
    blank = np.zeros((28, 28), dtype=np.float32)
    out = center_digit(blank)
    assert out is not blank and not out.any() and out.dtype == np.float32


@pytest.mark.parametrize("image, message", [
    (np.zeros(784), "2-D image"),
    (np.zeros((28, 28), dtype=np.uint8), "float image"),
    (-np.ones((28, 28)), ">= 0"),
])
def test_center_digit_rejects_bad_images(image, message):
    with pytest.raises(ValueError, match=message):
        center_digit(image)


def test_shift_fills_with_zeros_and_never_wraps():
    image = np.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_array_equal(shift(image, 1, -1), [[0, 0, 0], [2, 3, 0], [5, 6, 0]])
    assert not shift(image, 3, 0).any()


def test_shift_moves_every_image_of_a_batch_alike():
    batch = np.random.default_rng(0).random((4, 2, 6, 5)).astype(np.float32)
    moved = shift(batch, -2, 3)
    assert moved.shape == batch.shape and moved.dtype == np.float32
    for i in range(4):
        for c in range(2):
            np.testing.assert_array_equal(moved[i, c], shift(batch[i, c], -2, 3))


def test_box_weights_average_blocks_when_shrinking_by_a_whole_factor():
    image = np.arange(16.0).reshape(4, 4)
    small = _box_weights(4, 2) @ image @ _box_weights(4, 2).T
    np.testing.assert_allclose(small, [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("n_in, n_out", [(280, 20), (7, 20), (20, 20), (13, 5)])
def test_box_weights_keep_the_total_ink_per_pixel(n_in, n_out):
    R = _box_weights(n_in, n_out)
    assert R.shape == (n_out, n_in)
    np.testing.assert_allclose(R.sum(axis=1), 1)


def test_to_mnist_scales_the_longest_side_to_20_pixels_keeping_the_aspect_ratio():
    canvas = np.zeros((280, 280), dtype=np.uint8)
    canvas[50:150, 100:150] = 255  # a 100 x 50 bar
    digit = to_mnist(canvas)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert np.count_nonzero(digit.any(axis=1)) == 20 and np.count_nonzero(digit.any(axis=0)) == 10
    assert digit.min() == 0 and digit.max() == 1
    rows, cols = center_of_mass(digit)
    assert abs(rows - 14) <= 0.5 and abs(cols - 14) <= 0.5


def test_to_mnist_does_not_depend_on_where_or_how_large_the_digit_was_drawn():
    small = np.zeros((100, 100))
    small[10:30, 40:50] = 1.0
    large = np.zeros((300, 400), dtype=np.uint8)
    large[200:280, 20:60] = 255
    np.testing.assert_allclose(to_mnist(small), to_mnist(large), atol=1e-6)


def test_to_mnist_enlarges_a_tiny_drawing():
    dot = np.zeros((28, 28))
    dot[3:5, 3:4] = 1.0  # 2 x 1 pixels
    digit = to_mnist(dot)
    assert np.count_nonzero(digit.any(axis=1)) == 20 and np.count_nonzero(digit.any(axis=0)) == 10


def test_to_mnist_of_a_blank_canvas_is_blank():
    digit = to_mnist(np.zeros((50, 60), dtype=np.uint8))
    assert digit.shape == (28, 28) and digit.dtype == np.float32 and not digit.any()


@pytest.mark.parametrize("image, message", [
    (np.zeros((2, 3, 4)), "2-D grey image"),
    (np.full((5, 5), 2.0), r"in \[0, 1\]"),
    (np.full((5, 5), 300), "0..255"),
    (np.full((5, 5), np.nan), "finite"),
])
def test_to_mnist_rejects_bad_drawings(image, message):
    with pytest.raises(ValueError, match=message):
        to_mnist(image)


def test_to_mnist_leaves_mnist_digits_as_they_were(mnist):
    # MNIST digits already fill a 20-pixel box with their centre of mass at (14, 14); only a
    # digit whose darkest pixel is 254, not 255, changes, by that last grey level.
    X_test = mnist[2]
    for i in range(100):
        image = X_test[:, i].reshape(28, 28)
        np.testing.assert_allclose(to_mnist(image), image, atol=1 / 255 + 1e-6)
