"""Database writes per 1,000 authenticated reads, counted inside the server's workers.

A fresh gunicorn serves bench.apps:counted_sureapp_app(), which counts every write statement
(an executemany batch counts once) and every transaction that wrote, over the workers' whole
life: start, the reads, and the graceful stop that flushes the request-log buffer.
"""
import shutil

from ..apps import read_write_counts
from ..runner import Result

TITLE = "Database writes per 1,000 authenticated reads"
WORKERS = 2


def run(bench) -> list[Result]:
    folder = bench.out_dir / f"{bench.backend}-writes"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url = f"{{}}/api/v1/contacts/{bench.seed.contact_id}"
    with bench.serve("bench.apps:counted_sureapp_app()", "counted",
                     BENCH_WRITES_DIR=str(folder)) as server:
        load = bench.load(url.format(server.url), headers=bench.api_headers())
    reported = len(list(folder.glob("*.json")))
    if reported != WORKERS:
        raise RuntimeError(f"{reported} of {WORKERS} workers reported their write counts")
    counts = read_write_counts(folder)
    per_1000 = 1000 / load.requests
    return [
        Result("api_writes", "write statements per 1,000 reads", counts["statements"] * per_1000,
               "", "<= 2", detail=f"{counts['statements']} statements, "
               f"{counts['transactions']} write transactions in {load.requests:,} reads"),
        Result("api_writes", "write transactions per 1,000 reads",
               counts["transactions"] * per_1000, ""),
    ]
