"""A drawn digit made to look like an MNIST image (chapter "Explore the
network").

MNIST's digits were scaled to fit a 20 x 20 pixel box, keeping their aspect
ratio, then placed in a 28 x 28 field so that their centre of mass sits at the
centre of the field (LeCun et al., 1998). A digit drawn on the digit pad must
go through the same steps, or the network sees something unlike anything it
was trained on. Images here are 2-D arrays with ink as high values: a row
index first, then a column index.
"""
import numpy as np

__all__ = ["BOX", "CENTRE", "SIZE", "center_digit", "center_of_mass", "shift",
           "to_mnist"]

SIZE = 28  # MNIST's field: SIZE x SIZE pixels
BOX = 20  # the longest side of a digit once scaled
# the centre of mass goes to pixel (CENTRE, CENTRE), whole pixels only
CENTRE = SIZE // 2


def center_of_mass(image):
    """The ink-weighted mean position (row, column) of a 2-D image, as floats.

    The image must have some ink. image: (h, w) with values >= 0; row r and
    column c count from 0 at the top left.
    """
    image = _check_image(image)
    total = image.sum()
    if total == 0:
        raise ValueError(f"the image of shape {image.shape} has no ink "
                         "(all zeros), so no centre of mass")
    rows = np.arange(image.shape[0]) @ image.sum(axis=1) / total
    cols = np.arange(image.shape[1]) @ image.sum(axis=0) / total
    return float(rows), float(cols)


def center_digit(image):
    """Shift a (28, 28) digit by whole pixels: centre of mass to (14, 14).

    image: (h, w) floats >= 0 (MNIST's is 28 x 28; the target is
    (h // 2, w // 2)) -> a new array of the same shape and dtype. The shift is
    ``round(14 - centre)`` along each axis, so the centre of mass ends within
    half a pixel of (14, 14); pixels shifted in from outside are 0 (ink is
    never wrapped around the border). An image without ink is returned
    unchanged (as a copy).
    """
    image = _check_image(image)
    if not image.any():
        return image.copy()
    rows, cols = center_of_mass(image)
    h, w = image.shape
    return shift(image, int(np.round(h // 2 - rows)),
                 int(np.round(w // 2 - cols)))


def shift(image, rows, cols):
    """``image`` moved down by ``rows`` and right by ``cols`` whole pixels.

    Negative values move it up and left. image: (h, w), or a batch of any
    leading shape (..., h, w) such as (m, C, n_H, n_W), moved alike ->
    the same shape and dtype; what moves out is lost and what moves in is 0.
    """
    h, w = image.shape[-2:]
    moved = np.zeros_like(image)
    if abs(rows) < h and abs(cols) < w:
        moved[..., max(rows, 0):h + min(rows, 0),
              max(cols, 0):w + min(cols, 0)] = \
            image[..., max(-rows, 0):h - max(rows, 0),
                  max(-cols, 0):w - max(cols, 0)]
    return moved


def to_mnist(image):
    """MNIST's preprocessing of a drawing of any size.

    (h, w) ink -> (28, 28) float32 in [0, 1]. image: (h, w) grey levels with
    ink as high values, either integers 0..255 (such as a ``uint8`` canvas) or
    floats in [0, 1]. Steps, as for MNIST:

    1. crop to the bounding box of the ink (every pixel above 0);
    2. scale so the longest side is 20 pixels, keeping the aspect ratio, by
       area averaging (each new pixel is the mean of the part of the drawing
       it covers);
    3. stretch the grey levels so the darkest pixel is 1, as strokes are in
       MNIST;
    4. paste into the middle of a 28 x 28 field and shift it so its centre of
       mass is at pixel (14, 14) (:func:`center_digit`).

    A drawing without ink gives a blank (28, 28) image.
    """
    ink = _grey_levels(image)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    if rows.size == 0:
        return field
    digit = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = digit.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = _box_weights(h, new_h) @ digit @ _box_weights(w, new_w).T
    small /= small.max()
    top, left = (SIZE - new_h) // 2, (SIZE - new_w) // 2
    field[top:top + new_h, left:left + new_w] = small
    # Area averaging is a convex combination, so [0, 1] holds up to rounding;
    # clip that away.
    return center_digit(np.clip(field, 0, 1))


def _box_weights(n_in, n_out):
    """R: (n_out, n_in), with ``R @ v`` the area-average resampling of v.

    v: (n_in,) is resampled to n_out pixels. Output pixel i covers input
    positions [i s, (i + 1) s) with s = n_in / n_out; R[i, j] is the share of
    that span covered by input pixel j, so every row sums to 1. The same
    matrix shrinks (s > 1) and enlarges (s < 1).
    """
    span = n_in / n_out
    edges = np.arange(n_out + 1) * span
    pixels = np.arange(n_in)
    overlap = (np.minimum(edges[1:, None], pixels + 1)
               - np.maximum(edges[:-1, None], pixels))
    return np.clip(overlap, 0, None) / span


def _grey_levels(image):
    """The drawing as float64 ink in [0, 1].

    Integers are read as 0..255, floats must be in [0, 1].
    """
    image = np.asarray(image)
    if image.ndim != 2 or image.size == 0:
        raise ValueError("expected a 2-D grey image (h, w), got shape "
                         f"{image.shape}")
    if np.issubdtype(image.dtype, np.integer) or image.dtype == bool:
        top = 1 if image.dtype == bool else 255
        if image.min() < 0 or image.max() > top:
            raise ValueError(
                "integer grey levels must be in 0..255, got values from "
                f"{image.min()} to {image.max()}")
        return image.astype(np.float64) / top
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(
            "expected grey levels as integers 0..255 or floats in [0, 1], "
            f"got dtype {image.dtype}")
    if not np.all(np.isfinite(image)) or image.min() < 0 or image.max() > 1:
        raise ValueError(
            "float grey levels must be finite and in [0, 1], got values "
            f"from {image.min()} to {image.max()}; divide a 0..255 image by "
            "255")
    return image.astype(np.float64)


def _check_image(image):
    """A 2-D floating image with finite values >= 0 (ink), returned as is."""
    if not isinstance(image, np.ndarray) or image.ndim != 2:
        shape = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"expected a 2-D image such as (28, 28), got {shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError("expected a float image (ink in [0, 1]), got dtype "
                         f"{image.dtype}; divide a 0..255 image by 255")
    if not np.all(np.isfinite(image)) or (image.size and image.min() < 0):
        raise ValueError("the image must hold finite values >= 0 "
                         "(ink as high values)")
    return image
