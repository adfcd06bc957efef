"""Settings: TOML plus environment → frozen, validated dataclasses (see `load`)."""

from mailtickets.config.load import EMBEDDED_DEFAULT, find_config, load_settings, search_path_from
from mailtickets.config.settings import Settings

__all__ = ["EMBEDDED_DEFAULT", "Settings", "find_config", "load_settings", "search_path_from"]
