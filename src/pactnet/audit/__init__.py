"""The tamper-evident audit log: a hash chain with signed checkpoints, and its verification."""
