"""confluent-kafka's SchemaRegistryClient (and its Avro serializer) against Brook's registry.

Usage: schema_registry_test.py URL. Prints ALL OK when every check passed.
"""
import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

url = sys.argv[1]
client = SchemaRegistryClient({"url": url})

V1 = json.dumps({"type": "record", "name": "User", "namespace": "io.brook",
                 "fields": [{"name": "name", "type": "string"}]})
V2 = json.dumps({"type": "record", "name": "User", "namespace": "io.brook",
                 "fields": [{"name": "name", "type": "string"},
                            {"name": "age", "type": "int", "default": 0}]})
BAD = json.dumps({"type": "record", "name": "User", "namespace": "io.brook",
                  "fields": [{"name": "name", "type": "string"},
                             {"name": "email", "type": "string"}]})


def expect_error(status, code, f):
    try:
        f()
    except SchemaRegistryError as e:
        assert e.http_status_code == status, (e.http_status_code, e.error_code, e.error_message)
        assert e.error_code == code, (e.http_status_code, e.error_code, e.error_message)
        return e
    raise AssertionError("expected an error %d/%d" % (status, code))


id1 = client.register_schema("users-value", Schema(V1, "AVRO"))
assert id1 == client.register_schema("users-value", Schema(V1, "AVRO"))
id2 = client.register_schema("users-value", Schema(V2, "AVRO"))
assert id2 == id1 + 1, (id1, id2)
e = expect_error(409, 409, lambda: client.register_schema("users-value", Schema(BAD, "AVRO")))
assert "incompatible" in e.error_message, e.error_message
expect_error(422, 42201, lambda: client.register_schema("users-value", Schema("{\"type\":\"nope\"}", "AVRO")))

# Ids are global: the same schema under another subject keeps its id.
assert client.register_schema("other-value", Schema(V1, "AVRO")) == id1

assert json.loads(client.get_schema(id2).schema_str) == json.loads(V2)
latest = client.get_latest_version("users-value")
assert (latest.schema_id, latest.version, latest.subject) == (id2, 2, "users-value"), latest
v1 = client.get_version("users-value", 1)
assert v1.schema_id == id1
found = client.lookup_schema("users-value", Schema(V2, "AVRO"))
assert found.version == 2 and found.schema_id == id2
assert sorted(client.get_subjects()) == ["other-value", "users-value"]
assert client.get_versions("users-value") == [1, 2]
expect_error(404, 40401, lambda: client.get_versions("nobody"))
expect_error(404, 40402, lambda: client.get_version("users-value", 7))
expect_error(404, 40403, lambda: client.get_schema(999))

# Compatibility settings.
assert client.get_compatibility() == "BACKWARD"
assert client.set_compatibility("users-value", "NONE") == {"compatibility": "NONE"}
assert client.get_compatibility("users-value") == "NONE"
assert client.test_compatibility("users-value", Schema(BAD, "AVRO")) is True
id3 = client.register_schema("users-value", Schema(BAD, "AVRO"))
client.set_compatibility("users-value", "FULL")
assert client.test_compatibility("users-value", Schema(V1, "AVRO")) is False

# Deletion: soft, then permanent.
assert client.delete_version("users-value", 3) == 3
assert client.get_versions("users-value") == [1, 2]
expect_error(404, 40407, lambda: client.delete_version("users-value", 2, permanent=True))
assert client.delete_version("users-value", 3, permanent=True) == 3
assert client.delete_subject("other-value") == [1]
assert client.get_subjects() == ["users-value"]
expect_error(404, 40404, lambda: client.delete_subject("other-value"))
assert client.delete_subject("other-value", permanent=True) == [1]
expect_error(404, 40401, lambda: client.delete_subject("other-value", permanent=True))
uncached = SchemaRegistryClient({"url": url})
assert uncached.get_schema(id1).schema_str is not None  # still under users-value
expect_error(404, 40403, lambda: uncached.get_schema(id3))

# The Avro serializer registers and the deserializer resolves through the registry.
ser = AvroSerializer(client, V2)
ctx = SerializationContext("users", MessageField.VALUE)
data = ser({"name": "ada", "age": 36}, ctx)
assert data[0] == 0 and int.from_bytes(data[1:5], "big") == id2, data[:5]
de = AvroDeserializer(client)
assert de(data, ctx) == {"name": "ada", "age": 36}
fresh = SchemaRegistryClient({"url": url})
assert AvroDeserializer(fresh)(data, ctx) == {"name": "ada", "age": 36}

print("ALL OK")
