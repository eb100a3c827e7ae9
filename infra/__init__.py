"""Local-run and deploy inputs, and the launcher of the local stack used by tests and `make run`."""
