"""The service under hostile load: admission of heavy work, body size, headers, bounded caches,
and /health answering while an export, an import and 20 heavy requests run."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.guard import API_CSP, BodyLimit, HeavyLimit, SecurityHeaders, is_heavy, page_response
from services.caches import ByteLRU


async def slow_app(scope, receive, send):
    """A stand-in for a heavy handler: reads the body, waits until released, answers 200."""
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    await scope["release"].wait()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"done"})


def run_async(coro):
    """``asyncio.run`` in a thread of its own: the session's Playwright browser keeps an event
    loop running in the main thread, where ``asyncio.run`` refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def call(app, path: str, client: str = "10.0.0.1", body: bytes = b"", release=None, headers=()):
    """Run one request through an ASGI app; the status, headers and body it answers."""
    out: dict = {"headers": {}}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            out["body"] = out.get("body", b"") + message.get("body", b"")

    scope = {
        "type": "http",
        "path": path,
        "query_string": b"",
        "client": (client, 1234),
        "headers": list(headers),
        "release": release,
    }
    return app(scope, receive, send), out


def test_heavy_requests_are_admitted_up_to_the_queue_then_503_or_429_with_retry_after():
    async def scenario():
        release = asyncio.Event()
        guard = HeavyLimit(slow_app, workers=1, queue=2, per_client=2, retry_after=7)
        # Two from one client are admitted (one runs, one waits); its third is 429.
        a, out_a = call(guard, "/priorities", "10.0.0.1", release=release)
        b, out_b = call(guard, "/priorities", "10.0.0.1", release=release)
        running = [asyncio.create_task(a), asyncio.create_task(b)]
        await asyncio.sleep(0.05)
        c, out_c = call(guard, "/saturation", "10.0.0.1", release=release)
        await c
        assert out_c["status"] == 429 and out_c["headers"]["retry-after"] == "7"
        assert out_c["headers"]["content-type"] == "application/problem+json"
        # Another client fills the queue; the next one is told the service is busy.
        d, out_d = call(guard, "/settlements/0001000001", "10.0.0.2", release=release)
        running.append(asyncio.create_task(d))
        await asyncio.sleep(0.05)
        e, out_e = call(guard, "/maps/national", "10.0.0.3", release=release)
        await e
        assert out_e["status"] == 503 and out_e["headers"]["retry-after"] == "7"
        assert "busy" in json.loads(out_e["body"])["detail"]
        # Light requests pass whatever the heavy ones do.
        f, out_f = call(guard, "/health", "10.0.0.3", release=release)
        release.set()
        await f
        await asyncio.gather(*running)
        assert [o["status"] for o in (out_a, out_b, out_d, out_f)] == [200, 200, 200, 200]
        assert guard.admitted == 0 and not guard.clients

    run_async(scenario())


def test_what_counts_as_heavy():
    def scope(path, query=b""):
        return {"path": path, "query_string": query}

    assert is_heavy(scope("/priorities")) and is_heavy(scope("/maps/licence"))
    assert is_heavy(scope("/plans/siting")) and is_heavy(scope("/scenarios/3/compare/today"))
    assert not is_heavy(scope("/scenarios"))
    assert is_heavy(scope("/collections/ngos/items", b"f=xlsx&province=07"))
    assert not is_heavy(scope("/collections/ngos/items", b"limit=10"))
    assert not is_heavy(scope("/collections/ngos/items", b"f=json"))
    assert not is_heavy(scope("/health")) and not is_heavy(scope("/tiles/ngos/5/20/12.mvt"))


def test_a_large_body_is_refused_with_413_before_a_handler_reads_it():
    async def scenario():
        release = asyncio.Event()
        release.set()
        guard = BodyLimit(slow_app, max_bytes=1000)
        run, out = call(guard, "/licence-checks", body=b"x" * 1001, headers=[(b"content-length", b"1001")])
        await run
        assert out["status"] == 413 and out["headers"]["content-type"] == "application/problem+json"
        # Without a Content-Length (chunked), counted while it streams.
        run, out = call(guard, "/licence-checks", body=b"x" * 1001, release=release)
        await run
        assert out["status"] == 413
        run, out = call(guard, "/licence-checks", body=b"x" * 1000, release=release)
        await run
        assert out["status"] == 200

    run_async(scenario())


def test_every_response_carries_the_security_headers_and_pages_a_fresh_nonce():
    async def plain(scope, receive, send):
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def scenario():
        run, out = call(SecurityHeaders(plain), "/nowhere")
        await run
        return out

    out = run_async(scenario())
    assert out["headers"]["x-content-type-options"] == "nosniff"
    assert out["headers"]["x-frame-options"] == "DENY"
    assert out["headers"]["referrer-policy"] == "same-origin"
    assert out["headers"]["content-security-policy"] == API_CSP
    html = "<html><script>var a = 1;</script><script src='/static/app/amayesh.js'></script></html>"
    one, two = page_response(html), page_response(html)
    csp = one.headers["content-security-policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in one.body.decode()
    assert f"<script nonce=\"{nonce}\" src='/static/app/amayesh.js'>" in one.body.decode()
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert two.headers["content-security-policy"] != csp


def test_byte_bounded_cache_drops_the_least_recently_used():
    cache = ByteLRU(max_bytes=10_000)
    for i in range(100):
        cache.put(("mask", i), np.zeros(1000, dtype=bool))  # about 1,128 bytes each
        cache.get(("mask", 0))  # kept in use
    assert cache.bytes <= 10_000
    assert cache.get(("mask", 0)) is not None
    assert cache.get(("mask", 1)) is None
    assert cache.get(("mask", 99)) is not None
    cache.put("huge", b"x" * 20_000)  # larger than the cache: not kept, nothing evicted for it
    assert cache.get("huge") is None and cache.get(("mask", 99)) is not None


def test_service_headers_health_and_body_limit_on_the_app(tmp_path):
    from api.app import create_app
    from services.settings import Settings
    from store import open_store
    from tests.test_hostile_files import tiny_world

    store = open_store(str(tmp_path / "w.gpkg"))
    with store.transaction() as tx:
        for name, frame in tiny_world().items():
            tx.write_layer(name, frame)
    from tests.conftest import bearer, make_users

    app = create_app(Settings(store=str(tmp_path / "w.gpkg"), prepare_tiles=False, max_body_bytes=2048))
    with TestClient(app, headers=bearer(make_users(str(tmp_path / "w.gpkg"))["admin"])) as client:
        r = client.get("/health")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        for path in ("/health", "/collections", "/collections/ngos/items?limit=1", "/no/such/thing"):
            r = client.get(path)
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        r = client.post(
            "/licence-checks", content=b"{" + b" " * 4096 + b"}", headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        # Filter values no collection has are refused or cached in bounded memory, not kept forever.
        for i in range(300):
            client.get(f"/collections/ngos/items?limit=1&county={i:04d}")
        snap = app.state.snapshots.current()
        assert snap.small.bytes <= snap.small.max_bytes
        assert not any(str(k).startswith(("mask:", "positions:")) for k in snap._cache)


@pytest.mark.realdata
@pytest.mark.slow
def test_health_answers_while_an_export_an_import_and_20_heavy_requests_run(demo):
    """The figures of ``bench/bench_health_under_load.py`` on the national demo, with a generous
    bound on the worst answer (this 2-core machine is shared by many processes); 95 % of the
    answers must come within the 500 ms the service aims at."""
    from bench.bench_health_under_load import run

    with ThreadPoolExecutor(1) as pool:  # its asyncio.run needs a thread without a running loop
        figures = pool.submit(run, str(demo["store"].path), 20).result()
    assert figures["import_exit"] == 0
    assert figures["export_status"] == 200
    assert set(figures["statuses"]) <= {"200", "429", "503"}
    assert figures["health_requests"] > 20
    assert figures["health_ms_p95"] < 500, figures
    assert figures["health_ms_max"] < 10_000, figures


def test_answers_are_compressed_at_zlibs_own_level(small_client):
    # The deflate stream after the gzip header is the answer compressed at level 6 (Starlette's
    # default, 9, spent 2.5 times the CPU for 4 % fewer bytes); the body is the answer itself.
    import gzip as _gzip
    import json as _json

    url = "/collections/settlements/items?limit=100"
    with small_client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip" and raw[:2] == b"\x1f\x8b"
    body = _gzip.decompress(raw)
    assert raw[10:] == _gzip.compress(body, compresslevel=6, mtime=0)[10:]
    assert raw[10:] != _gzip.compress(body, compresslevel=9, mtime=0)[10:]
    plain = small_client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    unzipped, direct = _json.loads(body), plain.json()
    assert {**unzipped, "timeStamp": None} == {**direct, "timeStamp": None} and direct["features"]
