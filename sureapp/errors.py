"""Domain errors raised by services; the UI turns them into inline messages, the API and MCP
into problem details / tool errors. Services never know which surface called them."""


class DomainError(Exception):
    """Base class; `message` is safe to show to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """Missing, or in another workspace (indistinguishable on purpose)."""


class Conflict(DomainError):
    """Would break a uniqueness rule, e.g. a duplicate email in the workspace."""


class LimitExceeded(DomainError):
    """A configured limit, e.g. the workspace's contact allocation."""

    def __init__(self, message: str, limit: int | None = None):
        super().__init__(message)
        self.limit = limit


class ValidationFailed(DomainError):
    """Field-level errors: {"field": ["message", ...]}."""

    def __init__(self, errors: dict[str, list[str]], message: str = "Some fields are invalid."):
        super().__init__(message)
        self.errors = errors
