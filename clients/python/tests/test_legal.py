"""Legal risk: the model ranks confiscation far above spending the windfall profits."""

from leverage_client.v1 import legal_pb2


def test_confiscation_is_riskier_than_windfall_profits(client):
    confiscation = client.assess_legal_risk("confiscation", ["BE", "FR"], as_of="2025-12-31")
    windfall = client.assess_legal_risk("windfall_profits", ["BE", "FR"], as_of="2025-12-31")
    assert confiscation.action == legal_pb2.ASSET_ACTION_CONFISCATION
    assert confiscation.overall_risk > windfall.overall_risk
    assert confiscation.overall_level > windfall.overall_level
    for jurisdiction in ("BE", "FR"):
        c = next(j for j in confiscation.jurisdictions if j.jurisdiction == jurisdiction)
        w = next(j for j in windfall.jurisdictions if j.jurisdiction == jurisdiction)
        assert 0.0 <= w.risk < c.risk <= 1.0
        assert c.drivers, "every risk is explained by its drivers"
        assert all(d.title for d in c.drivers)


def test_the_2026_package_is_named_like_any_other_action(client):
    package = client.assess_legal_risk("package_2026", ["BE"], as_of="2026-06-30")
    assert package.action == legal_pb2.ASSET_ACTION_PACKAGE_2026
    (belgium,) = package.jurisdictions
    assert 0.0 < belgium.risk < 1.0
    assert belgium.drivers, "the package's risk is explained like any other"
