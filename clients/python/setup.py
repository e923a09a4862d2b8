"""Build hook: generate the gRPC stubs from the repository's proto/ before anything is built.

Everything else is declared in pyproject.toml. setuptools executes this file for every build
step (metadata, wheel, editable install), so the stubs are written to src/leverage_client/v1
first, and an installed client always matches the contract of the checkout it was built from.
The stubs are generated, never committed. Building from an sdist (which has no proto/ beside it
but carries the stubs generated when it was made) uses the stubs it carries.
"""

import sys
from pathlib import Path

from setuptools import setup

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402  (the script beside this file)

if generate.DEFAULT_PROTO_DIR.is_dir():
    generate.generate()
elif not (generate.DEFAULT_OUT_DIR / "assets_pb2.py").is_file():
    sys.exit(
        f"leverage-client: no proto/ at {generate.DEFAULT_PROTO_DIR} and no generated stubs: "
        "build the client from a checkout of the leverage repository"
    )

setup()
