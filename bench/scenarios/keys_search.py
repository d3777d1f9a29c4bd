"""The API Keys page's live search (the HTMX request the search box sends) in a workspace with
10,000 keys against one with 100, logged in through the real login form."""
from ..client import login, request
from ..runner import Result

TITLE = "API Keys page search: 10,000 keys vs 100"
QUERY = "zapier"  # matches one key in eight


def run(bench) -> list[Result]:
    server = bench.sureapp()
    cookie = login(server.url, bench.seed.user_email, bench.seed.password)
    headers = {"Cookie": cookie, "HX-Request": "true"}
    urls = {size: f"{server.url}/w/{workspace}/settings/api-keys?search={QUERY}"
            for size, workspace in (("big", bench.seed.workspace_id),
                                    ("small", bench.seed.small_workspace_id))}
    for url in urls.values():
        status, _, body = request("GET", url, headers)
        if status != 200 or b"Zapier" not in body:
            raise RuntimeError(f"{url} answered {status} without matching keys")

    runs = bench.alternate(lambda: bench.load(urls["big"], headers=headers),
                           lambda: bench.load(urls["small"], headers=headers))
    ratio = runs.median("baseline", "rps") / runs.median("variant", "rps")
    return [
        Result("keys_search", f"{bench.settings.keys:,} keys / {bench.settings.small_keys} keys time",
               ratio, "x", "<= 2",
               detail=f"{bench.settings.keys:,} keys {runs.describe('variant')}; "
                      f"{bench.settings.small_keys} keys {runs.describe('baseline')}"),
        Result("keys_search", "many / few keys server CPU", 1 / (runs.cpu_ratio() or float("inf")),
               "x", detail="the same ratio measured in worker CPU time, independent of machine load"),
        Result("keys_search", "search p50 latency, many keys", runs.median("variant", "p50_ms"),
               "ms", detail=f"few keys {runs.median('baseline', 'p50_ms'):.2f} ms"),
    ]
