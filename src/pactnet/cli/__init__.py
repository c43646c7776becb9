"""The `pactnet` command line."""
