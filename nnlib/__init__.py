"""nnlib: the deep neural network the book builds, in NumPy.

The public API, re-exported from the modules that hold it (one module per chapter);
``nnlib.article`` (the article's code with its defects), ``nnlib.plots``, ``nnlib.show``,
``nnlib.exercises``, ``nnlib.widgets`` and the fast engine ``nnlib.fast`` are imported on
their own when needed.
"""
from .activations import relu, relu_backward, softmax
from .data import load_digits_csv, load_mnist, scale_pixels, train_val_split
from .gradcheck import gradient_check, gradient_errors, numerical_gradient, relative_error
from .history import TrainingDiverged
from .losses import (confusion_matrix, cross_entropy, cross_entropy_from_logits, get_accuracy,
                     get_predictions, most_confident_mistakes, one_hot)
from .network import (back_prop, bias_gradient, forward_prop, linear_backward, linear_forward,
                      predict, update_params)
from .params import init_params, load_params, save_params
from .regularization import dropout_backward, dropout_forward, l2_gradient
from .training import gradient_descent, train

__version__ = "0.1.0"

__all__ = [
    "TrainingDiverged", "back_prop", "bias_gradient", "confusion_matrix", "cross_entropy",
    "cross_entropy_from_logits", "dropout_backward", "dropout_forward", "forward_prop",
    "get_accuracy", "get_predictions", "gradient_check", "gradient_descent", "gradient_errors",
    "init_params", "l2_gradient", "linear_backward", "linear_forward", "load_digits_csv",
    "load_mnist", "load_params", "most_confident_mistakes", "numerical_gradient", "one_hot",
    "predict", "relative_error", "relu", "relu_backward", "save_params", "scale_pixels",
    "softmax", "train", "train_val_split", "update_params",
]
