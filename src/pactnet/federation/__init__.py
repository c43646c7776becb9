"""Federation: partners and their keys, envelopes sent and received, relay, acts, consents, compromises."""
