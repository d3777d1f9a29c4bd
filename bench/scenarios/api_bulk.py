"""POST /api/v1/contacts/bulk: upsert throughput, 1,000 contacts per request, one client thread
per worker. First every batch creates new contacts, then the same batches update them."""
import time
from concurrent.futures import ThreadPoolExecutor

from ..client import request_json
from ..runner import Result

TITLE = "API bulk upsert throughput"
BATCH = 1_000
CLIENTS = 2  # one per gunicorn worker


def _batches(count: int, round_: str) -> list[list[dict]]:
    return [[{"email": f"bulk{b:03d}-{i:04d}@bench.example", "first_name": f"Bulk {round_}",
              "last_name": f"Batch {b}", "company": "Upsert Ltd", "status": "active",
              "custom_fields": {"round": round_}}
             for i in range(BATCH)] for b in range(count)]


def _post_all(url: str, headers: dict, batches: list[list[dict]], expect: str) -> float:
    """Seconds to send every batch; each must report all its rows as `expect`."""
    def post(batch):
        status, body = request_json("POST", url, headers, {"contacts": batch})
        summary = (body or {}).get("summary", body or {})
        if status != 200 or summary.get(expect) != len(batch):
            raise RuntimeError(f"bulk upsert answered {status}: {str(body)[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(post, batches))
    return time.perf_counter() - started


def run(bench) -> list[Result]:
    url = f"{bench.sureapp().url}/api/v1/contacts/bulk"
    headers = bench.api_headers(bench.seed.write_key)
    count = bench.settings.bulk_batches
    created = _post_all(url, headers, _batches(count, "create"), "created")
    updated = _post_all(url, headers, _batches(count, "update"), "updated")
    rows = count * BATCH
    return [
        Result("api_bulk", "bulk upsert, new contacts", rows / created, "rows/s",
               ">= 5000" if bench.backend == "sqlite" else "",
               detail=f"{rows:,} rows in {count} requests, {created:.2f}s"),
        Result("api_bulk", "bulk upsert, existing contacts", rows / updated, "rows/s",
               ">= 5000" if bench.backend == "sqlite" else "",
               detail=f"{rows:,} rows in {count} requests, {updated:.2f}s"),
    ]
