"""One HTTP POST to a checked webhook target (netguard.Target), connecting to the address that
was checked (never resolving the name again: DNS rebinding), with TLS verified against the host
name, a total time limit, and no redirects followed (http.client never follows them)."""
import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from ..netguard import Target, connection

USER_AGENT = "sureapp-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024  # read (and discard) at most this much of a receiver's answer


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the receiver's HTTP status; None when none came back
    duration_ms: int
    error: str  # "" on a 2xx

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST `body`; any 2xx within `timeout` seconds (connect to last byte read) succeeds."""
    started = time.monotonic()
    deadline = started + timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    last_error = "could not connect"
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        conn = connection(target, address, remaining)
        try:
            conn.request("POST", target.path, body=body, headers={
                **headers, "Content-Type": "application/json", "User-Agent": USER_AGENT,
                "Host": target.host_header})
            sock = conn.sock  # http.client drops conn.sock once the response says "close"
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            response = conn.getresponse()
            read = 0
            while read < MAX_RESPONSE_BYTES and not response.isclosed():
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = response.read(min(8192, MAX_RESPONSE_BYTES - read))
                if not chunk:
                    break
                read += len(chunk)
            status = response.status
            if 200 <= status < 300:
                return Outcome(status, elapsed_ms(), "")
            if 300 <= status < 400:
                return Outcome(status, elapsed_ms(), f"HTTP {status}: redirects are not followed")
            return Outcome(status, elapsed_ms(), f"HTTP {status}")
        except (TimeoutError, socket.timeout):
            return Outcome(None, elapsed_ms(), f"timed out after {timeout:g} s")
        except ssl.SSLError as exc:
            return Outcome(None, elapsed_ms(), f"TLS error: {exc.reason or 'handshake failed'}"[:300])
        except OSError as exc:  # refused, unreachable, reset
            last_error = f"connection failed: {exc.strerror or type(exc).__name__}"
            continue  # the next address, if the name has several
        except http.client.HTTPException as exc:
            return Outcome(None, elapsed_ms(), f"invalid HTTP response ({type(exc).__name__})")
        finally:
            conn.close()
    if time.monotonic() >= deadline:
        return Outcome(None, elapsed_ms(), f"timed out after {timeout:g} s")
    return Outcome(None, elapsed_ms(), last_error)
