"""Authenticated GET /api/v1/contacts/{id} against bench/baseline.py serving the same row."""
import json
from urllib.request import Request, urlopen

from ..runner import Result

TITLE = "API read vs bare Flask"


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
    return [
        Result("api_read", "throughput API / baseline", ratio, "x", ">= 0.6",
               detail=f"API {runs.describe('variant')}; baseline {runs.describe('baseline')}"),
        Result("api_read", "server CPU per request, baseline / API", runs.cpu_ratio() or 0.0, "x",
               detail="what the throughput ratio would be on an idle machine (both CPU-bound)"),
        Result("api_read", "API p50 latency", runs.median("variant", "p50_ms"), "ms",
               detail=f"baseline {runs.median('baseline', 'p50_ms'):.2f} ms"),
        Result("api_read", "API p99 latency", runs.median("variant", "p99_ms"), "ms",
               detail=f"baseline {runs.median('baseline', 'p99_ms'):.2f} ms"),
    ]
