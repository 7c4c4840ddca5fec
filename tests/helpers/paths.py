"""Paths of the repository the tests run in."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
