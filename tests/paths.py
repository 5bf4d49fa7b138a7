"""Where the shared fixtures are: ../shared next to the repo (as in CI)."""

import os

REPO_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SHARED_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared")
REFERENCE_DIR = os.path.join(SHARED_DIR, "reference")
DATA_DIR = os.path.join(SHARED_DIR, "data")
