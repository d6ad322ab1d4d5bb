"""Long sitings as jobs: started at once, polled, answered as the request would have been; each
job its owner's; the queue bounded."""

from __future__ import annotations

import threading
import time

import pytest

from geo.errors import AnalysisInputError, PlanJobNotFound, TooManyPlanJobs
from services.planjobs import PlanJobs
from tests.conftest import bearer, make_users

BODY = {"service_type": "rehabilitation", "k": 1}


def _wait(client, url: str, headers=None, seconds: float = 60.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job did not end in {seconds} s: {job}")


def test_a_siting_job_answers_what_the_request_answers(small_client):
    started = small_client.post("/plans/siting/jobs", json={**BODY, "time_limit": 30})
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == f"/plans/siting/jobs/{job['id']}"
    assert job["state"] in ("queued", "running") and job["time_limit"] == 30
    done = _wait(small_client, started.headers["location"])
    assert done["state"] == "done" and done["progress"] == 1.0 and done["error"] is None
    direct = small_client.post("/plans/siting", json=BODY).json()
    got = done["result"]
    assert got["sites"] == direct["sites"]
    assert {k: v for k, v in got["summary"].items() if k != "seconds"} == {
        k: v for k, v in direct["summary"].items() if k != "seconds"
    }
    listed = small_client.get("/plans/siting/jobs").json()["jobs"]
    assert job["id"] in [j["id"] for j in listed]


def test_a_job_may_take_minutes_but_not_more_than_ten(small_client):
    assert small_client.post("/plans/siting", json={**BODY, "time_limit": 60}).status_code == 422
    too_long = small_client.post("/plans/siting/jobs", json={**BODY, "time_limit": 601})
    assert too_long.status_code == 422 and too_long.headers["content-type"] == "application/problem+json"


def test_a_failed_job_reports_the_problem_not_a_trace(small_client):
    started = small_client.post("/plans/siting/jobs", json={**BODY, "province": "99"})
    done = _wait(small_client, started.headers["location"])
    assert done["state"] == "failed" and done["result"] is None
    direct = small_client.post("/plans/siting", json={**BODY, "province": "99"})
    assert done["error"]["status"] == direct.status_code >= 400
    assert "Traceback" not in str(done["error"])


def test_a_job_is_its_owners_and_only_planners_start_one(small_client, small_store):
    started = small_client.post("/plans/siting/jobs", json=BODY).json()
    tokens = make_users(str(small_store.path))
    planner, officer = bearer(tokens["planner"]), bearer(tokens["licensing_officer"])
    other = small_client.get(f"/plans/siting/jobs/{started['id']}", headers=planner)
    assert other.status_code == 404  # another person's job is not theirs to see, nor to know of
    assert started["id"] not in [
        j["id"] for j in small_client.get("/plans/siting/jobs", headers=planner).json()["jobs"]
    ]
    assert small_client.post("/plans/siting/jobs", json=BODY, headers=officer).status_code == 403
    anonymous = small_client.post("/plans/siting/jobs", json=BODY, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert small_client.get("/plans/siting/jobs/j-0000000000000000").status_code == 404
    assert small_client.get("/plans/siting/jobs/not-an-id").status_code == 400


def test_the_queue_is_bounded_per_person_and_for_the_service():
    jobs = PlanJobs(max_open_per_user=2, max_queued=3)
    gate = threading.Event()
    try:

        def slow() -> dict:
            gate.wait(10)
            return {"ok": True}

        a = jobs.submit("ali", "siting", {}, 5, slow, lambda e: {})
        jobs.submit("ali", "siting", {}, 5, slow, lambda e: {})
        with pytest.raises(TooManyPlanJobs, match="you have 2"):
            jobs.submit("ali", "siting", {}, 5, slow, lambda e: {})
        jobs.submit("sara", "siting", {}, 5, slow, lambda e: {})
        with pytest.raises(TooManyPlanJobs, match="the service is solving 3"):
            jobs.submit("reza", "siting", {}, 5, slow, lambda e: {})
        with pytest.raises(AnalysisInputError):
            jobs.submit("reza", "siting", {}, 601, slow, lambda e: {})
        with pytest.raises(PlanJobNotFound):
            jobs.get("sara", a.id)
        # The first runs, the others wait their turn: one solve at a time.
        deadline = time.monotonic() + 5
        while a.state != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert a.state == "running" and 0 <= a.summary()["progress"] < 1
        assert sorted(j.state for j in jobs.jobs.values()) == ["queued", "queued", "running"]
        gate.set()
        deadline = time.monotonic() + 5
        while any(j.state != "done" for j in jobs.jobs.values()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(j.summary()["result"] == {"ok": True} for j in jobs.jobs.values())
    finally:
        gate.set()
        jobs.close()


def test_a_finished_job_is_forgotten_after_its_time_to_live():
    now = [1000.0]
    jobs = PlanJobs(ttl_seconds=60, clock=lambda: now[0])
    try:
        job = jobs.submit("ali", "siting", {}, 5, lambda: {"ok": 1}, lambda e: {})
        deadline = time.monotonic() + 5
        while job.state != "done" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert jobs.get("ali", job.id).state == "done"
        now[0] += 61
        with pytest.raises(PlanJobNotFound):
            jobs.get("ali", job.id)
    finally:
        jobs.close()


def test_a_person_keeps_their_last_finished_jobs_only():
    """Jobs that fail at once, submitted back to back, do not pile up: a person keeps their
    last ``max_finished_per_user`` finished jobs (another person's are untouched)."""
    jobs = PlanJobs(max_finished_per_user=3)
    try:

        def fails() -> dict:
            raise ValueError("unknown candidates")

        def ended(job) -> None:
            deadline = time.monotonic() + 5
            while job.finished is None and time.monotonic() < deadline:
                time.sleep(0.005)

        sara = jobs.submit("sara", "siting", {}, 5, fails, lambda e: {"detail": str(e)})
        ended(sara)
        made = []
        for _ in range(10):
            made.append(jobs.submit("ali", "siting", {"candidates": ["x"] * 1000}, 5, fails, lambda e: {}))
            ended(made[-1])
        kept = jobs.of("ali")
        assert [j.id for j in kept] == [j.id for j in reversed(made[-3:])]
        assert all(j.state == "failed" for j in kept)
        assert jobs.get("sara", sara.id).state == "failed"
    finally:
        jobs.close()
