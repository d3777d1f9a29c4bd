"""Placeholder until the mcp feature lands; replaced by its blueprint."""


def init_app(app):
    pass
