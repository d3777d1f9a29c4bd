"""The OpenAPI document passes Redocly's and Spectral's recommended rulesets with nothing to
report (no error, no warning). Both are npm packages pinned in package.json (`make test`
installs them); without node the test is skipped and says why."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"
TIMEOUT = 180  # seconds per linter; each takes a few on this document


def _tool(name: str) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the OpenAPI linters (npm) cannot run")
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `npm ci` (make test does) to install the linters")
    return path


@pytest.fixture
def document(client, tmp_path) -> Path:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(response.get_json()))
    return path


def test_redocly_recommended_reports_nothing(document, tmp_path):
    (tmp_path / "redocly.yaml").write_text("extends:\n  - recommended\n")
    result = subprocess.run([str(_tool("redocly")), "lint", "--format=json", str(document)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    report, _ = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("{"):])
    problems = [f"{p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}"
                for p in report["problems"]]
    assert problems == [] and result.returncode == 0, "\n".join(problems) or result.stderr


def test_spectral_oas_recommended_reports_nothing(document, tmp_path):
    ruleset = tmp_path / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n')
    result = subprocess.run([str(_tool("spectral")), "lint", "--ruleset", str(ruleset),
                             "--format", "json", "--fail-severity", "hint", str(document)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    # The JSON list, then (when empty) a sentence saying so.
    findings, _ = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("["):])
    assert findings == [], [(f["code"], f["message"], ".".join(map(str, f["path"])))
                            for f in findings]
    assert result.returncode == 0
