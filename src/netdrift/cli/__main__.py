import sys

from netdrift.cli.main import main

sys.exit(main())
