"""The STIX 2.1 objects the TAXII benchmark posts: made with `stix2`, deterministic (same seed, same bytes).

Realistic in shape: an identity that publishes, indicators (with patterns), malware and `indicates`
relationships between them, every object marked with TLP 2.0 and with a pactnet marking (a marking-definition
carrying the pactnet extension, sent in every envelope whose objects reference it, as the TAXII server asks).
Ids come from a seeded random generator and every timestamp from the object's rank, so two runs (and the two
servers) see the same objects.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stix2

# Fixed by the STIX mapping (src/pactnet/stix/extension.py, docs/stix.md): the pactnet marking extension and the
# TLP 2.0 marking-definition ids. Copied, since the benchmark runs from its own environment without pactnet;
# tests/unit/test_bench_corpus.py checks the copy.
PACTNET_MARKING_EXTENSION_ID = "extension-definition--5ba9e016-7173-407a-96bf-f6b9b7fcd71c"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"

# The pactnet markings the objects carry: (level in ROK's scheme, categories, precedence).
MARKINGS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("군사III급비밀", ("dprk-missile",), "routine"),
    ("군사III급비밀", ("dprk-nuclear",), "routine"),
    ("군사II급비밀", ("dprk-missile", "dprk-nuclear"), "priority"),
    ("군사II급비밀", ("pla-navy",), "routine"),
)
ORIGINATOR = "ROK"
START = datetime(2025, 3, 1, tzinfo=UTC)
MALWARE_FAMILIES = ("Lazarus loader", "AppleJeus", "BLINDINGCAN", "HOPLIGHT", "ELECTRICFISH", "Dtrack")


@dataclass(frozen=True, slots=True)
class Corpus:
    """Objects to post, and the marking-definitions each one needs sent beside it."""

    objects: list[dict[str, Any]]  # the data objects (counted in every rate)
    markings: dict[str, dict[str, Any]]  # marking-definition id -> the definition

    def envelopes(self, size: int) -> list[dict[str, Any]]:
        """Envelopes of `size` data objects each, plus the pactnet marking-definitions they reference."""
        out = []
        for start in range(0, len(self.objects), size):
            chunk = self.objects[start : start + size]
            refs = sorted({ref for obj in chunk for ref in obj["object_marking_refs"] if ref in self.markings})
            out.append({"objects": [self.markings[ref] for ref in refs] + chunk})
        return out


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _marking_definitions(rng: random.Random) -> dict[str, dict[str, Any]]:
    out = {}
    for level, categories, precedence in MARKINGS:
        extension = {
            "extension_type": "property-extension",
            "originator": ORIGINATOR,
            "level": level,
            "categories": list(categories),
            "compartments": [],
            "precedence": precedence,
        }
        definition = stix2.v21.MarkingDefinition(
            id=f"marking-definition--{_uuid(rng)}",
            created=START,
            name=f"pactnet: {ORIGINATOR} {level} {', '.join(categories)}",
            extensions={PACTNET_MARKING_EXTENSION_ID: extension},
            allow_custom=True,
        )
        out[definition.id] = json.loads(definition.serialize())
    return out


def _indicator(rng: random.Random, at: datetime, common: dict[str, Any]) -> stix2.v21.Indicator:
    address = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if rng.random() < 0.5:  # noqa: PLR2004
        pattern, name = f"[ipv4-addr:value = '{address}']", f"C2 server {address}"
    else:
        digest = f"{rng.getrandbits(256):064x}"
        pattern, name = f"[file:hashes.'SHA-256' = '{digest}']", f"dropper {digest[:12]}"
    return stix2.v21.Indicator(
        id=f"indicator--{_uuid(rng)}",
        name=name,
        pattern=pattern,
        pattern_type="stix",
        valid_from=at,
        indicator_types=["malicious-activity"],
        **common,
    )


def _common(rng: random.Random, rank: int, identity: str, markings: list[str]) -> dict[str, Any]:
    at = START + timedelta(seconds=37 * rank)
    tlp = TLP_AMBER if rank % 5 == 0 else TLP_GREEN
    return {
        "created": at,
        "modified": at,
        "created_by_ref": identity,
        "object_marking_refs": [tlp, rng.choice(markings)],
    }


def generate(count: int, seed: int = 2019) -> Corpus:
    """`count` data objects: one identity, then indicators, malware and relationships between them."""
    rng = random.Random(seed)
    markings = _marking_definitions(rng)
    marking_ids = sorted(markings)
    identity = stix2.v21.Identity(
        id=f"identity--{_uuid(rng)}",
        name="ROK Defense Intelligence Command",
        identity_class="organization",
        created=START,
        modified=START,
        object_marking_refs=[TLP_GREEN, marking_ids[0]],
    )
    built: list[Any] = [identity]
    indicators: list[str] = []
    malware: list[str] = []
    for rank in range(1, count):
        common = _common(rng, rank, identity.id, marking_ids)
        roll = rng.random()
        if malware and indicators and roll < 0.4:  # noqa: PLR2004
            built.append(
                stix2.v21.Relationship(
                    id=f"relationship--{_uuid(rng)}",
                    relationship_type="indicates",
                    source_ref=rng.choice(indicators[-500:]),
                    target_ref=rng.choice(malware[-100:]),
                    **common,
                )
            )
        elif roll < 0.55 or not malware:  # noqa: PLR2004
            family = rng.choice(MALWARE_FAMILIES)
            built.append(
                stix2.v21.Malware(
                    id=f"malware--{_uuid(rng)}",
                    name=f"{family} variant {rank}",
                    is_family=False,
                    malware_types=["remote-access-trojan" if rank % 2 else "dropper"],
                    **common,
                )
            )
            malware.append(built[-1].id)
        else:
            built.append(_indicator(rng, common["created"], common))
            indicators.append(built[-1].id)
    return Corpus([json.loads(obj.serialize()) for obj in built], markings)
