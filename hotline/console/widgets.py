"""The form of each action, inferred from the API's body schema: which widget each field gets."""

import marshmallow as ma
from marshmallow import validate

from hotline.console import forms


def field_spec(name: str, schema_field: ma.fields.Field) -> dict:
    """A field's widget: unit pickers by name, a list for choices, yes/no, a number, a short
    text (codes, names, times) or, by default, a textarea."""
    spec = {"name": name, "required": schema_field.required, "widget": "textarea"}
    choices = next((v.choices for v in schema_field.validators if isinstance(v, validate.OneOf)),
                   None)
    type_name = type(schema_field).__name__
    if schema_field.metadata.get("widget"):     # the body says how it is asked (a rating)
        spec["widget"] = schema_field.metadata["widget"]
    elif name in ("co_units", "units"):
        spec["widget"] = "units_multi"
    elif name == "unit":
        spec["widget"] = "unit"
    elif choices:
        spec.update(widget="select", choices=list(choices))
    elif type_name in ("Boolean", "StrictBoolean"):   # yes/no radios, not a text box
        spec["widget"] = "yesno"
    elif type_name in ("Integer", "TicketRef"):   # TicketRef: an id, or a ticket number (issue 21)
        spec["widget"] = "number"
    elif type_name != "String" or getattr(schema_field, "metadata", {}).get("description") \
            or any(isinstance(v, validate.Length) and v.max and v.max <= 200
                   for v in schema_field.validators):
        spec["widget"] = "text"  # a short value: codes, names, times
    return spec


def form_specs(allowed: list[str]) -> dict[str, list[dict]]:
    """The fields of each offered action's form, from the API's body schema.

    A nested part of a body (`consent`) becomes flat fields (`consent_by`, ...)."""
    specs = {}
    for action in allowed:
        fields = []
        for name, schema_field in forms.action_fields(action).items():
            if schema_field.metadata.get("derived_from"):   # follows from another answer
                continue
            if isinstance(schema_field, ma.fields.Nested):
                fields += [field_spec(f"{name}_{key}", sub)
                           for key, sub in schema_field.schema.fields.items()]
            else:
                fields.append(field_spec(name, schema_field))
        specs[action] = fields
    return specs
