"""The structured JSON logger every function shares (Powertools Logger; service name from
POWERTOOLS_SERVICE_NAME). Kept apart from the HTTP adapter so that non-HTTP functions do not import it."""

from aws_lambda_powertools import Logger

logger = Logger()
