"""The revision the code needs, read from the migration files' names, is Alembic's head."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from mailtickets.db import migrate
from mailtickets.resources import resource_dir


def test_each_migration_file_is_named_for_its_revision_and_the_last_is_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    scripts = ScriptDirectory.from_config(config)
    for script in scripts.walk_revisions():
        assert script.path.rsplit("/", 1)[-1].startswith(f"{script.revision}_")
    assert migrate.head() == scripts.get_current_head()
