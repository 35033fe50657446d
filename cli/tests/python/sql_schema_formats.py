"""confluent-kafka's Schema Registry serializers against `brook server`, around Brook SQL.

`produce BOOTSTRAP REGISTRY`: registers an Order schema and produces two orders in each of
Avro (topic py_avro), JSON Schema (py_json) and Protobuf (py_proto).

`consume BOOTSTRAP REGISTRY`: reads what Brook's CSAS wrote (BROOK_AVRO, BROOK_JSON,
BROOK_PROTO) with Python's deserializers, prints one JSON line per record, then `ALL OK`.
"""

import json
import sys

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

AVRO = json.dumps({
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
            {"name": "city", "type": "string"}]}},
    ],
})

JSON_SCHEMA = json.dumps({
    "type": "object", "title": "Order",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "amount": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
    "required": ["id", "name"],
})

F = descriptor_pb2.FieldDescriptorProto


def message_class(package, name, fields, nested=None):
    """A generated message class from field specs (name, number, type, label, type_name)."""
    fdp = descriptor_pb2.FileDescriptorProto(name=f"{package or 'brook'}_{name}.proto", syntax="proto3")
    if package:
        fdp.package = package
    msg = fdp.message_type.add(name=name)
    for (fname, number, ftype, label, type_name) in fields:
        f = msg.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
    for (nname, nfields) in (nested or []):
        n = msg.nested_type.add(name=nname)
        for (fname, number, ftype, label, type_name) in nfields:
            n.field.add(name=fname, number=number, type=ftype, label=label)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    full = f"{package}.{name}" if package else name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full))


OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
Order = message_class("shop", "Order", [
    ("id", 1, F.TYPE_INT64, OPT, None),
    ("name", 2, F.TYPE_STRING, OPT, None),
    ("amount", 3, F.TYPE_DOUBLE, OPT, None),
    ("tags", 4, F.TYPE_STRING, REP, None),
    ("address", 5, F.TYPE_MESSAGE, OPT, ".shop.Order.Address"),
], nested=[("Address", [("city", 1, F.TYPE_STRING, OPT, None)])])

# What Brook's CSAS registers: ksqlDB's ConnectDefault1, fields in SELECT order.
BrookOrder = message_class(None, "ConnectDefault1", [
    ("ID", 1, F.TYPE_INT64, OPT, None),
    ("NAME", 2, F.TYPE_STRING, OPT, None),
    ("DOUBLED", 3, F.TYPE_DOUBLE, OPT, None),
    ("TAGS", 4, F.TYPE_STRING, REP, None),
    ("CITY", 5, F.TYPE_STRING, OPT, None),
])

ORDERS = [
    {"id": 1, "name": "ann", "amount": 2.5, "tags": ["a", "b"], "address": {"city": "Oslo"}},
    {"id": 2, "name": "bob", "amount": 10.25, "tags": [], "address": {"city": "Bergen"}},
]


def produce(bootstrap, registry):
    sr = SchemaRegistryClient({"url": registry})
    serializers = {
        "py_avro": AvroSerializer(sr, AVRO),
        "py_json": JSONSerializer(JSON_SCHEMA, sr),
        "py_proto": ProtobufSerializer(Order, sr, {"use.deprecated.format": False}),
    }
    for topic, serializer in serializers.items():
        producer = SerializingProducer({
            "bootstrap.servers": bootstrap,
            "key.serializer": StringSerializer("utf_8"),
            "value.serializer": serializer,
        })
        for order in ORDERS:
            value = json_format.ParseDict(order, Order()) if topic == "py_proto" else order
            producer.produce(topic, key=str(order["id"]), value=value)
        producer.flush(30)
        print(f"produced {topic}: {sr.get_latest_version(topic + '-value').schema.schema_type}")
    print("ALL OK")


def consume(bootstrap, registry):
    sr = SchemaRegistryClient({"url": registry})
    deserializers = {
        "BROOK_AVRO": AvroDeserializer(sr),
        "BROOK_JSON": JSONDeserializer(None, schema_registry_client=sr),
        "BROOK_PROTO": ProtobufDeserializer(BrookOrder, {"use.deprecated.format": False}),
    }
    for topic, deserializer in deserializers.items():
        consumer = DeserializingConsumer({
            "bootstrap.servers": bootstrap,
            "group.id": "py-" + topic,
            "auto.offset.reset": "earliest",
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": deserializer,
        })
        consumer.subscribe([topic])
        seen = []
        for _ in range(120):
            msg = consumer.poll(0.5)
            if msg is None:
                if len(seen) >= len(ORDERS):
                    break
                continue
            if msg.error():
                raise RuntimeError(msg.error())
            value = msg.value()
            if topic == "BROOK_PROTO":
                value = json_format.MessageToDict(value, preserving_proto_field_name=True)
            seen.append(value)
        consumer.close()
        for value in sorted(seen, key=lambda v: int(v["ID"])):
            print(topic, json.dumps(value, sort_keys=True))
        assert len(seen) == len(ORDERS), (topic, seen)
    print("ALL OK")


if __name__ == "__main__":
    mode, bootstrap, registry = sys.argv[1:4]
    {"produce": produce, "consume": consume}[mode](bootstrap, registry)
