"""pactnet: share classified intelligence only as the agreements in force allow, and prove it."""

from pactnet.errors import PactnetError, PolicyError, WorldError, WorldIssue

__all__ = ["PactnetError", "PolicyError", "WorldError", "WorldIssue"]
__version__ = "0.1.0"
