"""One module per API resource; importing them declares their operations on the blueprint."""
from . import me  # noqa: F401
