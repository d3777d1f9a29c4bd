"""Placeholder until the keys feature lands; replaced by its blueprint."""


def init_app(app):
    pass
