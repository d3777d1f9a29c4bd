"""The MCP Inspector's CLI (npm @modelcontextprotocol/inspector, pinned in package.json; `make
node` installs it) pinned to the stateless 2026-07-28 revision (`--protocol-era modern`)
against a live server on 127.0.0.1: it connects, lists, calls, reads and gets, and is refused
what the key may not do. Without node the test is skipped and says why."""
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from sureapp.extensions import db
from sureapp.models import ApiRequestLog, Contact
from sureapp.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / "node_modules" / ".bin" / "mcp-inspector"
TIMEOUT = 90  # seconds per run; one takes a few


@pytest.fixture
def inspector(live_server, tmp_path):
    """Run the CLI once with `key`; (exit code, the JSON it printed or None, stderr). Its
    catalog, client config and OAuth store live in tmp_path, and it never starts an
    interactive OAuth login (no browser, no callback port)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the MCP Inspector (npm) cannot run")
    if not INSPECTOR.exists():
        pytest.fail(f"{INSPECTOR} is missing: run `make node` (make test does) to install it")
    env = {**os.environ, "HOME": str(tmp_path), "NO_COLOR": "1",
           "MCP_CATALOG_PATH": str(tmp_path / "mcp.json"),
           "MCP_CLIENT_CONFIG_PATH": str(tmp_path / "client.json")}

    def run(key: str, *args: str):
        command = [str(INSPECTOR), "--cli", "--protocol-era", "modern",
                   "--server-url", f"{live_server}/mcp", "--transport", "http",
                   "--header", f"X-API-Key: {key}", "--format", "json", "--stored-auth-only",
                   "--connect-timeout", "15000", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env,
                              cwd=tmp_path, stdin=subprocess.DEVNULL)
        try:
            printed = json.loads(done.stdout) if done.stdout.strip() else None
        except json.JSONDecodeError:
            printed = None
        return done.returncode, printed, done.stderr

    return run


def logged_paths(flush_usage, key) -> list[str]:
    flush_usage()
    return sorted(r.path for r in db.session.query(ApiRequestLog).filter_by(api_key_id=key.id))


def test_the_inspector_pinned_to_2026_07_28_lists_and_calls_tools(inspector, make_key, workspace,
                                                                  flush_usage):
    key, plaintext = make_key(workspace, ("read", "write"))
    code, listed, stderr = inspector(plaintext, "--method", "tools/list", "--strict")
    assert code == 0, stderr  # --strict: exit 6 on any tool-schema portability error
    names = [t["name"] for t in listed["result"]["tools"]]
    assert "create_contact" in names and "delete_contact" not in names
    tools = listed["result"]["tools"]
    assert all(t["outputSchema"]["type"] == "object" for t in tools)
    read_only = {t["name"] for t in tools if t["annotations"]["readOnlyHint"]}
    assert "list_contacts" in read_only and "create_contact" not in read_only

    code, called, stderr = inspector(plaintext, "--method", "tools/call", "--tool-name",
                                     "create_contact", "--tool-args-json",
                                     json.dumps({"email": "ada@example.com", "first_name": "Ada"}))
    assert code == 0, stderr
    result = called["result"]
    assert result["isError"] is False
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "sureapp"
    db.session.expire_all()
    contact = db.session.get(Contact, uuid.UUID(result["structuredContent"]["id"]))
    assert (contact.email, contact.first_name, contact.workspace_id) == (
        "ada@example.com", "Ada", workspace.id)
    paths = logged_paths(flush_usage, key)
    assert "/mcp tools/call create_contact" in paths and "/mcp tools/list" in paths
    assert not any("initialize" in p for p in paths)  # stateless: no handshake at all


def test_the_inspector_reads_resources_and_gets_prompts(inspector, make_key, workspace,
                                                        make_contact):
    _, plaintext = make_key(workspace, ("read", "write"))
    contact = make_contact(workspace, first_name="Grace")
    code, read, stderr = inspector(plaintext, "--method", "resources/read", "--uri",
                                   f"sureapp://contacts/{contact.id}")
    assert code == 0, stderr
    assert json.loads(read["result"]["contents"][0]["text"])["first_name"] == "Grace"
    code, prompt, stderr = inspector(plaintext, "--method", "prompts/get", "--prompt-name",
                                     "draft_campaign", "--prompt-args", "topic=Spring sale")
    assert code == 0, stderr
    assert '"Spring sale"' in prompt["result"]["messages"][0]["content"]["text"]


def test_the_inspector_is_refused_what_the_key_may_not_do(inspector, make_key, workspace):
    _, plaintext = make_key(workspace, ("contacts:read",))
    # Not offered by tools/list, so the Inspector itself refuses to call it (exit 5).
    code, _, stderr = inspector(plaintext, "--method", "tools/call", "--tool-name",
                                "create_contact", "--tool-args-json",
                                json.dumps({"email": "mallory@example.com"}))
    assert code == 5
    assert json.loads(stderr)["error"]["code"] == "tool_not_found"
    assert db.session.query(Contact).count() == 0
    code, printed, stderr = inspector(plaintext, "--method", "resources/read", "--uri",
                                      "sureapp://reports/summary")
    assert (code, printed) == (1, None)
    assert "needs the 'reports:read' scope" in json.loads(stderr)["error"]["message"]

    revoked, revoked_plaintext = make_key(workspace, ("read",))
    revoked.status, revoked.revoked_at = "revoked", utcnow()
    db.session.commit()
    code, printed, stderr = inspector(revoked_plaintext, "--method", "tools/list")
    assert (code, printed) == (3, None)  # the Inspector's "authorization needed" exit
    error = json.loads(stderr)["error"]
    assert error["code"] == "auth_required" and "HTTP 401" in error["message"]
