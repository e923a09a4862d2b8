"""Discovery through server reflection (grpcio-reflection's client speaks v1alpha)."""

from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVICES = {
    "leverage.v1.AssetService",
    "leverage.v1.DatasetService",
    "leverage.v1.DefenceFundingService",
    "leverage.v1.LegalRiskService",
    "leverage.v1.ScoringService",
    "grpc.health.v1.Health",
}


def test_reflection_lists_every_service(client):
    database = ProtoReflectionDescriptorDatabase(client.channel)
    assert SERVICES <= set(database.get_services())
    assert SERVICES <= set(client.services())


def test_reflection_describes_methods_and_messages(client):
    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(client.channel))
    scoring = pool.FindServiceByName("leverage.v1.ScoringService")
    sweep = scoring.FindMethodByName("SweepScenario")
    assert sweep.output_type.full_name == "leverage.v1.SweepScenarioResponse"
    assert sweep.server_streaming
    money = pool.FindMessageTypeByName("leverage.v1.Money")
    assert [f.name for f in money.fields] == ["currency_code", "units", "nanos"]
