"""The node's web console at `/ui/`: server-rendered pages over the use cases, for people rather than programs."""
