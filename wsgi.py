"""The WSGI entry point for production servers: ``gunicorn wsgi:app``."""

from searchsvc import create_app

app = create_app()
