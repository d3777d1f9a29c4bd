"""Placeholder until the contacts feature lands; replaced by its blueprint."""


def init_app(app):
    pass
