"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from hotline import create_app
from hotline.security import check_demo_passwords

app = create_app()
check_demo_passwords(app)  # production serves no account still on the demo password
