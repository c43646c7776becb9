"""What the TAXII tests share: STIX objects marked for pactnet, built with `stix2`, and a client of a served node."""

from __future__ import annotations

import json
import uuid
from typing import Any

import stix2
from taxii2client.v21 import ApiRoot, Collection, Server

from pactnet.stix.marking import PACTNET_MARKING_EXTENSION_ID

TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
MEDIA = "application/taxii+json;version=2.1"


def pactnet_marking(level: str, originator: str = "ROK", **handling: Any) -> dict[str, Any]:
    """A marking-definition carrying the pactnet extension, as a client sends it (its id is the client's)."""
    extension = {"extension_type": "property-extension", "originator": originator, "level": level} | handling
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid4()}",
        "created": "2019-07-01T00:00:00.000Z",
        "name": f"pactnet {originator} {level}",
        "extensions": {PACTNET_MARKING_EXTENSION_ID: extension},
    }


def indicator(name: str, *markings: str, **fields: Any) -> dict[str, Any]:
    """An indicator built and serialised by `stix2`, referencing the given marking-definitions."""
    built = stix2.Indicator(
        name=name,
        pattern=f"[domain-name:value = '{name.lower().replace(' ', '-')}.example']",
        pattern_type="stix",
        valid_from="2019-07-01T00:00:00Z",
        object_marking_refs=list(markings),
        allow_custom=True,
        **({"created": "2019-07-01T00:00:00.000Z", "modified": "2019-07-01T00:00:00.000Z"} | fields),
    )
    result: dict[str, Any] = json.loads(built.serialize())
    return result


def envelope(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"objects": list(objects)}


class Taxii:
    """taxii2-client's view of one node's TAXII server, as one user (Basic: user name and API token)."""

    def __init__(self, base_url: str, user: str, token: str) -> None:
        self.server = Server(f"{base_url}/taxii2/", user=user, password=token)
        self.user, self.token = user, token

    @property
    def root(self) -> ApiRoot:
        roots = self.server.api_roots
        assert len(roots) == 1
        root: ApiRoot = roots[0]
        return root

    def collection(self, title: str) -> Collection:
        """A collection by title, as OpenCTI's connector picks one."""
        for found in self.root.collections:
            if found.title == title:
                return found
        raise AssertionError(f"no collection titled {title!r}")
