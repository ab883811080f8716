"""The ``fdl`` command's launcher: it imports fdl_keras in light mode, so ``fdl list``,
``fdl --help`` and argument errors answer without loading TensorFlow (see fdl_keras.cli)."""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ["FDL_LIGHT_IMPORT"] = "1"
    try:
        from fdl_keras.cli import main as run
    finally:
        # Child processes (and code the command runs) import the package fully again.
        os.environ.pop("FDL_LIGHT_IMPORT", None)
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
