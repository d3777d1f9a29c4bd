"""Authenticated GET /api/v1/contacts/{id} against bench/baseline.py serving the same row: under
gunicorn + wrk (alternating), and in-process (CPU µs per request of direct WSGI calls, steady
on a busy machine where req/s is not)."""
import json
from urllib.request import Request, urlopen

from .. import inprocess
from ..baseline import make_app as make_baseline
from ..runner import BENCH_RATE_LIMIT, Result

TITLE = "API read vs bare Flask"
# Issue 11's targets: the keyed read at >= 0.6x plain Flask + sqlite3, >= 0.5x plain Flask + a
# psycopg pool on PostgreSQL + Redis (a second server and a budget round trip per request).
THROUGHPUT_TARGETS = {"sqlite": ">= 0.6", "postgresql": ">= 0.5"}


def _document(url: str, headers: dict) -> dict:
    with urlopen(Request(url, headers=headers), timeout=10) as response:
        return json.loads(response.read())


def run(bench) -> list[Result]:
    contact_id = bench.seed.contact_id
    api_url = f"{bench.sureapp().url}/api/v1/contacts/{contact_id}"
    baseline_url = f"{bench.shared_server('bench.baseline:app', 'baseline').url}/contacts/{contact_id}"
    headers = bench.api_headers()

    # The comparison is only fair if both do the same work: same document out.
    api_doc, baseline_doc = _document(api_url, headers), _document(baseline_url, {})
    different = {k for k in baseline_doc.keys() | api_doc.keys() if api_doc.get(k) != baseline_doc.get(k)}
    if different:
        raise RuntimeError(f"baseline and API documents differ in {sorted(different)}")

    runs = bench.alternate(lambda: bench.load(api_url, headers=headers),
                           lambda: bench.load(baseline_url))
    ratio = runs.median("variant", "rps") / runs.median("baseline", "rps")
    api_us, baseline_us = _in_process(bench, contact_id, headers)
    return [
        Result("api_read", "in-process CPU per request, API", api_us, "µs",
               detail=f"baseline {baseline_us:.0f} µs; ratio baseline/API {baseline_us / api_us:.2f}"),
        Result("api_read", "in-process CPU per request, baseline", baseline_us, "µs"),
        Result("api_read", "throughput API / baseline", ratio, "x",
               THROUGHPUT_TARGETS[bench.backend],
               detail=f"API {runs.describe('variant')}; baseline {runs.describe('baseline')}"),
        Result("api_read", "server CPU per request, baseline / API", runs.cpu_ratio() or 0.0, "x",
               detail="what the throughput ratio would be on an idle machine (both CPU-bound)"),
        Result("api_read", "API p50 latency", runs.median("variant", "p50_ms"), "ms",
               detail=f"baseline {runs.median('baseline', 'p50_ms'):.2f} ms"),
        Result("api_read", "API p99 latency", runs.median("variant", "p99_ms"), "ms",
               detail=f"baseline {runs.median('baseline', 'p99_ms'):.2f} ms"),
    ]


def _in_process(bench, contact_id, headers) -> tuple[float, float]:
    """Median CPU µs per request of the real app and of the baseline, called alternately in this
    process on the same database (and the same Redis for the PostgreSQL leg)."""
    from sureapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": bench.database_url,
                      "RATELIMIT_STORAGE_URI": bench.redis_url or "memory://",
                      "RATELIMIT_KEY_PREFIX": bench.ratelimit_prefix + "-inprocess",
                      "API_RATE_LIMIT": BENCH_RATE_LIMIT})
    baseline = make_baseline(bench.database_url)
    requests = 200 if bench.settings.smoke else 2000
    api_runs, baseline_runs = [], []
    for _ in range(bench.settings.reps):
        api_runs.append(inprocess.cpu_us(app, f"/api/v1/contacts/{contact_id}", headers,
                                         requests=requests))
        baseline_runs.append(inprocess.cpu_us(baseline, f"/contacts/{contact_id}",
                                              requests=requests))
    return sorted(api_runs)[len(api_runs) // 2], sorted(baseline_runs)[len(baseline_runs) // 2]
