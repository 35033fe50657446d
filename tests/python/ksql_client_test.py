"""ksql-python-ng (PyPI `ksql-python-ng`, module `ksql`) against brook's ksqlDB REST API with basic
authentication: /info, /ksql (DDL, INSERT, errors), /query-stream over HTTP/2 (a push query with
LIMIT, a pull query)."""
import json
import sys

from ksql import KSQLAPI
from ksql.errors import KSQLError

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]


def lines(chunks):
    """The client yields HTTP/2 data chunks; a chunk may hold several lines."""
    return [json.loads(l) for l in "".join(chunks).splitlines() if l.strip()]


try:
    KSQLAPI(url, api_key=user, secret="wrong")
    raise AssertionError("a wrong password was accepted")
except ValueError as e:
    assert "401" in str(e), e
print("wrong password refused")

client = KSQLAPI(url, api_key=user, secret=password)  # checks the version on /info
created = client.ksql(
    "CREATE STREAM PY (ID INT KEY, NAME STRING) WITH (KAFKA_TOPIC='py', PARTITIONS=1, VALUE_FORMAT='JSON');"
)
assert created[0]["commandStatus"]["status"] == "SUCCESS", created
streams = client.ksql("SHOW STREAMS;")[0]["streams"]
assert "PY" in [s["name"] for s in streams], streams
print("created PY")

client.ksql("INSERT INTO PY (ID, NAME) VALUES (1, 'one');")
client.ksql("INSERT INTO PY (ID, NAME) VALUES (2, 'two');")
client.ksql("INSERT INTO PY (ID, NAME) VALUES (3, 'three');")
print("inserted 3 rows")

push = lines(
    client.query(
        "SELECT ID, NAME FROM PY EMIT CHANGES LIMIT 2;",
        use_http2=True,
        stream_properties={"ksql.streams.auto.offset.reset": "earliest"},
    )
)
header, rows = push[0], push[1:]
assert header["columnNames"] == ["ID", "NAME"], header
assert header["queryId"].startswith("transient_PY_"), header
assert rows == [[1, "one"], [2, "two"]], rows
print("push query with LIMIT 2:", rows)

pull = lines(client.query("SELECT ID, NAME FROM PY WHERE ID >= 2;", use_http2=True))
assert pull[0]["columnTypes"] == ["INTEGER", "STRING"], pull[0]
assert sorted(pull[1:]) == [[2, "two"], [3, "three"]], pull
print("pull query:", pull[1:])

try:
    client.ksql("CREATE STREM X;")
    raise AssertionError("a syntax error was accepted")
except KSQLError as e:
    assert e.error_code == 40001, (e.error_code, e.msg)
print("syntax error reported as 40001")
print("ALL OK")
