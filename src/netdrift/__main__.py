"""``python -m netdrift``: the same as the ``netdrift`` command."""

from netdrift.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
