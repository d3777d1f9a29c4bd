"""Text checks shared by every tenancy form and service."""
import unicodedata


def has_control_characters(text: str, allow_newlines: bool = False) -> bool:
    """Control characters (NUL breaks PostgreSQL) or lone surrogates (unencodable)."""
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in text)
