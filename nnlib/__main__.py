"""``python -m nnlib``: the command line (see :mod:`nnlib.cli`)."""
from .cli import main

raise SystemExit(main())
