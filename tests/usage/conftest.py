"""Usage recording is tested through /api/v1, with the API suite's keyed client and workspaces
(one definition, in tests/api/conftest.py)."""
from tests.api.conftest import (api, api_as, full_key, other_workspace, owner,  # noqa: F401
                                workspace)
from tests.mcp.conftest import call_tool, rpc  # noqa: F401  (refused MCP requests)
