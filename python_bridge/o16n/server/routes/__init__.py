"""The REST API, one module per area of the R Server 9.1 API."""
