"""``python -m pgflex.emulator serve-json SETTINGS``: the process ``daemon.start`` launches.

It takes its settings as JSON so the emulator needs no command-line parser of its own; people
use ``pgflex emulator``.
"""

from __future__ import annotations

import logging
import sys

from .daemon import settings_from_json
from .ports import EXIT_PORT_IN_USE, EXIT_REFUSED, PortInUse
from .statedir import StateDirRefused


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "serve-json":
        print(
            "usage: python -m pgflex.emulator serve-json SETTINGS_JSON (people use: pgflex emulator)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .server import serve  # after the usage check: the server's imports take most of a second

    try:
        serve(settings_from_json(argv[1]))
    except PortInUse as failure:
        print(f"pgflex emulator: {failure}", file=sys.stderr)
        return EXIT_PORT_IN_USE
    except StateDirRefused as refused:
        print(f"pgflex emulator: {refused}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
