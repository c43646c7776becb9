"""STIX 2.1 as pactnet reads and writes it: the pactnet marking, TLP 2.0 and ISA markings (pure, no I/O)."""
