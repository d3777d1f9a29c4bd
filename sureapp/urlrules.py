"""Flask URL rules as people read them: `/contacts/<uuid:contact_id>` → `/contacts/{contact_id}`.

One floor down so that both the operation registry (OpenAPI paths, MCP tool twins) and the
request log (usage/recorder.py: a request's route without its ids) use the one rule without the
recorder importing the registry, whose package declares every operation and so imports every
feature's services.
"""
import re

_PATH_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")  # Flask's <uuid:contact_id> → contact_id


def template_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path template: /contacts/<uuid:contact_id> → /contacts/{contact_id}."""
    return _PATH_PARAM.sub(r"{\1}", rule)


def path_params(rule: str) -> list[str]:
    """The names of a rule's variables, in order: /lists/<uuid:list_id>/contacts/<uuid:contact_id>
    → ['list_id', 'contact_id']."""
    return _PATH_PARAM.findall(rule)
