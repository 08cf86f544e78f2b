"""The whole stack on one machine: DynamoDB Local, the template's routes served over HTTP by the real
handlers (API Gateway HTTP API payload 2.0 events), and the template's schedules."""
