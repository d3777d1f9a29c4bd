"""`make bench` in miniature (tiny data, 1-second runs), so the benchmark cannot rot: every
scenario must run end to end on every configured backend and report its numbers. The targets
themselves are checked by `make bench` (bench/RESULTS.md), not here: 1-second runs on a shared
CI machine are too noisy to judge them."""
import json
import math
import os
import subprocess
import sys

from bench.runner import backends_from_env
from bench.scenarios import SCENARIOS
from bench.servers import REPO_ROOT

TIMEOUT = 480  # seconds, for all backends (a busy CI machine is slow)


def test_every_bench_scenario_runs_and_reports(tmp_path):
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
        cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]

    results = json.loads(out.read_text())
    for backend in backends_from_env():
        for scenario in SCENARIOS:
            found = [r for r in results if r["scenario"] == f"{backend}/{scenario}"]
            assert found, f"{backend}/{scenario} reported nothing"
            for result in found:
                assert result["metric"] != "error", result["detail"]
                assert math.isfinite(result["value"]) and result["value"] >= 0, result
        # Issue 11's targets, per backend: the PostgreSQL + Redis leg is judged at 0.5.
        throughput = next(r for r in results if r["scenario"] == f"{backend}/api_read"
                          and r["metric"] == "throughput API / baseline")
        assert throughput["target"] == {"sqlite": ">= 0.6", "postgresql": ">= 0.5"}[backend]
