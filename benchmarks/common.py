"""What the benchmark scripts share: the machine's description and a Markdown table."""
import datetime
import os
import platform
import sys

import numpy as np


def machine():
    """One line: date, CPU, cores, Python and NumPy versions, BLAS."""
    from threadpoolctl import threadpool_info
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = next((f"{lib['internal_api']} {lib['version']} ({lib.get('architecture', '?')}, "
                 f"{lib['num_threads']} threads)" for lib in threadpool_info() if lib["user_api"] == "blas"),
                "unknown BLAS")
    load = ", load average %.1f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return (f"{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores{load}, "
            f"Python {sys.version.split()[0]}, NumPy {np.__version__}, {blas}")


def markdown_table(header, rows):
    """A Markdown table from a header list and rows of already formatted strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
