"""Property-based fuzzing of the HTTP API with Schemathesis (`make test` bounded, `make fuzz` long)."""
