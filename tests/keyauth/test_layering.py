"""The keyed layer sits below the surfaces and the operations: importing it (and the usage
recorder it queues into) must not import the operation registry, whose package declares every
operation and so imports every feature's services (an import circle waiting to happen)."""
import subprocess
import sys

from bench.servers import REPO_ROOT


def test_keyauth_and_usage_import_no_operation_and_no_feature_service():
    probe = ("import sys, sureapp.keyauth, sureapp.usage.recorder; "
             "print(sorted(m for m in sys.modules if m.startswith(('sureapp.operations', "
             "'sureapp.contacts', 'sureapp.campaigns', 'sureapp.automations', 'sureapp.api', "
             "'sureapp.mcp'))))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
