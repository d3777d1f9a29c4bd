"""Placeholder until the api feature lands; replaced by its blueprint."""


def init_app(app):
    pass
