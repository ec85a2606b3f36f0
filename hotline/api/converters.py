"""URL converters used by the API routes."""

from datetime import date

from werkzeug.routing import BaseConverter, ValidationError


class IsoDateConverter(BaseConverter):
    """`2027-01-01` in a path; anything else is a 404 (no such resource)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError() from None

    def to_url(self, value: date) -> str:
        return value.isoformat()
