"""processid.current_pid: the process id without a system call, renewed in a forked child."""
import os

from sureapp.processid import current_pid


def test_the_cached_id_is_this_process_and_a_forked_childs_own():
    assert current_pid() == os.getpid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report what it sees, then leave without pytest's teardown
        os.write(write, f"{current_pid()} {os.getpid()}".encode())
        os._exit(0)
    os.close(write)
    seen, real = os.read(read, 100).decode().split()
    os.close(read)
    os.waitpid(child, 0)
    assert seen == real == str(child) and int(seen) != current_pid()
