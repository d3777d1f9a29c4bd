"""GET /api/v1/contacts?limit=100: the first page against a page 90 % deep into the workspace's
contacts (a cursor, as a client walking the list would hold). Keyset pagination should make both
cost the same."""
from sureapp.contacts.query import NEWEST_FIRST
from sureapp.pagination import encode_cursor

from ..client import request_json
from ..runner import Result

TITLE = "API list: first page vs a deep cursor page"
PAGE = 100


def run(bench) -> list[Result]:
    base = f"{bench.sureapp().url}/api/v1/contacts?limit={PAGE}"
    deep = f"{base}&cursor={encode_cursor(NEWEST_FIRST, list(bench.seed.deep_contact))}"
    headers = bench.api_headers()
    for url in (base, deep):  # both must be full pages, or the comparison means nothing
        status, body = request_json("GET", url, headers)
        if status != 200 or len(body.get("data", body.get("items", []))) != PAGE:
            raise RuntimeError(f"{url} answered {status} without a full page of {PAGE}")

    runs = bench.alternate(lambda: bench.load(deep, headers=headers),
                           lambda: bench.load(base, headers=headers))
    # Time per request under the same load: the inverse of throughput.
    ratio = runs.median("baseline", "rps") / runs.median("variant", "rps")
    return [
        Result("api_pagination", "deep page / first page time", ratio, "x", "<= 1.3",
               detail=f"deep {runs.describe('variant')}; first {runs.describe('baseline')}"),
        Result("api_pagination", "deep / first page server CPU", 1 / (runs.cpu_ratio() or float("inf")),
               "x", detail="the same ratio measured in worker CPU time, independent of machine load"),
        Result("api_pagination", "deep page p50 latency", runs.median("variant", "p50_ms"), "ms",
               detail=f"first page {runs.median('baseline', 'p50_ms'):.2f} ms"),
    ]
