"""One worker process for long, compiled work, with its progress reported back.

UMAP's numba code compiles for about a minute in a fresh process and holds the
interpreter in bursts while it does; run in the app's own process, that compilation
slowed every page of the server meanwhile (the first chart 9.9 s instead of 7.9 s, a
1.5 M-row load 11.5 s instead of 8.0 s). A :class:`Worker` runs such calls in a Python
process of its own, one call at a time: the compiled code stays warm there for the
calls that follow.

The process is a plain ``python -c`` child talking over one socket pair, not a
``multiprocessing`` one: ``spawn`` would import the parent's main module in the child,
and under Streamlit that is the page script itself (a second app run in the worker).

``worker.call(function, *args, progress=callback, **kwargs)`` blocks the calling thread
until the result is back; the function must be importable by name (a module-level
function), and ``progress(fraction, message)`` is called in the calling thread, so a
Streamlit page can move its bar from it.
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from core.common.errors import PersonaLensError
from core.common.progress import Progress

#: Seconds between two checks that the worker is still alive while a call waits.
POLL_SECONDS = 0.25
#: The folder holding the ``core`` package, put on the worker's import path.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class WorkerError(PersonaLensError):
    """The worker process ended during a call (killed, or out of memory)."""


def serve(fd: int) -> None:
    """The worker's loop on the socket ``fd``: run each ``(job, function, args, kwargs)``
    and send back its progress, then its result or its exception; end when the parent
    closes its side."""
    connection = Connection(fd)
    while True:
        try:
            job_id, function, args, kwargs = connection.recv()
        except (EOFError, OSError):
            return

        def report(fraction: float, message: str, job_id: int = job_id) -> None:
            connection.send((job_id, "progress", (fraction, message)))

        try:
            result = function(*args, progress=report, **kwargs)
        except BaseException as exc:  # every failure goes back to the caller
            connection.send((job_id, "error", _described(exc)))
        else:
            connection.send((job_id, "done", result))


def _described(exc: BaseException) -> tuple[str, str, str]:
    """An exception as plain text (its class's module and name, and its message), so
    that nothing but strings crosses back for it."""
    return type(exc).__module__, type(exc).__qualname__, str(exc)


def _rebuilt(module: str, name: str, message: str) -> BaseException:
    """The caller's side of :func:`_described`: Persona Lens' own errors and Python's
    built-in ones come back as themselves (with the message), any other as a
    RuntimeError naming it. Only those modules are ever looked up."""
    import builtins
    import importlib

    if module == "builtins" or module.startswith("core."):
        owner = builtins if module == "builtins" else importlib.import_module(module)
        cls = getattr(owner, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(message)
            except TypeError:  # a constructor that needs more than a message
                pass
    return RuntimeError(f"{name}: {message}")


class Worker:
    """A worker process started on the first call (or :meth:`start`), restarted after it
    died; calls from several threads queue up and each gets its own progress.

    Parameters
    ----------
    name : str
        Names the thread that reads the worker's messages (seen in a debugger).
    nice : int
        Added to the worker's niceness: with a positive value, its work only takes CPU
        time the server and the browser leave free.
    """

    def __init__(self, name: str = "persona-lens-worker", nice: int = 0) -> None:
        self._name = name
        self._nice = nice
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._ids = itertools.count()
        self._inboxes: dict[int, queue.Queue] = {}
        self._process: subprocess.Popen | None = None
        self._connection: Connection | None = None
        atexit.register(self.stop)

    @property
    def alive(self) -> bool:
        """Whether the worker process is running."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._process.pid if self.alive else None

    def start(self) -> None:
        """Start the process unless it runs (its imports happen there, not here)."""
        with self._lock:
            if self.alive:
                return
            ours, theirs = Pipe(duplex=True)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
            code = (f"import os; os.nice({int(self._nice)}); "
                    f"from core.common.worker import serve; serve({theirs.fileno()})")
            self._process = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[theirs.fileno()], env=env,
                cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL)
            theirs.close()
            self._connection = ours
            threading.Thread(target=self._route, args=(ours, self._process),
                             name=f"{self._name}-events", daemon=True).start()

    def call(self, function: Callable[..., Any], *args: Any, progress: Progress | None = None,
             **kwargs: Any) -> Any:
        """Run ``function(*args, progress=..., **kwargs)`` in the worker; return its result
        or raise its exception here.

        Raises
        ------
        WorkerError
            When the worker process ends before answering (the next call starts a new
            one).
        """
        self.start()
        inbox: queue.Queue = queue.Queue()
        with self._lock:
            job_id = next(self._ids)
            self._inboxes[job_id] = inbox
            process, connection = self._process, self._connection
        try:
            try:
                with self._send_lock:
                    connection.send((job_id, function, args, kwargs))
            except OSError:
                raise self._stopped(process) from None
            return self._wait(inbox, process, progress)
        finally:
            with self._lock:
                self._inboxes.pop(job_id, None)

    def _wait(self, inbox: queue.Queue, process: subprocess.Popen,
              progress: Progress | None) -> Any:
        while True:
            try:
                kind, payload = inbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if process.poll() is not None and inbox.empty():
                    raise self._stopped(process) from None
                continue
            if kind == "progress":
                if progress:
                    progress(*payload)
            elif kind == "error":
                raise _rebuilt(*payload)
            else:
                return payload

    @staticmethod
    def _stopped(process: subprocess.Popen) -> WorkerError:
        return WorkerError(
            f"The background worker stopped (exit code {process.poll()}) before it "
            "finished; this often means the machine ran out of memory. Try again, or "
            "with fewer users.")

    def _route(self, connection: Connection, process: subprocess.Popen) -> None:
        """Hand each message of the worker to the call waiting for it."""
        while True:
            try:
                job_id, kind, payload = connection.recv()
            except (EOFError, OSError):
                return
            with self._lock:
                inbox = self._inboxes.get(job_id)
            if inbox is not None:
                inbox.put((kind, payload))

    def stop(self) -> None:
        """End the worker process (a call waiting on it raises :class:`WorkerError`)."""
        with self._lock:
            process, connection = self._process, self._connection
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if connection is not None:
            connection.close()
