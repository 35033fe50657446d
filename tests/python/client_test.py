"""confluent-kafka against brook: admin create/describe/delete, produce, group consume + commit."""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})

fs = admin.create_topics([NewTopic("py-topic", num_partitions=3, replication_factor=1)])
for t, f in fs.items():
    f.result(30)
md = admin.list_topics(timeout=30)
assert "py-topic" in md.topics, md.topics
assert len(md.topics["py-topic"].partitions) == 3
print("created + described py-topic")

p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
for i in range(300):
    p.produce("py-topic", key=f"k{i % 7}", value=f"v{i}")
assert p.flush(30) == 0
print("produced 300")

c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "py-group",
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
c.subscribe(["py-topic"])
seen = set()
deadline = time.time() + 60
while len(seen) < 300 and time.time() < deadline:
    m = c.poll(0.2)
    if m is None:
        continue
    assert m.error() is None, m.error()
    seen.add(m.value().decode())
assert len(seen) == 300, len(seen)
c.commit(asynchronous=False)
committed = c.committed([TopicPartition("py-topic", i) for i in range(3)], timeout=30)
assert sum(tp.offset for tp in committed) == 300, committed
c.close()
print("consumed + committed 300")

fs = admin.delete_topics(["py-topic"])
for t, f in fs.items():
    f.result(30)
deadline = time.time() + 30
while "py-topic" in admin.list_topics(timeout=30).topics:
    assert time.time() < deadline, "topic not deleted"
    time.sleep(0.1)
print("deleted py-topic")
print("ALL OK")
