"""Federation: partners, their keys, and (to come) the exchange of reports between nodes."""
