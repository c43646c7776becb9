"""Federation: partners, their keys, and receiving envelopes from them (sending is to come)."""
