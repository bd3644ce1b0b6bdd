"""What the benchmark scripts share: the machine and versions, tables, results files, rests."""
import datetime
import json
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version

import numpy as np

SETTLE = 0.3  # seconds of rest before each timed run: the previous run's BLAS threads go to sleep


def settle():
    """Rest SETTLE seconds, untimed: idle BLAS or OpenMP threads keep spinning on a core for a
    while after their work (OpenBLAS's for 2^28 cycles, about 0.1 s), and without the rest
    whoever runs next pays for it (measured: an nnlib epoch 0.06 s slower right after 2-thread
    OpenBLAS work)."""
    time.sleep(SETTLE)


def environment():
    """{"machine": {cpu, cores, os}, "versions": {python, numpy, blas, torch, scikit-learn}}."""
    from threadpoolctl import threadpool_info
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = next((f"{lib['internal_api']} {lib['version']} {lib.get('architecture', '')}".strip()
                 for lib in threadpool_info() if lib["user_api"] == "blas"), "unknown")
    versions = {"python": sys.version.split()[0], "numpy": np.__version__, "blas": blas}
    for package in ("torch", "scikit-learn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {"machine": {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform()},
            "versions": versions}


def machine():
    """One line to print above a table: date, CPU, cores, load, versions."""
    env = environment()
    load = ", load average %.1f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    versions = ", ".join(f"{name} {number}" for name, number in env["versions"].items() if number)
    return (f"{datetime.date.today().isoformat()}, {env['machine']['cpu']}, "
            f"{env['machine']['cores']} cores{load}, {versions}")


def markdown_table(header, rows):
    """A Markdown table from a header list and rows of already formatted strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path, value):
    """Write ``value`` to ``path`` as indented JSON (does nothing when path is None)."""
    if path is not None:
        with open(path, "w") as file:
            json.dump(value, file, indent=1)
            file.write("\n")
