"""What an access log may show of a request: the one redaction used by gunicorn's access log
(gunicorn.conf.py) and the development server's (`make run`)."""
import logging
import re

# A path segment that looks like a secret (a key string, an invitation/reset token) is masked.
# Keys belong in headers, but a client may still put one in a URL by mistake. UUIDs (record
# ids) are not secrets and stay readable.
_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
_SECRET_SEGMENT = re.compile(rf"(?<=/)(?!{_UUID}(?:/|$))[A-Za-z0-9_-]{{32,}}(?=/|$)")
REDACTED = "[redacted]"


def redact_target(target: str) -> str:
    """A request target as logs may show it: no query string (`?api_key=…`, search terms),
    secret-looking path segments masked."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    return _SECRET_SEGMENT.sub(REDACTED, path)


class RedactDevServerRequests(logging.Filter):
    """On the `werkzeug` logger (`flask run`): its request line is '"METHOD target VERSION"'
    with the full query string; the target gets the same redaction as gunicorn's %(U)s."""

    # werkzeug may wrap the request line in ANSI colour codes; the target is the 2nd token.
    _REQUEST_LINE = re.compile(r"^(\S* )(\S+)")

    def filter(self, record: logging.LogRecord) -> bool:
        # werkzeug's request line: '<address> - - [<time>] "%s" %s %s' % (line, status, size).
        if (isinstance(record.msg, str) and record.msg.endswith('"%s" %s %s')
                and record.args and isinstance(record.args[0], str)):
            line = self._REQUEST_LINE.sub(lambda m: m[1] + redact_target(m[2]), record.args[0],
                                          count=1)
            record.args = (line, *record.args[1:])
        return True


def init_app(app) -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactDevServerRequests) for f in logger.filters):
        logger.addFilter(RedactDevServerRequests())
