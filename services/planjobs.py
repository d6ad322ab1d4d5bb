"""Long planning solves as jobs: a siting given minutes instead of the five seconds a request has.

A planner asks for a siting with a long time limit; the service answers at once with a job
(``202 Accepted`` and its address) and solves it beside the requests, one job at a time on a
worker thread, so that the exact solver can prove what the command line proves. The planner
polls the job: its state (``queued``, ``running``, ``done``, ``failed``), how long it has run of
its time limit, and, when done, the answer a ``POST /plans/siting`` would have given.

Jobs live in the service's memory: each is its owner's alone, a person has at most a few open,
the queue is bounded, and a finished job is forgotten an hour after it ended. A job a restart
interrupts is gone; it is asked for again.
"""

from __future__ import annotations

import datetime as dt
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from geo.errors import AnalysisInputError, PlanJobNotFound, TooManyPlanJobs

#: The longest a job's solver may run (seconds).
MAX_TIME_LIMIT = 600.0


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


@dataclass
class PlanJob:
    id: str
    owner: str
    kind: str
    request: dict
    time_limit: float
    created: float
    state: str = "queued"  # queued, running, done, failed
    started: float | None = None
    finished: float | None = None
    result: dict | None = None
    error: dict | None = None
    _clock: Callable[[], float] = field(default=time.time, repr=False)

    def summary(self) -> dict[str, Any]:
        """What the owner is told about the job; the result only when it is done."""
        now = self._clock()
        running = (self.finished or now) - self.started if self.started is not None else 0.0
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "request": self.request,
            "time_limit": self.time_limit,
            "created_at": _iso(self.created),
            "started_at": _iso(self.started),
            "finished_at": _iso(self.finished),
            "seconds": round(running, 3),
            # The share of its time limit the solver has used: an upper bound on how far it has
            # come (it stops earlier when it proves the optimum), 1 when it has ended.
            "progress": 1.0 if self.finished is not None else round(min(running / self.time_limit, 0.99), 3),
            "result": self.result if self.state == "done" else None,
            "error": self.error if self.state == "failed" else None,
        }


class PlanJobs:
    """The planning jobs of one service process.

    Parameters
    ----------
    max_open_per_user
        Queued or running jobs one person may have at a time.
    max_queued
        Queued or running jobs the service holds at a time (all persons).
    ttl_seconds
        A finished job is forgotten this long after it ended.
    max_finished_per_user
        Finished jobs kept for one person: past it their oldest is forgotten when they submit
        another (each holds its request and answer: a planner submitting jobs that fail at once
        grew the process by gigabytes within the hour before).
    """

    def __init__(
        self,
        *,
        max_open_per_user: int = 2,
        max_queued: int = 6,
        ttl_seconds: float = 3600.0,
        max_finished_per_user: int = 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_open = max_open_per_user
        self.max_finished = max_finished_per_user
        self.max_queued = max_queued
        self.ttl = ttl_seconds
        self.clock = clock
        self.jobs: dict[str, PlanJob] = {}
        self._lock = threading.Lock()
        # One solve at a time, on a daemon thread: a solve still running never holds the
        # process at exit (its job is lost with the process, as every job is).
        self._queue: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="amayesh-plan", daemon=True)
        self._worker.start()

    def submit(
        self,
        owner: str,
        kind: str,
        request: dict,
        time_limit: float,
        solve: Callable[[], dict],
        problem: Callable[[Exception], dict],
    ) -> PlanJob:
        """Queue ``solve`` (which returns the answer) as a job of ``owner``; ``problem`` turns an
        exception the solve raised into the problem document the job reports."""
        if not 0 < time_limit <= MAX_TIME_LIMIT:
            raise AnalysisInputError(f"a job's time_limit is between 1 and {MAX_TIME_LIMIT:g} seconds")
        self.sweep()
        with self._lock:
            open_jobs = [j for j in self.jobs.values() if j.state in ("queued", "running")]
            mine = [j for j in open_jobs if j.owner == owner]
            if len(mine) >= self.max_open:
                raise TooManyPlanJobs(
                    f"you have {len(mine)} planning jobs queued or running (at most {self.max_open}); "
                    "wait for one to end"
                )
            if len(open_jobs) >= self.max_queued:
                raise TooManyPlanJobs(
                    f"the service is solving {len(open_jobs)} planning jobs; try again in a few minutes"
                )
            finished = sorted(
                (j for j in self.jobs.values() if j.owner == owner and j.finished is not None),
                key=lambda j: j.finished or 0.0,
            )
            for old in finished[: max(0, len(finished) - self.max_finished + 1)]:
                del self.jobs[old.id]
            job = PlanJob(
                id="j-" + secrets.token_hex(8),
                owner=owner,
                kind=kind,
                request=request,
                time_limit=float(time_limit),
                created=self.clock(),
                _clock=self.clock,
            )
            self.jobs[job.id] = job
        self._queue.put((job, solve, problem))
        return job

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._run(*item)

    def _run(self, job: PlanJob, solve: Callable[[], dict], problem: Callable[[Exception], dict]) -> None:
        job.started = self.clock()
        job.state = "running"
        try:
            result = solve()
        except Exception as exc:  # reported to the job's owner as a problem, never raised here
            job.error = problem(exc)
            job.finished = self.clock()
            job.state = "failed"
        else:
            job.result = result
            job.finished = self.clock()
            job.state = "done"

    def get(self, owner: str, job_id: str) -> PlanJob:
        self.sweep()
        job = self.jobs.get(job_id)
        if job is None or job.owner != owner:
            raise PlanJobNotFound(f"no planning job {job_id} of yours (finished jobs are kept an hour)")
        return job

    def of(self, owner: str) -> list[PlanJob]:
        """The owner's jobs, newest first."""
        self.sweep()
        return sorted((j for j in self.jobs.values() if j.owner == owner), key=lambda j: -j.created)

    def sweep(self) -> None:
        """Forget finished jobs older than the time to live."""
        now = self.clock()
        with self._lock:
            for job_id in [
                j.id for j in self.jobs.values() if j.finished is not None and now - j.finished > self.ttl
            ]:
                del self.jobs[job_id]

    def close(self) -> None:
        """Stop taking jobs: the queued ones are dropped, a running one ends with the process."""
        while not self._queue.empty():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
