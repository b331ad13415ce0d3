"""Print the catalogue summary: `python -m rig.core.requirements [--list] [--file PATH]`."""

from __future__ import annotations

import argparse
import sys

from rig.core.requirements.loader import CatalogueError, load_catalogue
from rig.core.requirements.summary import area_table, requirement_list


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rig.core.requirements", description=__doc__)
    parser.add_argument("--file", help="a catalogue file other than the shipped one")
    parser.add_argument("--list", action="store_true", help="also list every requirement")
    args = parser.parse_args(argv)
    try:
        catalogue = load_catalogue(args.file)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(area_table(catalogue))
    if args.list:
        print()
        print(requirement_list(catalogue))
    return 0


if __name__ == "__main__":
    sys.exit(main())
