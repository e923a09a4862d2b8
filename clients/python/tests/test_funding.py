"""Defence funding: SAFE eligibility of third countries, as of a date."""

from leverage_client.v1 import funding_pb2


def test_uk_is_not_eligible_beyond_the_cap_on_2025_12_01(client):
    answer = client.check_eligibility("GB", as_of="2025-12-01", outside_component_share_pct=50)
    assert answer.eligibility == funding_pb2.ELIGIBILITY_NOT_ELIGIBLE
    assert not answer.eligible
    assert answer.role == funding_pb2.PARTICIPANT_ROLE_THIRD_COUNTRY
    assert answer.HasField("cap_pct") and answer.cap_pct < 50
    assert any("cap" in r.text for r in answer.reasons)
    # Within the cap, the same procurement is allowed.
    within = client.check_eligibility("GB", as_of="2025-12-01", outside_component_share_pct=20)
    assert within.eligible


def test_canada_is_eligible_once_its_agreement_is_concluded(client):
    # Signed and applied provisionally by 2026-02-14 (the end of negotiations on 2025-12-01
    # did not lift the cap).
    after = client.check_eligibility("CA", as_of="2026-02-15")
    assert after.eligibility == funding_pb2.ELIGIBILITY_ELIGIBLE
    assert after.eligible
    before = client.check_eligibility("CA", as_of="2026-02-13")
    assert before.eligibility == funding_pb2.ELIGIBILITY_ELIGIBLE_WITHIN_CAP
