#!/usr/bin/env python3
"""Generate the Python gRPC stubs of the leverage API from the repository's `proto/`.

The stubs are never committed: they are written to `src/leverage_client/v1/` (ignored by git)
by this script, which is also what the package's build hook (`setup.py`) runs, so that
`pip install ./clients/python` always ships stubs that match the checked-out contract.

    python generate.py                     # from ../../proto into src/leverage_client/v1
    python generate.py --proto-dir DIR     # another copy of the contract

protoc writes `from leverage.v1 import common_pb2`, following the .proto file paths; those
imports are rewritten to `from leverage_client.v1 import ...` so that the generated modules
live inside this package instead of claiming a top-level `leverage` package.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PROTO_DIR = HERE.parent.parent / "proto"
DEFAULT_OUT_DIR = HERE / "src" / "leverage_client" / "v1"
PROTO_PACKAGE_DIR = Path("leverage") / "v1"
TARGET_PACKAGE = "leverage_client.v1"

_IMPORT = re.compile(r"^from leverage\.v1 import ", re.MULTILINE)
_INIT = '''"""Protobuf messages and gRPC stubs of `leverage.v1`, generated from proto/ by generate.py.

Do not edit: regenerate with `python clients/python/generate.py`.
"""
'''


def _protoc_include() -> str:
    """Directory of the well-known types (google/protobuf/*.proto) that grpcio-tools ships."""
    from importlib import resources

    return str(resources.files("grpc_tools") / "_proto")


def generate(proto_dir: Path | str | None = None, out_dir: Path | str | None = None) -> list[Path]:
    """Generate the stubs of every `leverage/v1/*.proto` under `proto_dir` into `out_dir`.

    Returns the files written. Raises RuntimeError when protoc fails, with its message.
    """
    try:
        from grpc_tools import protoc
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "grpcio-tools is needed to generate the stubs: "
            "pip install -r clients/python/requirements-dev.txt"
        ) from e

    proto_dir = Path(proto_dir or DEFAULT_PROTO_DIR).resolve()
    out_dir = Path(out_dir or DEFAULT_OUT_DIR).resolve()
    sources = sorted((proto_dir / PROTO_PACKAGE_DIR).glob("*.proto"))
    if not sources:
        raise RuntimeError(
            f"no .proto files in {proto_dir / PROTO_PACKAGE_DIR}: the stubs are generated from "
            "the repository's proto/ directory, so build the client from a checkout of it"
        )

    with tempfile.TemporaryDirectory(prefix="leverage-stubs-") as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{proto_dir}",
            f"-I{_protoc_include()}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *(str(s.relative_to(proto_dir)) for s in sources),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {proto_dir} (its message is above)")

        generated = sorted((Path(tmp) / PROTO_PACKAGE_DIR).iterdir())
        out_dir.mkdir(parents=True, exist_ok=True)
        # Remove the stubs of a previous run, so that a deleted .proto leaves no module behind.
        for old in out_dir.iterdir():
            if old.name.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")):
                old.unlink()
        written = []
        for src in generated:
            text = _IMPORT.sub(f"from {TARGET_PACKAGE} import ", src.read_text(encoding="utf-8"))
            dest = out_dir / src.name
            dest.write_text(text, encoding="utf-8")
            written.append(dest)
        init = out_dir / "__init__.py"
        init.write_text(_INIT, encoding="utf-8")
        written.append(init)
    cache = out_dir / "__pycache__"
    if cache.is_dir():
        shutil.rmtree(cache, ignore_errors=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proto-dir", type=Path, default=DEFAULT_PROTO_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    try:
        written = generate(args.proto_dir, args.out_dir)
    except RuntimeError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 1
    print(f"generated {len(written)} files in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
