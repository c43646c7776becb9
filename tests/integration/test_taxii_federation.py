"""Two nodes: an object posted to ROK's TAXII server reaches JPN's collection of what ROK delivered, re-marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.integration.taxii_support import Taxii, envelope, indicator, pactnet_marking
from tests.integration.test_federation import AFTER_THE_END, BOTH, JULY, backend, federation

if TYPE_CHECKING:
    from tests.integration.test_federation import Make, Site

__all__ = ["backend", "federation"]  # the fixtures of test_federation, used here too


def taxii(site: Site) -> Taxii:
    return Taxii(site.member.url, "officer", site.member.token)


def post_one(site: Site, name: str) -> dict[str, str]:
    marking = pactnet_marking("군사II급비밀", categories=["dprk-missile"])
    posted = indicator(name, marking["id"])
    status = taxii(site).collection("ROK publish").add_objects(envelope(marking, posted), wait_for_completion=False)
    assert status.status == "complete"
    assert status.failure_count == 0, status.failures
    return posted


@BOTH
def test_an_object_posted_at_rok_appears_at_jpn_in_its_collection_from_rok_marked_as_jpn_holds_it(
    federation: Make,
) -> None:
    fed = federation("gsomia-2019", JULY)
    posted = post_one(fed["ROK"], "Launch from Wonsan")
    fed.dispatch()
    from_rok = taxii(fed["JPN"]).collection("from ROK")
    [held] = from_rok.get_objects()["objects"]
    assert (held["id"], held["name"], held["pattern"]) == (posted["id"], posted["name"], posted["pattern"])
    marking = from_rok.get_object(held["object_marking_refs"][-1])["objects"][0]
    extension = next(iter(marking["extensions"].values()))
    assert (extension["originator"], extension["level"], extension["categories"]) == ("ROK", "極秘", ["dprk-missile"])
    assert "held by JPN" in marking["name"]
    assert taxii(fed["JPN"]).collection("JPN own").get_objects() == {"more": False}
    assert [obj["id"] for obj in taxii(fed["JPN"]).collection("JPN all").get_objects()["objects"]] == [posted["id"]]


def test_nothing_reaches_jpn_when_no_agreement_with_rok_is_in_force(federation: Make) -> None:
    fed = federation("gsomia-2019-no-suspension", AFTER_THE_END)
    posted = post_one(fed["ROK"], "Launch from Wonsan")
    fed.dispatch()
    jpn = taxii(fed["JPN"])
    assert jpn.collection("from ROK").get_objects() == {"more": False}
    assert jpn.collection("JPN all").get_manifest() == {"more": False}
    assert [obj["id"] for obj in taxii(fed["USA"]).collection("from ROK").get_objects()["objects"]] == [posted["id"]]
