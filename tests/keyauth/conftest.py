"""The keyed request layer is tested through /api/v1, with the API suite's keyed client and
workspaces (one definition, in tests/api/conftest.py)."""
from tests.api.conftest import (ApiClient, api, api_as, assert_problem, full_key,  # noqa: F401
                                other_workspace, owner, workspace)
