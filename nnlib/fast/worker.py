"""A forked worker process that runs the other half of every training step.

Two Python threads cannot both run Python: each NumPy call releases the GIL and takes it back,
and on a virtual machine every hand-over between the threads wakes a sleeping thread, which
took 20 to 40 µs here. A mini-batch step of ``nnlib.train`` is about a hundred NumPy calls on
each core, so the hand-overs cost as much as the arithmetic. A forked process has its own
interpreter and its own GIL: the two halves of a step run side by side without waiting for
each other, and meet twice per step at barriers that spin on a flag in shared memory (a few
µs) instead of sleeping.

What the two processes share is what :func:`shared_empty` allocates: pages mapped into both,
so what one writes the other reads. Everything else (the optimiser's state, the dropout
generator, the scratch buffers) is a private copy made by ``fork()``, which each process keeps
updating on its own. The protocol, for step s:

1. the main process writes the step's columns and settings, then ``posted = s``;
2. both run ``first(k, columns, settings)`` (the forward and backward pass on their block);
3. each announces it (``main_arrived`` or ``arrived = s``) and waits for the other: both
   blocks' gradients are now in shared memory;
4. both run ``second(k, settings)`` (the optimiser on their part of the parameter vector);
5. the worker sets ``done = s``; the main process waits for it before returning.

Spinning is only correct where a flag written after the data cannot be seen before the data:
x86-64 guarantees that order (its stores are seen in program order), ARM does not, so
:func:`available` limits this to x86-64 Linux; elsewhere the workspace uses a thread. A wait
that lasts longer than ``SPIN_SECONDS`` (the main process is validating or plotting between
epochs) sleeps between checks, longer and longer up to ``MAX_SLEEP_SECONDS``
(``IDLE_SLEEP_SECONDS`` once the wait has lasted ``IDLE_SECONDS``: an idle
worker then costs under 10 ms of CPU per 2 s), instead of burning a core, and
checks that the other process is still alive.

What keeps it from hanging (issue 10):

- ``fork()`` copies every lock as it is at that instant, and only the forking
  thread. Another thread caught inside an OpenBLAS product leaves the child
  with OpenBLAS's locks taken for good: its first product waits forever. So
  forks go through ``FORK_GATE``: a training step runs inside
  ``FORK_GATE.computing()``, and a fork waits until no step of any thread is
  inside, keeping new ones out until it has forked. A fresh interpreter (a
  forkserver) avoids the question, but measured 0.3 s per run (a process
  start and X^T copied to shared memory, against 10 ms for a fork), and it
  cannot run the closures the protocol passes.
- Every wait within a step has a deadline of ``WAIT_SECONDS`` (the main
  process's wait for the worker, the worker's for the main process, a fork's
  for the gate): a dead or stuck partner becomes a RuntimeError that says
  which. Between steps the worker waits as long as its parent lives (a
  callback may pause a run for minutes).
- The worker asks Linux to SIGKILL it when the thread that forked it ends
  (``prctl(PR_SET_PDEATHSIG)``), so it dies with its parent whatever the
  signal, even SIGKILL, and checks ``getppid()`` in case the parent died
  before that request.
"""
import contextlib
import ctypes
import gc
import mmap
import os
import platform
import signal
import sys
import threading
import time
import weakref

import numpy as np

SPIN_SECONDS = 0.002        # spin this long before sleeping between checks
MAX_SLEEP_SECONDS = 0.005   # the longest sleep between two checks ...
IDLE_SECONDS = 0.25         # ... until a wait has lasted this long (the
IDLE_SLEEP_SECONDS = 0.05   # parent validates, plots, pauses): then this long
WAIT_SECONDS = 60.0         # the longest wait for the other process, or a fork
PR_SET_PDEATHSIG = 1        # prctl's option number, from <linux/prctl.h>
POSTED, ARRIVED, MAIN_ARRIVED, DONE, STOP, FAILED, SIZE = range(7)


def available():
    """True where a worker process can be forked and synchronised by spinning."""
    return (hasattr(os, "fork") and sys.platform.startswith("linux")
            and platform.machine().lower() in ("x86_64", "amd64"))


def shared_empty(shape, dtype):
    """An uninitialised array in pages that a forked child shares with its parent.

    shape: an int or a tuple; the pages are anonymous and MAP_SHARED, so they exist as long as
    the array (or a view of it) does, in every process that holds it.
    """
    count = int(np.prod(shape))
    size = count * np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, max(size, 1)), dtype=dtype, count=count).reshape(shape)


def is_shared(array):
    """True when ``array`` lives in pages allocated by :func:`shared_empty`."""
    while isinstance(array, np.ndarray):
        array = array.base
    return isinstance(array, memoryview) and isinstance(array.obj, mmap.mmap)


class ForkGate:
    """Forks that wait until no thread of this process is inside a step.

    A step runs inside :meth:`computing`; :meth:`fork` waits (at most
    WAIT_SECONDS) until no step is inside, keeps new steps out while it forks,
    then lets them in. One lock and a counter: 2-3 µs per step (0.2% of the
    race's 1.2 ms steps).
    """

    def __init__(self):
        self.condition = threading.Condition(threading.Lock())
        self.inside = 0         # steps running now, in any thread
        self.forking = False

    @contextlib.contextmanager
    def computing(self):
        """Run the body as a step: no fork happens while it runs."""
        with self.condition:
            while self.forking:
                self.condition.wait()
            self.inside += 1
        try:
            yield
        finally:
            with self.condition:
                self.inside -= 1
                self.condition.notify_all()

    def fork(self):
        """os.fork() once no step runs; RuntimeError after WAIT_SECONDS."""
        with self.condition:
            while self.forking:  # another thread's fork first
                self.condition.wait()
            self.forking = True
            try:
                if not self.condition.wait_for(lambda: self.inside == 0,
                                               WAIT_SECONDS):
                    raise RuntimeError(
                        f"nnlib could not start its worker process: another "
                        f"training step of this process ran for more than "
                        f"{WAIT_SECONDS:g} s (nnlib.fast.worker.WAIT_SECONDS)")
                return os.fork()
            finally:  # (in the child too: harmless, it has no other thread)
                self.forking = False
                self.condition.notify_all()


FORK_GATE = ForkGate()


def _die_with_parent(parent, libc):
    """In a forked child: be SIGKILLed when the forking thread ends.

    Leaves at once if the parent died before the request.
    """
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _libc():
    """The C library (for prctl), loaded once."""
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


_LIBC = None


class WorkerProcess:
    """A forked copy of this process that runs side k = 1 of each step (see the module's text).

    first(k, columns, settings) -> tuple of floats, and second(k, settings): the two phases of
    a step for side k; the worker keeps the objects they refer to as they were at the fork.
    capacity: the most columns a step takes; settings: a tuple of ``n_settings`` floats.
    The worker is killed when the thread that created it ends: create it in
    the thread that will run its steps.
    """

    def __init__(self, first, second, capacity, n_settings, n_results):
        self.control = shared_empty(7, np.int64)
        self.control[:] = 0
        self.columns = shared_empty(max(capacity, 1), np.int64)
        self.settings = shared_empty(n_settings, np.float64)
        self.results = shared_empty(n_results, np.float64)
        self.message = shared_empty(2000, np.uint8)
        self.count = 0
        self.parent = os.getpid()
        libc = _libc()  # loaded before the fork: the child only calls it
        self.pid = FORK_GATE.fork()
        if self.pid == 0:
            _die_with_parent(self.parent, libc)
            self._serve(first, second)  # never returns
        # stop the worker even if close() is never called (at the latest when Python exits)
        self._stop = weakref.finalize(self, _stop, self.control, self.pid)

    def step(self, columns, settings, first, second):
        """Run one step on both sides; returns ``(first(0, ...), the worker's first(1, ...))``."""
        control, self.count = self.control, self.count + 1
        self.columns[:len(columns)] = columns
        self.settings[:] = settings
        control[SIZE] = len(columns)
        control[POSTED] = self.count
        mine = first(0, columns, settings)
        control[MAIN_ARRIVED] = self.count
        self._wait(ARRIVED)
        theirs = tuple(self.results.tolist())
        second(0, settings)
        self._wait(DONE)
        return mine, theirs

    def close(self):
        """Ask the worker to stop and reap it (killed if it does not stop within 5 s)."""
        self._stop()

    def _wait(self, index):
        """Until the worker's flag ``index`` reaches this step.

        Raises RuntimeError if the worker failed, died, or did not get there
        within WAIT_SECONDS (it is then killed).
        """
        control, count = self.control, self.count
        if control[index] >= count:
            return
        deadline = time.monotonic() + WAIT_SECONDS
        for slept in _spin_then_sleep():
            if control[index] >= count:
                return
            if control[FAILED]:
                text = bytes(self.message).rstrip(b"\0").decode(errors="replace")
                raise RuntimeError(f"nnlib's worker process failed: {text}")
            if slept and _exited(self.pid, block=False):  # killed, say by the OOM killer
                self._stop.detach()
                raise RuntimeError(
                    f"nnlib's worker process stopped unexpectedly "
                    f"(pid {self.pid}, step {count})")
            if slept and time.monotonic() > deadline:
                self._stop.detach()
                _kill(self.pid)
                raise RuntimeError(
                    f"nnlib's worker process (pid {self.pid}) did not finish "
                    f"its half of step {count} within {WAIT_SECONDS:g} s "
                    f"(nnlib.fast.worker.WAIT_SECONDS): stuck, it was killed")

    def _serve(self, first, second):
        """The worker's loop: wait for a step, run side 1's phases, repeat until STOP."""
        # Ctrl-C reaches the whole process group: the main process handles it and stops us.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        gc.disable()  # no collector: it could finalise objects (sockets...) the parent owns
        status = 0
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                while self._wait_in_worker(POSTED):
                    columns = self.columns[:self.control[SIZE]]
                    settings = tuple(self.settings.tolist())  # Python floats, as in the main process
                    self.results[:] = first(1, columns, settings)
                    self.control[ARRIVED] = self.count
                    if not self._wait_in_worker(MAIN_ARRIVED, same_step=True):
                        break
                    second(1, settings)
                    self.control[DONE] = self.count
        except BaseException as error:  # report anything, then leave without cleaning up
            text = f"{type(error).__name__}: {error}".encode()[:len(self.message) - 1]
            self.message[:len(text)] = np.frombuffer(text, np.uint8)
            self.control[FAILED] = 1
            status = 1
        finally:
            os._exit(status)  # no atexit handlers, no flushing of the parent's buffers

    def _wait_in_worker(self, index, same_step=False):
        """Until the main process's flag reaches the next step (or this one).

        False on STOP or when orphaned. Within a step, raises RuntimeError
        after WAIT_SECONDS; between steps the parent may take its time.
        """
        control = self.control
        if not same_step:
            self.count += 1
        deadline = (time.monotonic() + WAIT_SECONDS if same_step
                    else float("inf"))
        for slept in _spin_then_sleep():
            if control[index] >= self.count:
                return True
            if control[STOP] or (slept and os.getppid() != self.parent):
                return False
            if slept and time.monotonic() > deadline:
                raise RuntimeError(
                    f"the main process did not finish its half of step "
                    f"{self.count} within {WAIT_SECONDS:g} s")


def _spin_then_sleep():
    """Yield False while spinning for SPIN_SECONDS, then True after each sleep, forever.

    The sleeps double from 50 µs up to MAX_SLEEP_SECONDS, then are
    IDLE_SLEEP_SECONDS once the wait has lasted IDLE_SECONDS: a wait of a few
    µs costs no system call, one between epochs answers within 5 ms, and a
    long pause costs 40 wake-ups per 2 s (``tests/test_worker.py``: under
    10 ms of CPU; with 5 ms sleeps throughout it was 400 wake-ups).
    """
    start = time.perf_counter()
    while time.perf_counter() < start + SPIN_SECONDS:
        for _ in range(100):
            yield False
    pause = 5e-5
    while True:
        time.sleep(pause)
        if time.perf_counter() - start > IDLE_SECONDS:
            pause = IDLE_SLEEP_SECONDS
        else:
            pause = min(2 * pause, MAX_SLEEP_SECONDS)
        yield True


def _exited(pid, block):
    """True once process ``pid`` (our child) has exited, reaping it."""
    try:
        return os.waitpid(pid, 0 if block else os.WNOHANG)[0] != 0
    except ChildProcessError:  # reaped already
        return True


def _stop(control, pid):
    """Tell the worker to stop, and reap it; kill it if it has not stopped after 5 s."""
    control[STOP] = 1
    deadline = time.monotonic() + 5
    pause = 5e-5
    while not _exited(pid, block=False):
        if time.monotonic() > deadline:
            _kill(pid)
            return
        time.sleep(pause)
        pause = min(2 * pause, MAX_SLEEP_SECONDS)


def _kill(pid):
    """SIGKILL our child ``pid`` and reap it."""
    os.kill(pid, signal.SIGKILL)
    _exited(pid, block=True)
