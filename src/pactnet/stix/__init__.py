"""STIX 2.1 as pactnet speaks it: the pactnet marking, TLP 2.0 and ISA/ACS 3.0 markings, served re-marked.

Pure: the standard library and the policy core only; no HTTP, no SQL. The TAXII server (taxii/) and the use
cases (services/) call it. Its one error, `StixMarkingError`, names the object's id and what is wrong.
"""

from pactnet.stix.extension import PACTNET_MARKING_EXTENSION_ID, extension_definition, marking_schema, pactnet_identity
from pactnet.stix.isa import ISA_EXTENSION_ID, IsaMarking, SharingRule
from pactnet.stix.marking import (
    PactnetMarking,
    StixMarkingError,
    default_marking,
    held_marking_definition,
    is_pactnet_definition,
    marking_of,
    narrowed_recipients,
    party_identity,
    party_identity_id,
    restamp,
)
from pactnet.stix.tlp import TLP_EXTENSION_ID, TLP_LEVELS, Tlp, tlp_marking_definition, tlp_of

__all__ = [
    "ISA_EXTENSION_ID",
    "PACTNET_MARKING_EXTENSION_ID",
    "TLP_EXTENSION_ID",
    "TLP_LEVELS",
    "IsaMarking",
    "PactnetMarking",
    "SharingRule",
    "StixMarkingError",
    "Tlp",
    "default_marking",
    "extension_definition",
    "held_marking_definition",
    "is_pactnet_definition",
    "marking_of",
    "marking_schema",
    "narrowed_recipients",
    "pactnet_identity",
    "party_identity",
    "party_identity_id",
    "restamp",
    "tlp_marking_definition",
    "tlp_of",
]
