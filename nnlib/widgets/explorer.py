"""The training explorer (chapter "Explore the network"): sliders, a Train button, live curves.

The explorer trains with ``nnlib.gradient_descent``, the article's full-batch loop, whose
callback redraws the curves while it runs and lets Stop end a run between two steps. Runs
go in a background thread (the kernel stays free to receive Stop); ``train(wait=True)`` runs
in the caller's thread, which is what notebooks and tests use.
"""
import html
import io
import math
import threading
import time

import ipywidgets as w
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from ..checks import check_labels, check_X
from ..losses import get_accuracy, get_predictions
from ..history import TrainingDiverged
from ..network import forward_prop, predict
from ..params import INIT_METHODS
from ..training import gradient_descent

NUM_CLASSES = 10
CHANCE = 1 / NUM_CLASSES
MAX_HIDDEN_LAYERS = 4
# The learning-rate slider's values: a log scale with round steps (1, 2, 5 per decade).
LEARNING_RATES = tuple(float(f"{mantissa}e{exponent}") for exponent in range(-3, 2) for mantissa in (1, 2, 5))
REDRAW_SECONDS = 0.3  # the live plot is redrawn at most this often (a redraw takes 50-100 ms)
VAL_POINTS = 25  # validation accuracy is measured about this many times per run

COLUMNS = ["layer_dims", "learning_rate", "iterations", "train_size", "init", "seed", "result",
           "train_accuracy", "val_accuracy", "seconds"]


def figure_png(figure, dpi=80):
    """The PNG bytes of a matplotlib Figure that pyplot does not manage (safe in a thread)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def dead_fraction(activations, L):
    """Fraction of hidden units whose ReLU output is 0 for every example ("dead" units).

    activations: the dict from forward_prop; L: number of layers with weights. A dead
    unit passes no gradient back (ReLU'(Z) = 0 wherever Z < 0), so it never recovers.
    Returns 0.0 for a network without hidden layers.
    """
    hidden = [activations[f"A{l}"] for l in range(1, L)]
    units = sum(A.shape[0] for A in hidden)
    if units == 0:
        return 0.0
    return sum(int(np.sum(~A.any(axis=1))) for A in hidden) / units


def validation_history(history):
    """gradient_descent's history with its test evaluation named as what it is here: validation.

    The lists are shared, not copied: {} gives the empty history the first redraw shows.
    """
    renamed = {"test_iteration": "val_iteration", "test_accuracy": "val_accuracy"}
    empty = {key: [] for key in ("iteration", "loss", "train_accuracy", "seconds", *renamed)}
    return {renamed.get(key, key): value for key, value in {**empty, **history}.items()}


def advice(run, history, dead):
    """A sentence for a run that learned nothing, naming the likely cause; None when it learned.

    run: the row of the runs table; history: its curves; dead: the fraction of dead hidden units.
    """
    accuracy = run["val_accuracy"]
    if accuracy >= 2 * CHANCE:
        return None
    lr = run["learning_rate"]
    message = (f"it learned nothing: validation accuracy {accuracy:.1%}, no better than guessing "
               f"among {NUM_CLASSES} digits ({CHANCE:.0%}). ")
    first, last = history["loss"][0], history["loss"][-1]
    if dead >= 0.5:
        return message + (
            f"{dead:.0%} of the hidden units output 0 for every training image (dead ReLUs): "
            f"steps with learning rate {lr:g} are so large that they pushed them there, and a "
            f"dead unit gets no gradient to come back. Try a smaller learning rate, such as {lr / 10:g}.")
    if last > 0.95 * first:
        return message + (
            f"The loss barely moved (from {first:.4g} to {last:.4g}): with learning rate {lr:g} "
            f"the steps are too small for {run['iterations']} iterations. Try a larger learning "
            f"rate or more iterations.")
    return message + ("The network is too small or trained too briefly: try more units or "
                      "more iterations.")


class Explorer:
    """Sliders for the network's size and training, a Train button, live curves and a runs table.

    X: (n_0, m) float32 training images, y: (m,) labels; X_val: (n_0, m_val), y_val: (m_val,)
    a validation split taken from the *training* images (``nnlib.train_val_split``), never
    the test set. Each run trains ``layer_dims = [n_0, units_1, ..., units_k, 10]`` on the
    first ``train_size`` columns of X with full-batch gradient descent.

    Display the explorer as a cell's last value. In code: set the sliders (``hidden_layers``,
    ``units[l]``, ``learning_rate``, ``iterations``, ``train_size``, ``init``, ``seed``), call
    ``train(wait=True)``, then read ``runs`` (a DataFrame, one row per run), ``history``,
    ``params`` and ``message`` of the last run, and ``figure`` (its curves).
    """

    def __init__(self, X, y, X_val, y_val, *, hidden_layers=1, units=32, learning_rate=0.5,
                 iterations=200, train_size=5000, init="he", seed=0):
        check_X(X)
        check_labels(y, m=X.shape[1], num_classes=NUM_CLASSES)
        check_X(X_val, X.shape[0], name="X_val")
        check_labels(y_val, m=X_val.shape[1], num_classes=NUM_CLASSES, name="y_val")
        if learning_rate not in LEARNING_RATES:
            raise ValueError(
                f"learning_rate must be one of the slider's values {LEARNING_RATES}, got {learning_rate!r}")
        self.X, self.y, self.X_val, self.y_val = X, y, X_val, y_val
        self._rows = []
        self.runs = self._runs_frame()
        self.history, self.params, self.message = None, None, ""
        self.figure, self._axes, self._lines = self._new_figure()
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()  # one run at a time
        self.widget = self._controls(hidden_layers, units, learning_rate, iterations, train_size, init, seed)

    def _controls(self, hidden_layers, units, learning_rate, iterations, train_size, init, seed):
        """Create the sliders, buttons and outputs as attributes; return the whole layout."""
        m = self.X.shape[1]
        style = {"description_width": "9em"}

        def wide():  # each widget its own Layout: hiding one slider must not hide the others
            return w.Layout(width="24em")

        self.hidden_layers = w.IntSlider(hidden_layers, min=0, max=MAX_HIDDEN_LAYERS,
                                         description="hidden layers", style=style, layout=wide())
        self.units = [w.IntSlider(units, min=1, max=256, description=f"units, layer {l}", style=style, layout=wide())
                      for l in range(1, MAX_HIDDEN_LAYERS + 1)]
        self.learning_rate = w.SelectionSlider(options=[(f"{lr:g}", lr) for lr in LEARNING_RATES],
                                               value=learning_rate, description="learning rate",
                                               style=style, layout=wide())
        self.iterations = w.IntSlider(iterations, min=10, max=2000, step=10,
                                      description="iterations", style=style, layout=wide())
        step = 100 if m >= 1000 else 1
        self.train_size = w.IntSlider(min(train_size, m), min=min(step, m), max=m, step=step,
                                      description="training images", style=style, layout=wide())
        self.init = w.Dropdown(options=INIT_METHODS, value=init, description="init", style=style, layout=wide())
        self.seed = w.BoundedIntText(seed, min=0, max=2**32 - 1, description="seed", style=style, layout=wide())
        self.train_button = w.Button(description="Train", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.status = w.Label("")
        self.status.add_class("nnlib-status")
        self.message_box = w.HTML("")
        self.plot = w.Image(format="png", layout=w.Layout(display="none", max_width="100%"))
        self.table = w.HTML("")
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.hidden_layers.observe(lambda _: self._show_unit_sliders(), "value")
        self._show_unit_sliders()
        layout = w.VBox([
            w.HBox([w.VBox([self.hidden_layers, *self.units]),
                    w.VBox([self.learning_rate, self.iterations, self.train_size, self.init, self.seed])]),
            w.HBox([self.train_button, self.stop_button, self.status]),
            self.message_box, self.plot, self.table,
        ])
        layout.add_class("nnlib-explorer")  # a handle for the page's CSS and the browser test
        return layout

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "Explorer: run this notebook in JupyterLab to use the sliders"
        return bundle

    def _show_unit_sliders(self):
        for l, slider in enumerate(self.units, start=1):
            slider.layout.display = None if l <= self.hidden_layers.value else "none"

    # ------------------------------------------------------------------ settings
    def settings(self):
        """The sliders' current values as the keywords of one run."""
        hidden = [slider.value for slider in self.units[:self.hidden_layers.value]]
        return {
            "layer_dims": [self.X.shape[0], *hidden, NUM_CLASSES],
            "learning_rate": float(self.learning_rate.value),
            "iterations": int(self.iterations.value),
            "train_size": int(self.train_size.value),
            "init": self.init.value,
            "seed": int(self.seed.value),
        }

    def _runs_frame(self):
        return pd.DataFrame(self._rows, columns=COLUMNS, index=pd.RangeIndex(1, len(self._rows) + 1, name="run"))

    @property
    def running(self):
        """True while a run is in progress."""
        return self._lock.locked()

    # ------------------------------------------------------------------ actions
    def train(self, wait=False):
        """Train once with the current settings; add a row to ``runs``.

        wait=False (the Train button) starts a background thread and returns at once;
        wait=True trains in this thread and returns the new row of ``runs`` as a dict.
        """
        settings = self.settings()
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("a run is in progress: call stop() first")
        self._stop.clear()
        self.train_button.disabled, self.stop_button.disabled = True, False
        self._say(f"Run {len(self.runs) + 1}: training layer_dims {settings['layer_dims']}...", "info")
        if not wait:
            self._thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
            self._thread.start()
            return None
        runs = len(self.runs)
        self._run(settings, reraise=True)
        return self.runs.iloc[-1].to_dict() if len(self.runs) > runs else None

    def stop(self):
        """Stop the run in progress after its current step; its row says where it stopped."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def table_view(self, seconds=True):
        """``runs`` as the widget shows it: accuracies in % with one decimal, seconds rounded."""
        view = self.runs.copy()
        for column in ("train_accuracy", "val_accuracy"):
            view[column] = [f"{a:.1%}" if math.isfinite(a) else "-" for a in self.runs[column]]
        view["learning_rate"] = [f"{lr:.3g}" for lr in self.runs["learning_rate"]]
        if seconds:
            view["seconds"] = [f"{s:.1f}" for s in self.runs["seconds"]]
        else:
            view = view.drop(columns="seconds")
        return view

    # ------------------------------------------------------------------ the run
    def _run(self, settings, reraise=False):
        """One run: train, record the row and the message, redraw. Holds ``_lock`` until done.

        Settings that nnlib rejects (a ValueError) become the message. Any other error is a
        bug: the message names it, and with ``reraise`` the caller gets the traceback too.
        """
        failure = None
        try:
            row, history, params, dead, error = self._gradient_descent(settings)
            self.history, self.params = history, params
            if error is not None:
                message, level = f"Run {len(self.runs) + 1}: {error}", "error"
            elif (note := advice(row, history, dead)) is not None:
                message, level = f"Run {len(self.runs) + 1}: {note}", "warning"
            else:
                message = (f"Run {len(self.runs) + 1}: {row['result']}; validation accuracy "
                           f"{row['val_accuracy']:.1%}, training accuracy {row['train_accuracy']:.1%}.")
                level = "info"
            self._rows.append(row)
            self.runs = self._runs_frame()
            self._redraw(history, settings, final=True)
            self.table.value = self.table_view().to_html(classes="nnlib-runs", border=0)
        except ValueError as error:
            message, level = f"These settings cannot run: {error}", "error"
        except Exception as error:  # noqa: BLE001 - a thread has no one else to tell
            message, level, failure = f"Training failed: {type(error).__name__}: {error}", "error", error
        finally:
            self.train_button.disabled, self.stop_button.disabled = False, True
            self.status.value = ""
            self._lock.release()
        self._say(message, level)
        if failure is not None and reraise:
            raise failure

    def _gradient_descent(self, settings):
        """One run of ``nnlib.gradient_descent``, whose callback redraws the curves and obeys Stop.

        Returns (row, history, params, dead fraction, error message or None). history holds
        gradient_descent's ``iteration``, ``loss``, ``train_accuracy`` (before each step) and
        ``seconds``, and ``val_iteration``, ``val_accuracy`` (after a step), its test
        evaluation on the validation split. params is None when the run diverged.
        """
        dims, learning_rate, iterations = settings["layer_dims"], settings["learning_rate"], settings["iterations"]
        X, y = self.X[:, :settings["train_size"]], self.y[:settings["train_size"]]
        L = len(dims) - 1
        result, params, error = "done", None, None
        next_redraw = self._redraw(validation_history({}), settings)

        def step_done(iteration, params, history):
            nonlocal result, next_redraw
            if time.perf_counter() > next_redraw:
                self.status.value = f"iteration {iteration} of {iterations}, loss {history['loss'][-1]:.4g}"
                next_redraw = self._redraw(validation_history(history), settings)
            if self._stop.is_set() and iteration < iterations:
                result = f"stopped after {iteration}"
                return True
            return False

        # Overflow on the way to divergence is expected and reported below, not warned about.
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                # One BLAS thread: OpenBLAS's second one spins while it waits, and when
                # other programs used the cores that made products 4 to 15x slower.
                with threadpool_limits(limits=1, user_api="blas"):
                    params, history = gradient_descent(
                        X, y, dims, learning_rate, iterations, init=settings["init"], seed=settings["seed"],
                        X_test=self.X_val, y_test=self.y_val, eval_every=max(1, iterations // VAL_POINTS),
                        progress=False, callback=step_done)
            except TrainingDiverged as diverged:
                history, result, error = diverged.history, f"diverged at {len(diverged.history['loss'])}", str(diverged)
            trained = params is not None
            final = forward_prop(X, params) if trained else None  # the accuracies of the final params
            row = {
                "layer_dims": ", ".join(map(str, dims)), "learning_rate": learning_rate,
                "iterations": len(history["iteration"]), "train_size": settings["train_size"],
                "init": settings["init"], "seed": settings["seed"], "result": result,
                "train_accuracy": get_accuracy(get_predictions(final[f"A{L}"]), y) if trained else math.nan,
                "val_accuracy": get_accuracy(predict(self.X_val, params), self.y_val) if trained else math.nan,
                "seconds": history["seconds"][-1],
            }
        return row, validation_history(history), params, dead_fraction(final, L) if trained else 0.0, error

    # ------------------------------------------------------------------ drawing
    def _new_figure(self):
        figure = Figure(figsize=(10, 3.4))
        ax_loss, ax_acc = figure.subplots(1, 2)
        lines = {
            "loss": ax_loss.plot([], [], color="C0")[0],
            "train": ax_acc.plot([], [], color="C1", label="train")[0],
            "val": ax_acc.plot([], [], color="C2", marker="o", markersize=3, label="validation")[0],
        }
        ax_loss.set(xlabel="iteration", ylabel="mean cross-entropy loss", title="loss")
        ax_acc.set(xlabel="iteration", ylabel="accuracy (%)", title="accuracy", ylim=(0, 100))
        ax_acc.legend(loc="lower right")
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
        figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.8, wspace=0.22)
        return figure, (ax_loss, ax_acc), lines

    def _redraw(self, history, settings, final=False):
        """Put the history's curves in ``figure`` and its PNG in the plot widget.

        Returns the time of the earliest next redraw: drawing may take at most about a
        quarter of a run's time, however slow the machine.
        """
        start = time.perf_counter()
        ax_loss, ax_acc = self._axes
        iterations = np.asarray(history["iteration"])
        loss = np.asarray(history["loss"], dtype=float)
        finite = np.isfinite(loss)
        self._lines["loss"].set_data(iterations[finite], loss[finite])
        self._lines["train"].set_data(iterations, 100 * np.asarray(history["train_accuracy"]))
        self._lines["val"].set_data(history["val_iteration"], 100 * np.asarray(history["val_accuracy"]))
        right = iterations[-1] if final and iterations.size else settings["iterations"]
        for ax in self._axes:
            ax.set_xlim(0, max(right, 1))
        ax_loss.relim()
        ax_loss.autoscale_view(scalex=False)
        self.figure.suptitle(
            f"layer_dims [{', '.join(map(str, settings['layer_dims']))}], learning rate "
            f"{settings['learning_rate']:.3g}, {settings['train_size']} images, init {settings['init']}, "
            f"seed {settings['seed']}", fontsize=10)
        self.plot.value = figure_png(self.figure)
        self.plot.layout.display = None
        now = time.perf_counter()
        return now + max(REDRAW_SECONDS, 3 * (now - start))

    def _say(self, message, level):
        self.message = message
        colour = {"info": "#1b5e20", "warning": "#8a5300", "error": "#b00020"}[level]
        self.message_box.value = (f'<div class="nnlib-message nnlib-{level}" style="color: {colour}">'
                                  f"{html.escape(message)}</div>")
