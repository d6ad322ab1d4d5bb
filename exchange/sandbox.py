"""The reading processes, forked from a warm parent instead of started cold.

Starting Python and importing GDAL (pyogrio), pandas and openpyxl costs about 0.6 s of CPU, and
every user file was paying it. A *zygote* does that once: a process started like the cold
reader was (isolated interpreter, GDAL's variables and the skipped drivers set before GDAL
loads, no inherited ``GDAL_``/``PYTHON`` variables, working directory ``/``) that imports those
libraries and then only forks. Each file is still read by a fresh child of its own, which
leaves the network, limits its memory, CPU time and writes, reads, answers and exits, exactly
as ``python -m exchange.reader`` does; the zygote never opens a user's file itself.

The server talks to the zygote over a Unix socket: it passes the child's three pipe ends
(``SCM_RIGHTS``) with a request number; the zygote forks and reports the child's exit status
when it ends. On a timeout the server asks the zygote to kill the child, which it does through
a pidfd, so the kill can never hit a reused pid. If the zygote is gone, the next read starts a new one; if it cannot be started
here (no ``pidfd_open``), every read starts a cold process as before.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from exchange.reader import {entry}; sys.exit({entry}({args}))"


@dataclass
class Finished:
    """How one reading process ended."""

    returncode: int | None  # negative: the signal that ended it; None: its fate is unknown
    out: bytes
    err: bytes


class ReaderTimeout(Exception):
    """The reading process ran past the wall-clock limit and was killed."""


class _Gone(Exception):
    """The zygote could not be reached to start a child."""


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment without what could change how GDAL or Python behave."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDAL_", "CPL_", "OGR_", "PYTHON"))}
    return {**env, **(extra or {})}


def run(request: bytes, timeout: float, gdal_env: dict[str, str]) -> Finished:
    """Run one reading process on ``request``; ``ReaderTimeout`` if it overran ``timeout``."""
    for _ in range(2):  # a zygote that died since the last read is replaced once
        zygote = _zygote(gdal_env)
        if zygote is None:
            break
        try:
            done = zygote.run(request, timeout)
        except _Gone:
            continue
        _healthy()
        return done
    return _run_cold(request, timeout)


# --- the cold way: a new interpreter per file -----------------------------------------------


def _run_cold(request: bytes, timeout: float) -> Finished:
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", _BOOT.format(entry="main", args=""), str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_environment(),
        cwd="/",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(request, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise ReaderTimeout from None
    finally:
        if proc.poll() is None:  # pragma: no cover - interrupted
            _kill(proc)
    return Finished(proc.returncode, out, err)


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# --- the warm way: children of a zygote ------------------------------------------------------


@dataclass
class _Pending:
    ended: threading.Event = field(default_factory=threading.Event)
    status: int | None = None


#: A zygote forks at most this many children, and none after a child crashed, before a new
#: one takes over: every child shares its parent's address-space layout, stack canary and hash
#: secret, so one crash must not become a repeatable probe of them.
FORKS_PER_ZYGOTE = 256
#: Signals that end a child without saying anything about its memory (our kill, its CPU limit).
EXPECTED_SIGNALS = {signal.SIGKILL, signal.SIGXCPU}


class Zygote:
    """The server's handle on one zygote process (thread-safe)."""

    def __init__(self, gdal_env: dict[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = child_environment({**gdal_env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        boot = _BOOT.format(entry="serve", args="int(sys.argv[2])")
        with theirs:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", boot, str(ROOT), str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # GDAL's notes on skipped drivers; each child has its own
                env=env,
                cwd="/",
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        self.sock = ours
        self._send = threading.Lock()
        self._numbers = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._gone = threading.Event()
        #: set once the zygote should take no new reads (it ends when its last one is done)
        self.retired = False
        threading.Thread(target=self._listen, name="amayesh-zygote", daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self._gone.is_set()

    def _listen(self) -> None:
        """Hand each exit status the zygote reports to the read waiting for it."""
        try:
            while data := self.sock.recv(4096):
                msg = json.loads(data)
                pending = self._pending.get(msg["id"])
                if pending is not None:
                    pending.status = msg["ended"]
                    pending.ended.set()
        except (OSError, ValueError, KeyError):
            pass
        finally:
            self._gone.set()
            for pending in list(self._pending.values()):
                pending.ended.set()
            with contextlib.suppress(OSError):
                self.sock.close()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)

    def _message(self, msg: dict, fds: list[int] | None = None) -> None:
        data = json.dumps(msg).encode()
        with self._send:
            if fds:
                socket.send_fds(self.sock, [data], fds)
            else:
                self.sock.send(data)

    def run(self, request: bytes, timeout: float) -> Finished:
        number = next(self._numbers)
        if number >= FORKS_PER_ZYGOTE:
            self.retired = True
        pending = self._pending[number] = _Pending()
        deadline = time.monotonic() + timeout
        ours: list[int] = []  # the server's pipe ends, closed whatever happens
        theirs: list[int] = []  # the child's ends, closed once passed
        started = False
        try:
            for _ in range(3):
                r, w = os.pipe()
                ours.append(r if len(ours) else w)  # stdin: we write; stdout, stderr: we read
                theirs.append(w if len(theirs) else r)
            stdin_w, stdout_r, stderr_r = ours
            try:
                self._message({"run": number}, theirs)
            except OSError:
                self._gone.set()
                raise _Gone from None
            finally:
                for fd in theirs:
                    os.close(fd)
                theirs.clear()
            started = True
            ours.clear()  # _exchange closes them
            out, err, overran = _exchange(stdin_w, stdout_r, stderr_r, request, deadline)
            # Both pipes are closed: the child has exited, or is about to.
            if overran or not pending.ended.wait(max(0.0, deadline - time.monotonic()) + 2.0):
                raise ReaderTimeout
            status = pending.status
            if status is not None and status < 0 and signal.Signals(-status) not in EXPECTED_SIGNALS:
                self.retired = True  # a crash: the next reads get a fresh layout
            return Finished(pending.status, out, err)
        finally:
            for fd in ours + theirs:
                os.close(fd)
            if started and not pending.ended.is_set():
                with contextlib.suppress(OSError):
                    self._message({"kill": number})
                pending.ended.wait(10)
            self._pending.pop(number, None)
            if self.retired and not self._pending:
                self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


def _exchange(stdin_w: int, stdout_r: int, stderr_r: int, request: bytes, deadline: float):
    """Write the request, read both answers to their end or until ``deadline``; closes all three."""
    chunks: dict[int, list[bytes]] = {stdout_r: [], stderr_r: []}
    open_fds = {stdin_w, stdout_r, stderr_r}
    to_send = memoryview(request)
    overran = False
    try:
        with selectors.DefaultSelector() as sel:
            os.set_blocking(stdin_w, False)
            sel.register(stdout_r, selectors.EVENT_READ)
            sel.register(stderr_r, selectors.EVENT_READ)
            sel.register(stdin_w, selectors.EVENT_WRITE)
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    overran = True
                    break
                for key, _ in sel.select(left):
                    fd = key.fd
                    if fd == stdin_w:
                        try:
                            sent = os.write(fd, to_send[:65536])
                        except BrokenPipeError:
                            sent = len(to_send)
                        to_send = to_send[sent:]
                        if not to_send:
                            sel.unregister(fd)
                            os.close(fd)
                            open_fds.discard(fd)
                        continue
                    data = os.read(fd, 65536)
                    if data:
                        chunks[fd].append(data)
                    else:
                        sel.unregister(fd)
    finally:
        for fd in open_fds:
            os.close(fd)
    return b"".join(chunks[stdout_r]), b"".join(chunks[stderr_r]), overran


_lock = threading.Lock()
_zygotes: dict[str, Zygote] = {}
#: Zygotes that died (not retired); after a few the system is taken not to allow them.
_deaths = 0
MAX_DEATHS = 3


def _can_fork_warm() -> bool:
    """Whether this system lets the zygote work: pidfds (Linux 5.3, and allowed by any seccomp
    profile) and descriptor passing."""
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


#: Read every file in a cold process (where the system cannot run the zygote).
COLD = not _can_fork_warm()


def _zygote(gdal_env: dict[str, str]) -> Zygote | None:
    """The zygote for this GDAL configuration (started on first use, replaced when it died or
    retired); None where reads must be cold."""
    global COLD, _deaths
    if COLD:
        return None
    key = json.dumps(gdal_env, sort_keys=True)
    with _lock:
        zygote = _zygotes.get(key)
        if zygote is not None and not zygote.alive and not zygote.retired:
            _deaths += 1
            if _deaths >= MAX_DEATHS:
                COLD = True
                return None
        if zygote is None or not zygote.alive or zygote.retired:
            zygote = _zygotes[key] = Zygote(gdal_env)
        return zygote


def shutdown() -> None:
    """Stop every zygote this process started (they also stop when this process ends)."""
    with _lock:
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()


def _healthy() -> None:
    """A read went through a zygote: earlier deaths say nothing about this system."""
    global _deaths
    _deaths = 0


def _forget_after_fork() -> None:
    """A process forked from the server starts its own zygote instead of sharing the parent's."""
    global _lock
    _lock = threading.Lock()
    _zygotes.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
