"""This process's id without a system call: `os.getpid()` asks the kernel every time (glibc
no longer caches it), and the keyed hot path asked several times per request whether it had
been forked since it made a connection. The id is read once and again in every forked child."""
import os

_pid = os.getpid()


def _after_fork_in_child() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork_in_child)


def current_pid() -> int:
    return _pid
