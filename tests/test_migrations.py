"""The migrations are the schema: an empty database upgraded to head equals the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Migrate

from hotline.extensions import db
from hotline.history import include_object


def test_single_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads: {heads}; merge them"


def test_upgraded_empty_database_matches_the_models(app):
    # The session fixture dropped everything and ran `upgrade` on an empty database.
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True,
                              "include_object": include_object}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "models and migrations differ; run `hotline db migrate`"


def test_migrate_extension_points_at_the_repository_migrations(app):
    migrate: Migrate = app.extensions["migrate"].migrate
    assert migrate.directory.endswith("migrations")
