-- Joins: stream-stream (WITHIN), stream-table, table-table, N-way, every join kind.
SELECT * FROM orders o INNER JOIN shipments s WITHIN 1 HOURS ON o.id = s.order_id EMIT CHANGES;

SELECT * FROM orders o JOIN shipments s WITHIN 2 DAYS ON o.id = s.order_id EMIT CHANGES;

SELECT * FROM orders AS o LEFT JOIN shipments AS s WITHIN (1 HOUR, 2 HOURS) ON o.id = s.order_id EMIT CHANGES;

SELECT * FROM orders o LEFT OUTER JOIN shipments s WITHIN 10 MINUTES GRACE PERIOD 1 MINUTE ON o.id = s.order_id EMIT CHANGES;

SELECT * FROM orders o RIGHT JOIN shipments s WITHIN (0 SECONDS, 30 SECONDS) GRACE PERIOD 500 MILLISECONDS ON o.id = s.order_id EMIT CHANGES;

SELECT * FROM orders o RIGHT OUTER JOIN shipments s WITHIN 1 DAY ON o.id = s.order_id EMIT CHANGES;

SELECT * FROM orders o FULL OUTER JOIN shipments s WITHIN 30 SECONDS ON o.id = s.order_id EMIT CHANGES;

SELECT * FROM orders o FULL JOIN shipments s WITHIN 1 MILLISECOND ON o.id = s.order_id EMIT CHANGES;

SELECT pv.viewtime, pv.pageid, u.gender FROM pageviews pv LEFT JOIN users u ON pv.userid = u.userid EMIT CHANGES;

SELECT * FROM pageviews JOIN users ON pageviews.userid = users.userid EMIT CHANGES;

SELECT t1.id, t1.name, t2.value FROM left_table t1 JOIN right_table t2 ON t1.id = t2.id;

SELECT t1.id, t2.v FROM left_table t1 FULL OUTER JOIN right_table t2 ON t1.id = t2.id EMIT CHANGES;

SELECT * FROM left_table t1 LEFT JOIN right_table t2 ON t1.fk = t2.id EMIT CHANGES;

CREATE STREAM order_shipments AS
  SELECT o.id AS order_id, o.total, s.id AS shipment_id, s.warehouse
  FROM orders o
  INNER JOIN shipments s WITHIN 7 DAYS ON o.id = s.order_id
  EMIT CHANGES;

CREATE STREAM enriched_orders AS
  SELECT o.id, c.name, p.title, o.qty * p.price AS line_total
  FROM orders o
  LEFT JOIN customers c ON o.customer_id = c.id
  LEFT JOIN products p ON o.product_id = p.id
  EMIT CHANGES;

CREATE STREAM four_way AS
  SELECT s1.id, s2.a, s3.b, t.c
  FROM s1
  JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id
  JOIN s3 WITHIN (1 SECOND, 10 SECONDS) GRACE PERIOD 2 SECONDS ON s1.id = s3.id
  LEFT JOIN t ON s1.id = t.id;

CREATE TABLE table_join AS
  SELECT a.id, a.x, b.y FROM table_a a INNER JOIN table_b b ON a.id = b.id;

CREATE TABLE fk_join AS
  SELECT o.order_id, o.customer_id, c.name FROM orders_table o JOIN customers_table c ON o.customer_id = c.id;

SELECT * FROM a JOIN b WITHIN 1 HOUR ON a.id = b.id JOIN c WITHIN 1 HOUR ON a.id = c.id JOIN d WITHIN 1 HOUR ON a.id = d.id JOIN e WITHIN 1 HOUR ON a.id = e.id EMIT CHANGES;

SELECT * FROM clicks c JOIN impressions i WITHIN 1 MINUTE ON c.ad_id = i.ad_id AND c.user_id = i.user_id EMIT CHANGES;

SELECT * FROM s1 JOIN s2 WITHIN 1 HOUR ON ABS(s1.id) = ABS(s2.id) EMIT CHANGES;

SELECT s1.*, s2.* FROM s1 JOIN s2 WITHIN 1 HOUR ON s1.k = s2.k EMIT CHANGES;

SELECT * FROM `Left-Source` l JOIN `Right-Source` r WITHIN 10 SECONDS ON l.`Id` = r.`Id` EMIT CHANGES;

SELECT l.id, COUNT(*) FROM l JOIN r WITHIN 1 HOUR ON l.id = r.id WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY l.id EMIT CHANGES;

INSERT INTO joined_output SELECT a.id, b.v FROM a LEFT JOIN b WITHIN 2 MINUTES ON a.id = b.id;

SELECT * FROM orders o JOIN shipments s WITHIN (1 DAYS, 2 DAYS) ON o.id = s.order_id WHERE o.total > 100 EMIT CHANGES;

SELECT * FROM orders o JOIN shipments s WITHIN 3 HOURS ON o.id = s.order_id PARTITION BY s.warehouse EMIT CHANGES;

SELECT * FROM stream_a a LEFT JOIN table_b b ON a.k = b.k WHERE b.v IS NULL EMIT CHANGES;

SELECT * FROM s JOIN t ON s.id = t.id EMIT CHANGES LIMIT 5;

SELECT * FROM s1 AS x JOIN s2 AS y WITHIN 60 SECONDS ON x.id = y.id EMIT CHANGES;
