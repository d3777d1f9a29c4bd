"""The benchmark runner: `python -m bench [--smoke] [--backend sqlite|postgresql] [--only a,b]`.

For each backend it migrates a private database (a temp SQLite file; a private schema in
TEST_DATABASE_URL's PostgreSQL, with Redis from TEST_REDIS_URL for the limits), seeds it, runs
every scenario module listed in bench/scenarios/__init__.py and prints a table of medians and
ratios. A scenario is a module with TITLE and `run(bench) -> list[Result]`; see bench/README.md.
"""
import argparse
import importlib
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from . import servers
from .load import LoadResult, LoadSettings, has_wrk, run_load
from .scenarios import SCENARIOS
from .seed import SeedData, seed

OUT_DIR = Path(__file__).with_name("out")
# High enough never to trip, so the limiter is checked and counted on every request but the
# numbers measure the hot path, not 429s.
BENCH_RATE_LIMIT = "100000000 per minute"


@dataclass(frozen=True)
class Settings:
    contacts: int = 100_000
    keys: int = 10_000
    small_keys: int = 100
    reps: int = 3
    load: LoadSettings = LoadSettings()
    bulk_batches: int = 10  # 1,000 contacts each
    smoke: bool = False

    @classmethod
    def smoke_test(cls) -> "Settings":
        return cls(contacts=600, keys=40, small_keys=10, reps=1, bulk_batches=2, smoke=True,
                   load=LoadSettings(duration=2, connections=4, threads=2))


@dataclass
class Result:
    scenario: str
    metric: str
    value: float
    unit: str = ""
    target: str = ""  # e.g. ">= 0.6"; empty when informational
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        op, limit = self.target.split()
        return self.value >= float(limit) if op == ">=" else self.value <= float(limit)


@dataclass
class Comparison:
    """Alternating runs of a variant and its baseline; medians and their ratio."""
    variant: list[LoadResult] = field(default_factory=list)
    baseline: list[LoadResult] = field(default_factory=list)

    @staticmethod
    def _median(runs, attr):
        return statistics.median(getattr(r, attr) for r in runs)

    def median(self, which: str, attr: str) -> float:
        return self._median(getattr(self, which), attr)

    def describe(self, which: str) -> str:
        runs = getattr(self, which)
        cpu = (f", server CPU {self.median(which, 'cpu_ms'):.3f} ms/req"
               if all(r.cpu_ms is not None for r in runs) else "")
        return (f"{self.median(which, 'rps'):,.0f} req/s, p50 {self.median(which, 'p50_ms'):.2f} ms,"
                f" p99 {self.median(which, 'p99_ms'):.2f} ms{cpu} over {len(runs)} runs"
                f" ({', '.join(f'{r.rps:,.0f}' for r in runs)})")

    def cpu_ratio(self) -> float | None:
        """Baseline CPU per request ÷ variant CPU per request: the throughput ratio the two
        would have on an otherwise idle machine if both are CPU-bound."""
        if any(r.cpu_ms is None for r in self.variant + self.baseline):
            return None
        return self.median("baseline", "cpu_ms") / self.median("variant", "cpu_ms")


class Bench:
    """What a scenario gets: the seeded database, servers, a load generator and the settings."""

    def __init__(self, backend: str, database_url: str, redis_url: str | None,
                 settings: Settings, out_dir: Path):
        self.backend = backend
        self.database_url = database_url
        self.redis_url = redis_url
        self.settings = settings
        self.out_dir = out_dir
        self.ratelimit_prefix = f"bench-{secrets.token_hex(6)}"
        self.secret_key = secrets.token_urlsafe(32)
        self.seed: SeedData | None = None
        self._servers = ExitStack()
        self._shared: dict[str, servers.Server] = {}
        self._running: list[servers.Server] = []
        self._app = None

    # -- the app in-process (seeding, building cursors, reading the database) ---------------
    def app(self):
        if self._app is None:
            from sureapp import create_app

            self._app = create_app({"SQLALCHEMY_DATABASE_URI": self.database_url,
                                    "RATELIMIT_STORAGE_URI": "memory://"})
        return self._app

    # -- servers -----------------------------------------------------------------------------
    def server_env(self, **extra) -> dict[str, str]:
        env = {"DATABASE_URL": self.database_url, "SECRET_KEY": self.secret_key,
               "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
               "API_RATE_LIMIT": BENCH_RATE_LIMIT,
               "RATELIMIT_KEY_PREFIX": self.ratelimit_prefix}
        env.update(extra)
        return env

    @contextmanager
    def serve(self, wsgi: str, name: str, health_path: str = "/healthz", **env):
        """A fresh gunicorn (2 workers, gunicorn.conf.py) for this block only."""
        log = self.out_dir / f"{self.backend}-{name}.log"
        with servers.gunicorn(wsgi, self.server_env(**env), log, health_path=health_path) as srv:
            self._running.append(srv)
            try:
                yield srv
            finally:
                self._running.remove(srv)

    def shared_server(self, wsgi: str, name: str, health_path: str = "/healthz") -> servers.Server:
        """A gunicorn started on first use and kept for every scenario of this backend."""
        if name not in self._shared:
            self._shared[name] = self._servers.enter_context(
                self.serve(wsgi, name, health_path=health_path))
        return self._shared[name]

    def sureapp(self) -> servers.Server:
        return self.shared_server("bench.apps:sureapp_app()", "sureapp")

    def close(self) -> None:
        self._servers.close()

    # -- load --------------------------------------------------------------------------------
    def load(self, url: str, **options) -> LoadResult:
        server = next((s for s in self._running if url.startswith(s.url + "/")), None)
        cpu_before = server.worker_cpu_seconds() if server else 0.0
        result = run_load(url, self.settings.load, **options)
        if result.errors or not result.requests:
            raise RuntimeError(f"{url}: {result.errors} errors in {result.requests} requests")
        if server:
            cpu = server.worker_cpu_seconds() - cpu_before
            result = replace(result, cpu_ms=cpu * 1000 / result.requests)
        return result

    def alternate(self, variant, baseline) -> Comparison:
        """Run variant() and baseline() in turn settings.reps times (drift hits both alike)."""
        comparison = Comparison()
        for _ in range(self.settings.reps):
            comparison.variant.append(variant())
            comparison.baseline.append(baseline())
        return comparison

    def api_headers(self, key: str | None = None) -> dict[str, str]:
        return {"X-API-Key": key or self.seed.read_key, "Accept": "application/json"}


# -- databases ---------------------------------------------------------------------------------

@contextmanager
def sqlite_database(out_dir: Path):
    folder = Path(tempfile.mkdtemp(prefix="sureapp-bench-"))
    try:
        yield f"sqlite:///{folder / 'bench.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgresql_database(base_url: str):
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base_url else "?"
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _forget_redis_counters(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))[:100_000]
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i:i + 1000])
    finally:
        client.close()


# -- running -----------------------------------------------------------------------------------

def run_backend(backend: str, settings: Settings, scenario_names: list[str],
                out_dir: Path) -> list[Result]:
    redis_url = os.environ.get("TEST_REDIS_URL") if backend == "postgresql" else None
    database = (postgresql_database(os.environ["TEST_DATABASE_URL"]) if backend == "postgresql"
                else sqlite_database(out_dir))
    results: list[Result] = []
    with database as url:
        bench = Bench(backend, url, redis_url, settings, out_dir)
        try:
            started = time.monotonic()
            from flask_migrate import upgrade

            from sureapp.extensions import db

            with bench.app().app_context():
                upgrade()
                bench.seed = seed(settings.contacts, settings.keys, settings.small_keys)
                db.session.remove()
                db.engine.dispose()
            print(f"[{backend}] migrated and seeded {settings.contacts:,} contacts and "
                  f"{settings.keys:,} + {settings.small_keys} keys in "
                  f"{time.monotonic() - started:.1f}s", flush=True)
            for name in scenario_names:
                module = importlib.import_module(f"bench.scenarios.{name}")
                started = time.monotonic()
                try:
                    found = module.run(bench)
                except Exception as exc:  # one broken scenario must not hide the others
                    traceback.print_exc()
                    found = [Result(name, "error", float("nan"), detail=f"{type(exc).__name__}: {exc}")]
                for result in found:
                    result.scenario = f"{backend}/{result.scenario}"
                    print(_format(result), flush=True)
                results += found
                print(f"[{backend}] {name}: {time.monotonic() - started:.1f}s", flush=True)
        finally:
            bench.close()
            if redis_url:
                _forget_redis_counters(redis_url, bench.ratelimit_prefix)
    return results


def _format(result: Result) -> str:
    verdict = {True: "MET", False: "MISSED", None: ""}[result.met]
    target = f"target {result.target}: {verdict}" if result.target else ""
    line = (f"  {result.scenario:<28} {result.metric:<42} {result.value:>11,.2f} "
            f"{result.unit:<10} {target}")
    return f"{line}\n      {result.detail}" if result.detail else line


def backends_from_env() -> list[str]:
    return ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s runs (for tests)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append",
                        help="default: sqlite, plus postgresql when TEST_DATABASE_URL is set")
    parser.add_argument("--only", help="comma-separated scenario names", default="")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    settings = Settings.smoke_test() if args.smoke else Settings()
    names = [n for n in SCENARIOS if not args.only or n in args.only.split(",")]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = OUT_DIR / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"sureapp bench {stamp}: load generator {'wrk' if has_wrk() else 'python (no wrk!)'},"
          f" {os.cpu_count()} cores, scenarios {', '.join(names)}; logs in {out_dir}", flush=True)

    results: list[Result] = []
    for backend in args.backend or backends_from_env():
        results += run_backend(backend, settings, names, out_dir)

    print("\nSummary")
    for result in results:
        print(_format(result))
    payload = [dict(asdict(r), met=r.met) for r in results]
    for path in filter(None, [out_dir / "results.json", args.json]):
        path.write_text(json.dumps(payload, indent=2, default=str))
    errors = [r for r in results if r.metric == "error"]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
