import faulthandler
import signal
import sys

from local.stack import main

faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: every thread's stack, when the local stack seems stuck
sys.exit(main())
