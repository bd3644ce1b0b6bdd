"""The command line: ``python -m nnlib train ...``.

Trains on the first ``--train-size`` MNIST training images and reports the train and test
accuracy of the final parameters and the seconds of the training loop alone (data loading and
evaluation excluded). ``--optimizer gd`` (the default) is the article's full-batch gradient
descent for ``--iterations`` steps; ``sgd``, ``momentum``, ``adam`` and ``adamw`` train on
shuffled mini-batches for ``--epochs``, with an optional learning-rate ``--schedule`` and early
stopping (``--patience``) on the ``--val-size`` training images that follow the first
``--train-size``. ``--cnn`` trains a convolutional network (nnlib.cnn; the chapter's LeNet by
default) with mini-batches and the plain engine. With ``--json`` stdout holds exactly one JSON
object; progress and messages go to stderr.

Exit status: 0 when trained (and saved, with ``--save``); 1 when training diverged, with nothing
saved; 2 for a bad option, value or file, refused before any training where it can be (every
option's value, the memory the layers need, the ``--save`` and ``--data-dir`` paths) with one
line on stderr naming the flag or the file.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

from . import cnn
from .checks import (check_decoupled_decay, check_fraction, check_learning_rate, check_memory,
                     check_positive_int, check_seed, check_weight_decay)
from .data import load_mnist
from .losses import get_accuracy
from .optimizers import OPTIMIZERS, SCHEDULES, make_optimizer
from .params import INIT_METHODS, save_params
from .history import TrainingDiverged
from .network import predict
from .training import ENGINES, gradient_descent, train

MNIST_PIXELS, MNIST_CLASSES, MNIST_HEIGHT = 784, 10, 28
MNIST_TRAIN_IMAGES, MNIST_TEST_IMAGES = 60000, 10000
# Options of one kind of training only, with the default they take when not given.
FULL_BATCH_ONLY = {"iterations": 1000, "eval_every": 0}
MINI_BATCH_ONLY = {"epochs": 10, "batch_size": 128, "weight_decay": 0.0, "dropout": 0.0,
                   "schedule": None, "patience": None, "val_size": None}
# --patience validates on this many training images after the first --train-size (33,600 +
# 8,400 = 42,000: the article's split of Kaggle's training set)
DEFAULT_VAL_SIZE = 8400


def layer_list(text):
    """Parse "784,10,10" into [784, 10, 10] for argparse."""
    try:
        layers = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes comma-separated integers such as 784,10,10; got {text!r}") from None
    if len(layers) < 2 or min(layers) < 1:
        raise argparse.ArgumentTypeError(
            f"needs at least two positive sizes, such as 784,10,10; got {text!r}")
    if layers[0] != MNIST_PIXELS or layers[-1] != MNIST_CLASSES:
        raise argparse.ArgumentTypeError(
            f"must start with {MNIST_PIXELS} (the pixels of an MNIST image) and end with "
            f"{MNIST_CLASSES} (the digits), such as 784,10,10; got {text!r}")
    return layers


def cnn_layers(text):
    """Parse --cnn's text, such as "conv8k5p2,relu,pool2,flatten,dense10", into nnlib.cnn
    layers for argparse; the network must take MNIST images and end with 10 units."""
    try:
        layers = cnn.parse_layers(text)
        rows = cnn.layer_shapes(layers, (1, MNIST_HEIGHT, MNIST_HEIGHT))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if rows[-1]["shape"] != (MNIST_CLASSES,):
        raise argparse.ArgumentTypeError(
            f"must end with dense{MNIST_CLASSES} (the digits); got {text!r}")
    return layers


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, "error: " and a message that starts
    with the flag (argparse's "argument --seed: ..." becomes "--seed: ..."), without the usage;
    the exit status is 2, as argparse's."""

    def error(self, message):
        self.exit(2, f"error: {message.removeprefix('argument ')}\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: ...)" to an option's help unless the help already says its default.

    The options whose default depends on --optimizer are stored as None; their help gives
    the real defaults, which "(default: None)" would contradict.
    """

    def _get_help_string(self, action):
        if action.default is None or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    parser = _Parser(prog="python -m nnlib", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser(
        "train", help="train a network on MNIST and report its accuracy",
        description="Train a network on MNIST, then report train and test accuracy and the "
                    "training seconds. --optimizer gd is the article's full-batch gradient "
                    "descent (--iterations); sgd, momentum, adam and adamw use mini-batches "
                    "(--epochs, --batch-size, --weight-decay, --dropout, --schedule, --patience, "
                    "--val-size). --cnn trains a convolutional network instead, with mini-batches.",
        formatter_class=_HelpFormatter)
    add = train_parser.add_argument
    add("--layers", type=layer_list, default=None,
        help="layer sizes n_0,...,n_L; n_0 must be 784 and n_L 10 for MNIST "
             "(default: [784, 10, 10])")
    add("--cnn", type=cnn_layers, nargs="?", const=cnn.LENET, default=None, metavar="LAYERS",
        help="train a convolutional network instead of --layers: alone, the chapter's "
             f"{cnn.layers_text(cnn.LENET).replace(',', ', ')}; or your layers, comma-separated: "
             "conv{C}k{k}[s{S}][p{P}], relu, pool{n}[s{S}], flatten, dense{n}. Mini-batch "
             "optimizers only (adam unless --optimizer says otherwise), plain engine, no dropout")
    add("--optimizer", choices=["gd", *OPTIMIZERS], default=None,
        help="gd: full-batch gradient descent, the article's; or mini-batch sgd, momentum, adam, "
             "adamw (Adam with decoupled weight decay) (default: gd; adam with --cnn)")
    add("--learning-rate", type=float, default=None,
        help="step size alpha (default: 0.1 for gd, sgd and momentum, 0.001 for adam and adamw)")
    add("--iterations", type=int, default=None, help="gd only: full-batch steps (default 1000)")
    add("--eval-every", type=int, default=None,
        help="gd only: also record test accuracy every N iterations (default 0: only at the end)")
    add("--epochs", type=int, default=None, help="mini-batch only: passes over the data (default 10)")
    add("--batch-size", type=int, default=None, help="mini-batch only: examples per step (default 128)")
    add("--weight-decay", type=float, default=None,
        help="mini-batch only: lambda; coupled L2 for sgd, momentum and adam (adds lambda * W_l "
             "to dW_l), decoupled decay for adamw (W_l <- W_l - alpha * lambda * W_l at each "
             "step, outside Adam's normalisation) (default 0)")
    add("--dropout", type=float, default=None,
        help="mini-batch only: probability of dropping each hidden unit (default 0)")
    add("--schedule", choices=[name for name in SCHEDULES if name], default=None,
        help="mini-batch only: learning rate of epoch e of E: step (alpha, then alpha/10 from "
             "e >= E/2, alpha/100 from e >= 3E/4) or cosine (alpha (1 + cos(pi e / E)) / 2) "
             "(default: alpha every epoch)")
    add("--patience", type=int, default=None, metavar="N",
        help="mini-batch only: stop once N epochs bring no new lowest validation loss, and "
             "keep the parameters of the epoch with the lowest (default: no early stopping)")
    add("--val-size", type=int, default=None, metavar="N",
        help=f"with --patience: validate on the N MNIST training images that follow the first "
             f"--train-size, never trained on (default {DEFAULT_VAL_SIZE}, fewer if fewer "
             f"remain)")
    add("--train-size", type=int, default=33600,
        help="train on the first N of MNIST's 60,000 training images")
    add("--init", choices=INIT_METHODS, default="he", help="weight initialisation")
    add("--engine", choices=ENGINES, default=None,
        help="plain: the book's forward_prop, back_prop and optimisers, as the chapters show "
             "them; fast: nnlib.fast, the same maths on preallocated buffers and two cores, "
             "several times faster. Both train the same network; their results differ only "
             "by rounding (default: fast); --cnn trains with plain only")
    add("--seed", type=int, default=0,
        help="seed of the initialisation (and of the shuffles and dropout masks)")
    add("--data-dir", default=None,
        help="folder with the MNIST files (default: $NNLIB_DATA_DIR, else the cache)")
    add("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    add("--save", metavar="PATH",
        help="save the trained parameters to this .npz file (.npz is added when missing)")
    add("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def settings_from(args, parser):
    """Fill the defaults of the chosen kind of training; reject the other kind's options, then
    every bad value (:func:`check_options`). Returns the settings the result reports."""
    check_cnn_options(args, parser)
    full_batch = args.optimizer == "gd"
    used, unused = (FULL_BATCH_ONLY, MINI_BATCH_ONLY) if full_batch else (MINI_BATCH_ONLY, FULL_BATCH_ONLY)
    given = [name for name in unused if getattr(args, name) is not None]
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        kind = ("full-batch gradient descent (--optimizer gd)" if full_batch
                else f"mini-batch training (--optimizer {args.optimizer})")
        parser.error(f"{options} cannot be used with {kind}")
    for name, default in used.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.learning_rate is None:
        args.learning_rate = 0.1 if full_batch else OPTIMIZERS[args.optimizer].default_learning_rate
    if args.val_size is not None and args.patience is None:
        parser.error("--val-size is used with --patience only (the validation set of early stopping)")
    if args.patience is not None and args.val_size is None:
        args.val_size = min(DEFAULT_VAL_SIZE, MNIST_TRAIN_IMAGES - args.train_size)
    check_options(args, parser)
    settings = {"optimizer": args.optimizer, "learning_rate": args.learning_rate}
    if full_batch:
        settings["iterations"] = args.iterations
    else:
        settings.update(make_optimizer(args.optimizer, [], args.learning_rate).settings())
        settings.update(epochs=args.epochs, batch_size=args.batch_size,
                        weight_decay=args.weight_decay, dropout=args.dropout,
                        schedule=args.schedule, patience=args.patience)
        if args.patience is not None:
            settings["val_size"] = args.val_size
    return settings


def check_cnn_options(args, parser):
    """Fill the defaults that depend on --cnn (--layers, --optimizer, --engine); refuse what a
    CNN cannot do."""
    if args.cnn is None:
        args.layers = args.layers or [MNIST_PIXELS, 10, MNIST_CLASSES]
        args.optimizer = args.optimizer or "gd"
        args.engine = args.engine or "fast"
        return
    refused = [("--layers", args.layers is not None, "the layers are --cnn's"),
               ("--optimizer gd", args.optimizer == "gd",
                "a CNN trains on mini-batches: use sgd, momentum, adam or adamw"),
               ("--engine fast", args.engine == "fast", "the fast engine trains dense networks only"),
               ("--dropout", args.dropout is not None, "nnlib.cnn has no dropout")]
    for option, given, why in refused:
        if given:
            parser.error(f"{option} cannot be used with --cnn: {why}")
    args.optimizer = args.optimizer or "adam"
    args.engine = "plain"


def check_options(args, parser):
    """Refuse a bad value before any data is loaded or any step taken, in one line naming its
    flag: the library's own checks, the memory the network needs, the --data-dir and --save
    paths. ``args.save`` becomes the path np.savez will really write."""
    try:
        check_learning_rate(args.learning_rate, "--learning-rate")
        check_seed(args.seed, "--seed")
        if not 1 <= args.train_size <= MNIST_TRAIN_IMAGES:
            raise ValueError(f"--train-size must be between 1 and {MNIST_TRAIN_IMAGES}, "
                             f"got {args.train_size}")
        if args.optimizer == "gd":
            check_positive_int(args.iterations, "--iterations")
            check_positive_int(args.eval_every, "--eval-every", minimum=0)
        else:
            check_positive_int(args.epochs, "--epochs")
            check_positive_int(args.batch_size, "--batch-size")
            check_weight_decay(args.weight_decay, "--weight-decay")
            if args.optimizer == "adamw":
                check_decoupled_decay(args.weight_decay, args.learning_rate,
                                      names=("--weight-decay", "--learning-rate"))
            check_fraction(args.dropout, "--dropout")
            if args.patience is not None:
                check_positive_int(args.patience, "--patience")
                check_val_size(args.train_size, args.val_size)
        if args.cnn is None:  # (a CNN evaluates 1,000 images at a time)
            # the largest forward pass: the accuracy on all the training images, or on the test set
            check_memory(args.layers, np.float32, max(args.train_size, MNIST_TEST_IMAGES),
                         name="--layers")
        check_data_dir(args.data_dir)
        args.save = save_path(args.save)
    except ValueError as error:
        parser.error(str(error))


def check_val_size(train_size, val_size):
    """Refuse a --val-size that is not positive or does not fit after the --train-size images."""
    room = MNIST_TRAIN_IMAGES - train_size
    if room == 0:
        raise ValueError(f"--patience needs validation images, but --train-size {train_size} "
                         f"uses all {MNIST_TRAIN_IMAGES} training images: use fewer")
    if not 1 <= val_size <= room:
        raise ValueError(f"--val-size must be between 1 and {room} (the training images after "
                         f"the first --train-size {train_size}), got {val_size}")


def check_data_dir(path):
    """Refuse a --data-dir that is a file, or lies under one (None: the default folder)."""
    if path is None:
        return
    existing = os.path.abspath(path)
    while not os.path.exists(existing):  # the folder is created when missing: its first parent
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        where = "" if existing == os.path.abspath(path) else f": {existing}"
        raise ValueError(f"--data-dir {path}{where} is a file, not a folder; give the folder "
                         "that holds (or will hold) the MNIST files")


def save_path(path):
    """The file ``--save path`` will write (None: no file), checked before training so that a
    bad path cannot lose the run. np.savez adds ".npz" to a name without it; so do we, to
    report the file really written."""
    if path is None:
        return None
    given, path = path, path if path.endswith(".npz") else path + ".npz"
    for name in (given, path):
        if os.path.isdir(name) or not os.path.basename(name):
            raise ValueError(f"--save {name!r} is a folder: give a file name, such as "
                             f"{os.path.join(name, 'params.npz')}")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise ValueError(f"--save {path}: there is no folder {folder}")
    try:  # creating a file is the one test that holds for every user (root too) and file system
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"--save {path}: cannot write in the folder {folder} "
                         f"({error.strerror})") from None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"--save {path}: the file exists and is read-only")
    return path


def train_command(args, settings):
    X_train, y_train, X_test, y_test = load_mnist(args.data_dir)
    layers, evaluate = args.layers, predict
    if args.cnn is not None:  # images (m, 1, 28, 28), examples first
        X_train, X_test = (cnn.as_images(X_) for X_ in (X_train, X_test))
        layers = args.cnn

        def evaluate(X, params):
            return cnn.predict(X, params, layers)
    X, y = take(X_train, slice(0, args.train_size)), y_train[:args.train_size]
    # early stopping watches the images after the training ones: never trained on, not the test set
    validation = {}
    if args.optimizer != "gd" and args.patience is not None:
        after = slice(args.train_size, args.train_size + args.val_size)
        validation = {"X_val": take(X_train, after), "y_val": y_train[after]}
        if validation["y_val"].shape[0] == 0:  # files with fewer images than MNIST's
            raise ValueError(f"--patience: no training images follow the first --train-size "
                             f"{args.train_size} (the files hold {X_train.shape[1]})")
    progress = not (args.no_progress or args.json)
    if args.optimizer == "gd":
        params, history = gradient_descent(
            X, y, args.layers, args.learning_rate, args.iterations, init=args.init, seed=args.seed,
            X_test=X_test, y_test=y_test, eval_every=args.eval_every, progress=progress,
            engine=args.engine)
    else:
        params, history = train(
            X, y, layers, epochs=args.epochs, batch_size=args.batch_size,
            optimizer=args.optimizer, learning_rate=args.learning_rate,
            weight_decay=args.weight_decay, dropout=args.dropout, schedule=args.schedule,
            patience=args.patience, init=args.init, seed=args.seed, progress=progress,
            engine=args.engine, **validation)
    seconds = history["seconds"][-1]
    result = {
        "layers": args.layers if args.cnn is None else cnn.layers_text(args.cnn),
        **settings,
        "train_size": args.train_size,
        "init": args.init,
        "seed": args.seed,
        "engine": args.engine,
        "train_accuracy": get_accuracy(evaluate(X, params), y),
        "test_accuracy": get_accuracy(evaluate(X_test, params), y_test),
        "seconds": round(seconds, 3),
    }
    if validation:  # early stopping: how far it ran, and which epoch's parameters it kept
        result.update(epochs_run=len(history["epoch"]), best_epoch=history["best_epoch"],
                      val_loss=history["val_loss"][history["best_epoch"] - 1]
                      if history["best_epoch"] else None)
    if args.save:
        save_params(args.save, params)
    if args.json:
        print(json.dumps(result))
        return 0
    steps = (f"{args.iterations} iterations of full-batch gradient descent" if args.optimizer == "gd"
             else f"{args.epochs} epochs of {args.optimizer}, batch size {args.batch_size}")
    if args.optimizer != "gd" and args.schedule:
        steps += f", {args.schedule} schedule"
    print(f"layers {describe_layers(args)}, {steps}, learning rate {args.learning_rate}, "
          f"init {args.init}, seed {args.seed}, {args.engine} engine")
    print(f"train accuracy {result['train_accuracy']:.1%} on {args.train_size} images")
    print(f"test accuracy  {result['test_accuracy']:.1%} on {len(y_test)} images")
    if validation:
        print(f"early stopping: ran {result['epochs_run']} of {args.epochs} epochs, kept the "
              f"parameters of epoch {result['best_epoch']} (lowest validation loss on "
              f"{args.val_size} images)")
    print(f"training took {seconds:.1f} s")
    if args.save:
        print(f"saved the parameters to {args.save}")
        if args.cnn is not None:
            print(f"load them with nnlib.load_params({args.save!r}, "
                  f"nnlib.cnn.parse_layers({cnn.layers_text(args.cnn)!r}))")
    return 0


def take(X, examples):
    """The examples (a slice) of X: columns of a (784, m) matrix, or images (m, 1, 28, 28)."""
    return X[examples] if X.ndim == 4 else X[:, examples]


def describe_layers(args):
    """The network in one line: 784,10,10, or the CNN's text."""
    if args.cnn is not None:
        return f"CNN {cnn.layers_text(args.cnn)}"
    return ",".join(map(str, args.layers))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = settings_from(args, parser)
    try:
        # Divergence is reported below, in one line: NumPy's overflow warnings before it are noise.
        with np.errstate(over="ignore", invalid="ignore"):
            return train_command(args, settings)
    except TrainingDiverged as error:
        print(f"error: training diverged: {error}", file=sys.stderr)
        return 1
    except MemoryError:  # check_memory's estimate is a lower bound: this may still happen
        option = "--layers" if args.cnn is None else "--cnn"
        print(f"error: out of memory with {option} {describe_layers(args)} and "
              f"--train-size {args.train_size}: try smaller layers or fewer images",
              file=sys.stderr)
        return 2
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
