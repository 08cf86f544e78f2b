import sys

from packvault_tools.cli import main

sys.exit(main())
