"""End-to-end tests: the `pactnet` command and `pactnet node serve` as real processes on loopback."""
