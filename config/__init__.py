"""Settings per environment and the data files the app reads (time limits, demo org)."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
