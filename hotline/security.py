"""Start-up and response safeguards: no default secret in production, security headers."""

from flask import Flask

from config.settings import DEFAULT_SECRET_KEY

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


class InsecureConfiguration(RuntimeError):
    """Production settings that would put callers' data at risk."""


def check_configuration(app: Flask) -> None:
    """Refuse to start in production with the shipped SECRET_KEY (sessions could be forged)."""
    if app.config.get("ENV_NAME") == "production" and app.config["SECRET_KEY"] in (
            DEFAULT_SECRET_KEY, "", None):
        raise InsecureConfiguration(
            "HOTLINE_ENV=production needs its own SECRET_KEY (set the SECRET_KEY environment variable)")


def init_app(app: Flask) -> None:
    check_configuration(app)

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        return response
