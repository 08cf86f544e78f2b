"""One local Lambda container: a process of its own that loads one function's handler (its own cold start, its own
module state, its own copy of every library) and serves one invocation at a time over a pipe, as a Lambda
execution environment does. Run by local.lambdas.ProcessContainer; `python -m local.container` is its entry."""

from __future__ import annotations

import argparse
import os
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path


def serve(connection: Connection, function: dict, verbose: bool) -> None:
    """Invocations until the stack closes the pipe: ("ok", result) or ("error", the traceback's text)."""
    from local import logs
    from local.lambdas import LambdaContext, load_handler
    from local.template import FunctionSpec

    logs.configure(verbose)
    spec = FunctionSpec(function["logical_id"], Path(function["code_dir"]), function["module"], function["handler"],
                        function["timeout_seconds"])
    handler = None
    while True:
        try:
            event = connection.recv()
        except (EOFError, OSError):
            return
        try:
            handler = handler or load_handler(spec)
            answer = ("ok", handler(event, LambdaContext(spec.logical_id, spec.timeout_seconds)))
        except Exception:
            answer = ("error", traceback.format_exc())
        connection.send(answer)


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description="one local Lambda container (started by the local stack)")
    parser.add_argument("--fd", type=int, required=True, help="the pipe to the stack")
    parser.add_argument("--function", required=True, help="the function's spec as JSON")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    os.set_inheritable(args.fd, False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the stack, which closes the pipe
    serve(Connection(args.fd), json.loads(args.function), args.verbose)


if __name__ == "__main__":
    main()
