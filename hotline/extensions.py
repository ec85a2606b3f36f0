"""Extensions, created unbound here and bound to the app in `create_app`."""

import marshmallow as ma
from flask_migrate import Migrate
from flask_smorest import Api, Blueprint
from flask_smorest.error_handler import ErrorSchema as SmorestErrorSchema
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from hotline.parsing import STRICT_PARSER

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after the one commit at the request boundary.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


class ErrorSchema(SmorestErrorSchema):
    """The documented error body: flask-smorest's, and the stable code of the refusal
    (docs/integration.md, the Additions), so clients and the API's own fuzzing may rely on it."""

    error = ma.fields.String(metadata={"description": "the refusal's stable code, e.g. ticket.not_found"})


class HotlineApi(Api):
    ERROR_SCHEMA = ErrorSchema


api = HotlineApi()
# Every API blueprint's @arguments parses with it (bound when the view module is imported,
# which is always after this one): no 500 and no unstorable text from a JSON body.
Blueprint.ARGUMENTS_PARSER = STRICT_PARSER
