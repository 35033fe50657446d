"""Prints the bytes Confluent's Python serializers write, as JSON {case: hex}.

Used by brook-schema's tests/it/confluent_bytes.rs. Argument: a file with the serialized
FileDescriptorSet of the Protobuf case (compiled by the Rust side with protox).
"""
import datetime
import decimal
import json
import sys

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

ORDER = """{"type":"record","name":"Order","namespace":"io.shop","fields":[
    {"name":"id","type":"long"},{"name":"item","type":"string"}]}"""

ALL_TYPES = """{"type":"record","name":"AllTypes","namespace":"io.brook","fields":[
    {"name":"id","type":"long"},
    {"name":"name","type":["null","string"],"default":null},
    {"name":"score","type":"double"},
    {"name":"ok","type":"boolean"},
    {"name":"data","type":"bytes"},
    {"name":"tags","type":{"type":"array","items":"string"}},
    {"name":"attrs","type":{"type":"map","values":"long"}},
    {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}},
    {"name":"day","type":{"type":"int","logicalType":"date"}},
    {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"small","type":"int"},
    {"name":"ratio","type":"float"}]}"""

PAYMENT = """{"title":"Payment","type":"object","properties":{
    "id":{"type":"string"},"amount":{"type":"number"}},"required":["id","amount"]}"""


def fresh():
    conf = {"url": "mock://brook"}
    # confluent-kafka 2.x: new_client picks the mock for mock:// URLs; older ones did it in the
    # constructor.
    new_client = getattr(SchemaRegistryClient, "new_client", None)
    return new_client(conf) if new_client else SchemaRegistryClient(conf)


def avro(schema, value, topic):
    serializer = AvroSerializer(fresh(), schema)
    return serializer(value, SerializationContext(topic, MessageField.VALUE))


def main():
    out = {}
    out["avro_order"] = avro(ORDER, {"id": 7, "item": "pen"}, "orders").hex()
    out["avro_all_types"] = avro(
        ALL_TYPES,
        {
            "id": -3,
            "name": "x",
            "score": 1.5,
            "ok": True,
            "data": b"\x01\x02",
            "tags": ["a", "b"],
            "attrs": {"k": 3},
            "amount": decimal.Decimal("12.34"),
            "day": datetime.date(1970, 1, 1) + datetime.timedelta(days=19000),
            "ts": datetime.datetime.fromtimestamp(1700000000, tz=datetime.timezone.utc),
            "small": 300,
            "ratio": 0.25,
        },
        "all",
    ).hex()
    json_serializer = JSONSerializer(PAYMENT, fresh())
    out["json_payment"] = json_serializer(
        {"id": "p1", "amount": 2.5}, SerializationContext("pay", MessageField.VALUE)
    ).hex()

    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

    with open(sys.argv[1], "rb") as f:
        files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    line_type = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order.Line"))
    order_type = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))
    conf = {"use.deprecated.format": False}
    for name, msg_type, value in [
        ("protobuf_order", order_type, order_type(id=5, lines=[line_type(item="pen", qty=2)])),
        ("protobuf_line", line_type, line_type(item="ink", qty=-1)),
    ]:
        try:
            serializer = ProtobufSerializer(msg_type, fresh(), conf)
        except (ValueError, TypeError, KeyError):
            serializer = ProtobufSerializer(msg_type, fresh())
        out[name] = serializer(value, SerializationContext("orders", MessageField.VALUE)).hex()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
