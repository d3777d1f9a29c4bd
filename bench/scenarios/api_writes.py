"""Database writes per 1,000 authenticated reads, counted inside the server's workers.

A fresh gunicorn serves bench.apps:counted_sureapp_app(), which counts every write statement
(an executemany batch counts once) and every transaction that wrote. Two numbers:
- steady state: after a warm-up (each worker's first requests do once-a-process housekeeping —
  the revoked-key purge — and the once-a-minute Last Used write), the writes of the measured
  reads, including the graceful stop that flushes their buffered request log;
- whole life: everything from start to stop, over the same reads.
"""
import shutil
import time

from ..apps import read_write_counts
from ..load import LoadSettings, run_load
from ..runner import Result

TITLE = "Database writes per 1,000 authenticated reads"
WORKERS = 2
FLUSH_SECONDS = 5  # REQUEST_LOG_FLUSH_SECONDS's default: warm-up entries are written by then


def run(bench) -> list[Result]:
    folder = bench.out_dir / f"{bench.backend}-writes"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    headers = bench.api_headers()
    with bench.serve("bench.apps:counted_sureapp_app()", "counted",
                     BENCH_WRITES_DIR=str(folder)) as server:
        url = f"{server.url}/api/v1/contacts/{bench.seed.contact_id}"
        warm = run_load(url, LoadSettings(duration=1, connections=4), headers=headers)
        time.sleep(FLUSH_SECONDS + 1)
        before = read_write_counts(folder)
        load = bench.load(url, headers=headers)
    reported = len(list(folder.glob("*.json")))
    if reported != WORKERS:
        raise RuntimeError(f"{reported} of {WORKERS} workers reported their write counts")
    after = read_write_counts(folder)
    steady = {name: after[name] - before[name] for name in after}
    per_1000 = 1000 / load.requests
    return [
        Result("api_writes", "write statements per 1,000 reads (steady)",
               steady["statements"] * per_1000, "", "<= 2",
               detail=f"{steady['statements']} statements, {steady['transactions']} write "
                      f"transactions in {load.requests:,} reads"),
        Result("api_writes", "write statements per 1,000 reads (whole life)",
               after["statements"] * 1000 / (load.requests + warm.requests), "",
               detail=f"{after['statements']} statements, {after['transactions']} write "
                      f"transactions in {load.requests + warm.requests:,} reads, start to stop"),
    ]
