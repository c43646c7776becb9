"""pactnet's tests."""
