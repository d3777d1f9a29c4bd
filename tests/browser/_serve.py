"""Runs the real app for browser tests: binds a free 127.0.0.1 port and prints it on stdout.

Configuration comes from the environment exactly as in production (DATABASE_URL, SECRET_KEY);
CSRF stays enabled, as it is for real users.
"""
import sys

from werkzeug.serving import make_server

from sureapp import create_app


def main() -> None:
    app = create_app({"RATELIMIT_STORAGE_URI": "memory://"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
