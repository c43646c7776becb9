"""The worlds bundled with pactnet."""
