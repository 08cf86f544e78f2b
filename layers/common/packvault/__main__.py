import sys

from packvault.cli import main

sys.exit(main())
