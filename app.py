"""Entry point for `flask --app app …` and WSGI servers."""
from sureapp import create_app

app = create_app()
