"""Human log lines for the local stack: what started, where, and the ready line last. The functions keep their
Powertools logger (JSON on Lambda); locally its records are printed as one short line each."""

from __future__ import annotations

import logging
import sys

_EXTRAS = ("error_code", "status", "opening_id", "event_type", "outcome", "reason", "error", "function_name")


class HumanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{key}={getattr(record, key)}" for key in _EXTRAS if getattr(record, key, None))
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower():<7} {record.getMessage()}"
        if extras:
            line += f"  ({extras})"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(verbose: bool) -> None:
    """Plain lines on stderr; the functions' logger at INFO with --verbose, WARNING otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HumanFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("pynamodb", "botocore", "urllib3", "stripe"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    from packvault.core.log import logger

    class FunctionFormatter(LambdaPowertoolsFormatter):
        """Powertools' formatter (it keeps the appended keys) printing the human line instead of JSON."""

        def format(self, record: logging.LogRecord) -> str:
            return human.format(record)

    human = HumanFormatter()
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    for function_handler in logger._logger.handlers:
        function_handler.setFormatter(FunctionFormatter())
