"""The digit pad (chapter "Explore the network"): draw a digit, see what the network answers and why.

The drawing is kept in the kernel as strokes (lists of canvas points) and turned into pixels
here, so what the network sees does not depend on the browser; the canvas only shows the
same strokes. A drawing goes through MNIST's preprocessing (``nnlib.images.to_mnist``)
before the forward pass. The network behind the pad is a dense one (nnlib.network) or a
convolutional one (nnlib.cnn, with its list of layers).
"""
import ipywidgets as w
import numpy as np
from ipycanvas import Canvas, hold_canvas
from matplotlib.figure import Figure

from .. import cnn
from ..checks import check_params
from ..images import SIZE, to_mnist
from ..losses import get_predictions
from ..network import forward_prop
from .explorer import figure_png

CANVAS = 280  # canvas side in screen pixels: 10 screen pixels per MNIST pixel
PEN = 20  # pen width in screen pixels; about 2 MNIST pixels, as thick as MNIST's strokes


def rasterize(strokes, size=CANVAS, width=PEN):
    """Ink of strokes drawn with a round pen: (size, size) float64 in [0, 1], ink as 1.

    strokes: a list of strokes, each a list of (x, y) canvas points (x to the right, y down,
    in pixels); a stroke of one point is a dot. A pixel's ink falls from 1 to 0 over the
    last pixel of the pen's edge, as a browser's anti-aliased line does.
    """
    ink = np.zeros((size, size))
    radius = width / 2
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float).reshape(-1, 2)
        for start, end in zip(points, points[1:] if len(points) > 1 else points):
            ink = np.maximum(ink, _segment_ink(start, end, radius, size))
    return ink


def _segment_ink(start, end, radius, size):
    """Ink of one pen segment from start to end, (x, y) each: a capsule of the given radius."""
    rows, cols = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    points = np.stack([cols, rows], axis=-1)
    direction = end - start
    length2 = float(direction @ direction)
    t = np.zeros(rows.shape) if length2 == 0 else np.clip((points - start) @ direction / length2, 0, 1)
    distance = np.linalg.norm(points - (start + t[..., None] * direction), axis=-1)
    return np.clip(radius + 0.5 - distance, 0, 1)


def map_grid(maps, gap=1):
    """Feature maps (C, n_H, n_W) tiled as a near-square grid of C tiles, ``gap`` NaN pixels
    between tiles and NaN in the unused tiles at the end (imshow leaves NaN blank)."""
    C, H, W = maps.shape
    cols = int(np.ceil(np.sqrt(C)))
    rows = int(np.ceil(C / cols))
    grid = np.full((rows * (H + gap) - gap, cols * (W + gap) - gap), np.nan)
    for c in range(C):  # one tile per map
        top, left = (c // cols) * (H + gap), (c % cols) * (W + gap)
        grid[top:top + H, left:left + W] = maps[c]
    return grid


def unit_grid(a):
    """Hidden activations a: (n_l,) laid out as a near-square (rows, cols) grid, NaN-padded."""
    return map_grid(np.reshape(a, (-1, 1, 1)), gap=0)


def hidden_views(activations):
    """What the figure shows of the hidden layers: a list of (grid, title, caption).

    A dense network (input A0: (784, 1)): every hidden layer A_1 .. A_(L-1), one square per
    unit. A CNN (input A0: (1, 1, 28, 28)): its first layer only, after the ReLU (A1; Z1 when
    no ReLU follows it), one tile per feature map for a convolution.
    """
    L = sum(1 for key in activations if key.startswith("Z"))
    if activations["A0"].ndim == 2:
        keys = [f"A{l}" for l in range(1, L)]
    else:
        keys = [] if L == 1 else ["A1" if "A1" in activations else "Z1"]
    views = []
    for key in keys:
        a = activations[key]
        if a.ndim == 4:  # (1, C, n_H, n_W)
            C, H, W = a.shape[1:]
            views.append((map_grid(a[0]), f"layer 1: {C} feature maps ({H} x {W})",
                          "one tile per kernel (brighter: larger)"))
        else:  # (n_l, 1)
            views.append((unit_grid(a[:, 0]), f"layer {key[1:]}: {int(np.sum(a > 0))} of "
                          f"{a.shape[0]} units active", "one square per unit (brighter: larger)"))
    return views


def prediction_figure(image, activations, title="What the network sees and answers"):
    """The network's view of one image, its ten probabilities and its hidden layers.

    image: (28, 28) the preprocessed drawing; activations: the forward pass's dict for that
    one image, of nnlib.network.forward_prop (A_l: (n_l, 1)) or of nnlib.cnn.forward_prop
    (A0: (1, 1, 28, 28)); :func:`hidden_views` says what is drawn of the hidden layers.
    Returns a matplotlib Figure (not managed by pyplot).
    """
    L = sum(1 for key in activations if key.startswith("Z"))
    probabilities = activations[f"A{L}"][:, 0]
    answer = int(np.argmax(probabilities))
    views = hidden_views(activations)
    figure = Figure(figsize=(3.2 * (2 + len(views)) * 0.9, 2.9))
    axes = figure.subplots(1, 2 + len(views), gridspec_kw={"width_ratios": [1, 1.4] + [1] * len(views)})
    axes[0].imshow(image, cmap="gray_r", vmin=0, vmax=1)
    axes[0].set(title="the network's input (28 x 28)", xticks=[], yticks=[])
    colours = ["C1" if k == answer else "C0" for k in range(probabilities.size)]
    axes[1].bar(range(probabilities.size), probabilities, color=colours)
    axes[1].set(title=f"answer: {answer} ({probabilities[answer]:.1%})", xlabel="digit",
                ylabel="probability", ylim=(0, 1), xticks=range(probabilities.size))
    for ax, (grid, name, caption) in zip(axes[2:], views):
        ax.imshow(grid, cmap="viridis", vmin=0)
        ax.set(title=name, xticks=[], yticks=[])
        ax.set_xlabel(caption, fontsize=8)
    for ax in axes:
        ax.title.set_fontsize(9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


class DigitPad:
    """A canvas to draw a digit on, Clear and Predict buttons, and the network's answer.

    params: a trained network with 784 inputs (28 x 28 grey images) and 10 outputs (from
    ``nnlib.train``, ``gradient_descent``, the explorer's ``params`` or ``load_params``):
    a dense network ``W1, b1, ..., WL, bL`` of nnlib.network, or, with ``layers``, a
    convolutional one of nnlib.cnn, such as ``DigitPad(params, layers=cnn.LENET)``.
    layers: None for a dense network, else the CNN's list of layers; the pad gives it the
    image as (1, 1, 28, 28) and its figure shows the first layer's feature maps instead of
    the dense network's hidden units. The params are checked against the layers here.
    Display the pad as a cell's last value. In code: ``predict(image)`` gives the ten
    probabilities for any grey image (ink as high values) and shows them;
    ``add_stroke(points)`` draws on the pad; ``drawing()`` is the pad's image; ``clear()``.
    """

    def __init__(self, params, layers=None):
        if layers is None:
            if cnn.is_cnn_params(params):
                raise ValueError("these params hold a convolutional network's kernels: give its "
                                 "layers too, such as DigitPad(params, layers=cnn.LENET)")
            dims = check_params(params)
            if dims[0] != SIZE * SIZE or dims[-1] != 10:
                raise ValueError(f"the digit pad needs a network with {SIZE * SIZE} inputs and 10 "
                                 f"outputs, got layer_dims {dims}")
        else:
            try:
                rows = cnn.check_params(params, layers, (1, SIZE, SIZE))
            except ValueError as error:
                raise ValueError(f"the digit pad gives the network images (1, {SIZE}, {SIZE}): "
                                 f"{error}") from None
            if rows[-1]["shape"] != (10,):
                raise ValueError(f"the digit pad needs a network with 10 outputs, got layers "
                                 f"with {rows[-1]['shape'][0]}")
        self.layers = layers
        self.params = params
        self.strokes = []
        self.image = self.activations = self.probabilities = None
        self._pen_down = False
        self.canvas = Canvas(width=CANVAS, height=CANVAS,
                             layout=w.Layout(width=f"{CANVAS}px", height=f"{CANVAS}px",
                                             border="1px solid #888"))
        self.canvas.line_width, self.canvas.line_cap, self.canvas.line_join = PEN, "round", "round"
        self.canvas.on_mouse_down(self._mouse_down)
        self.canvas.on_mouse_move(self._mouse_move)
        self.canvas.on_mouse_up(self._mouse_up)
        self.canvas.on_mouse_out(self._mouse_up)
        # Touch screens: the first finger is the pen.
        self.canvas.on_touch_start(lambda touches: self._mouse_down(*touches[0]))
        self.canvas.on_touch_move(lambda touches: self._mouse_move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self._mouse_up(0, 0))
        # A browser that (re)connects gets a blank canvas: draw the background and strokes again.
        self.canvas.on_client_ready(self._repaint)
        self.clear_button = w.Button(description="Clear", icon="eraser")
        self.predict_button = w.Button(description="Predict", button_style="primary", icon="check")
        self.clear_button.on_click(lambda _: self.clear())
        self.predict_button.on_click(lambda _: self.predict_drawing())
        self.answer = w.HTML("Draw a digit with the mouse, then press Predict.")
        self.view = w.Image(format="png", layout=w.Layout(display="none", max_width="100%"))
        self.widget = w.VBox([
            w.HBox([w.VBox([self.canvas, w.HBox([self.clear_button, self.predict_button])]), self.answer]),
            self.view,
        ])
        self.widget.add_class("nnlib-digit-pad")  # a handle for the page's CSS and the browser test
        self._repaint()

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "DigitPad: run this notebook in JupyterLab to draw a digit"
        return bundle

    # ------------------------------------------------------------------ drawing
    def _repaint(self):
        """White paper, then every stroke in black (the colours stay readable in a dark theme)."""
        with hold_canvas():
            self.canvas.clear()
            self.canvas.fill_style = "white"
            self.canvas.fill_rect(0, 0, CANVAS, CANVAS)
            self.canvas.fill_style = self.canvas.stroke_style = "black"
            for stroke in self.strokes:
                self.canvas.fill_circle(*stroke[0], PEN / 2)
                if len(stroke) > 1:
                    self.canvas.stroke_lines(stroke)

    def _mouse_down(self, x, y):
        self._pen_down = True
        self.strokes.append([(x, y)])
        self.canvas.fill_circle(x, y, PEN / 2)

    def _mouse_move(self, x, y):
        if self._pen_down:
            (x0, y0) = self.strokes[-1][-1]
            self.strokes[-1].append((x, y))
            self.canvas.stroke_line(x0, y0, x, y)

    def _mouse_up(self, x, y):
        self._pen_down = False

    def add_stroke(self, points):
        """Draw a stroke through points [(x, y), ...] in canvas pixels (0..280), as the mouse would."""
        points = [(float(x), float(y)) for x, y in points]
        if not points:
            raise ValueError("a stroke needs at least one (x, y) point")
        self._mouse_down(*points[0])
        for point in points[1:]:
            self._mouse_move(*point)
        self._mouse_up(*points[-1])

    def drawing(self):
        """The pad's drawing: (280, 280) float64 ink in [0, 1]."""
        return rasterize(self.strokes)

    def clear(self):
        """Erase the drawing and the answer."""
        self.strokes = []
        self._repaint()
        self.answer.value = "Draw a digit with the mouse, then press Predict."
        self.view.layout.display = "none"

    # ------------------------------------------------------------------ answering
    def predict(self, image):
        """The ten class probabilities, (10,), for a grey image of any size, and show them.

        image: (h, w) with ink as high values, integers 0..255 or floats in [0, 1] (a pad
        drawing, or an MNIST image reshaped to (28, 28)). It is first preprocessed like
        MNIST (``to_mnist``: cropped, scaled to a 20-pixel box, centred in 28 x 28), then
        given to the network's forward pass (``self.activations`` keeps its output).
        """
        self.image = to_mnist(image)
        x = self.image.astype(self.params["W1"].dtype)
        if self.layers is None:  # a dense network reads a column (784, 1)
            self.activations = forward_prop(x.reshape(-1, 1), self.params)
        else:  # a CNN reads images (m, C, n_H, n_W): one image of one channel
            self.activations = cnn.forward_prop(x.reshape(1, 1, SIZE, SIZE), self.params,
                                                self.layers)
        L = len(self.params) // 2
        self.probabilities = self.activations[f"A{L}"][:, 0].copy()
        self._show_answer()
        return self.probabilities

    def predict_drawing(self):
        """Predict what is drawn on the pad (the Predict button); None when the pad is empty."""
        if not self.strokes:
            self.answer.value = "The pad is empty: draw a digit first, then press Predict."
            return None
        return self.predict(self.drawing())

    def figure(self):
        """The last prediction as a Figure: input image, probabilities, hidden layers
        (``prediction_figure``)."""
        if self.image is None:
            raise ValueError("nothing predicted yet: call predict(image) first")
        return prediction_figure(self.image, self.activations)

    def _show_answer(self):
        p = self.probabilities
        answer = int(get_predictions(p[:, None])[0])
        digits = "".join(f"<th>{k}</th>" for k in range(p.size))
        percents = "".join(f"<td>{q:.1%}</td>" for q in p)
        self.answer.value = (
            f'<div class="nnlib-answer" style="margin-left: 1em"><p><b>The network says {answer}</b> '
            f"(probability {p[answer]:.1%}).</p>"
            f'<table class="nnlib-probabilities"><tr><th>digit</th>{digits}</tr>'
            f"<tr><th>probability</th>{percents}</tr></table></div>")
        self.view.value = figure_png(self.figure(), dpi=72)
        self.view.layout.display = None

