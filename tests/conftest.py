"""Shared fixtures: the real MNIST data (through nnlib.load_mnist) and the hypothesis profiles."""
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI runs a fixed, derandomised profile so a red build is reproducible; locally "dev" explores more.
settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist():
    """(X_train, y_train, X_test, y_test) from nnlib.load_mnist(), as a reader loads them.

    The files come from $NNLIB_DATA_DIR when it is set, else from the user cache, where
    load_mnist downloads them (once, verified) when they are missing. The tests that run the
    command line in a subprocess use this fixture first, so the subprocess finds the files.
    """
    from nnlib import load_mnist
    return load_mnist()
