-- CREATE STREAM|TABLE ... AS SELECT (persistent queries), with and without WITH properties.
CREATE STREAM pageviews_enriched AS
  SELECT users.userid AS userid, pageid, regionid, gender
  FROM pageviews
  LEFT JOIN users ON pageviews.userid = users.userid
  EMIT CHANGES;

CREATE STREAM pageviews_female WITH (KAFKA_TOPIC='pageviews_female', VALUE_FORMAT='AVRO') AS
  SELECT * FROM pageviews_enriched WHERE gender = 'FEMALE';

CREATE STREAM pageviews_female_like_89 WITH (kafka_topic='pageviews_enriched_r8_r9', value_format='DELIMITED') AS
  SELECT * FROM pageviews_female WHERE regionid LIKE '%_8' OR regionid LIKE '%_9';

CREATE TABLE pageviews_regions WITH (KEY_FORMAT='JSON') AS
  SELECT gender, regionid, COUNT(*) AS numusers
  FROM pageviews_enriched
  WINDOW TUMBLING (SIZE 30 SECONDS)
  GROUP BY gender, regionid
  HAVING COUNT(*) > 1
  EMIT CHANGES;

CREATE TABLE currentLocation AS
  SELECT profileId, LATEST_BY_OFFSET(latitude) AS la, LATEST_BY_OFFSET(longitude) AS lo
  FROM riderlocations
  GROUP BY profileId
  EMIT CHANGES;

CREATE TABLE ridersNearMountainView AS
  SELECT ROUND(GEO_DISTANCE(la, lo, 37.4133, -122.1162), -1) AS distanceInMiles,
         COLLECT_LIST(profileId) AS riders,
         COUNT(*) AS count
  FROM currentLocation
  GROUP BY ROUND(GEO_DISTANCE(la, lo, 37.4133, -122.1162), -1);

CREATE OR REPLACE STREAM filtered AS SELECT id, name FROM source_stream WHERE id > 10 EMIT CHANGES;

CREATE STREAM IF NOT EXISTS rekeyed AS SELECT * FROM orders PARTITION BY item->name EMIT CHANGES;

CREATE STREAM rekeyed_multi WITH (partitions=12) AS SELECT * FROM orders PARTITION BY order_id, quantity;

CREATE STREAM no_key AS SELECT * FROM orders PARTITION BY NULL;

CREATE TABLE hourly_counts WITH (kafka_topic='hourly', partitions=3, replicas=1) AS
  SELECT item->name AS item_name, COUNT(*) AS cnt, SUM(quantity) AS total,
         WINDOWSTART AS window_start, WINDOWEND AS window_end
  FROM orders
  WINDOW TUMBLING (SIZE 1 HOUR, RETENTION 7 DAYS, GRACE PERIOD 10 MINUTES)
  GROUP BY item->name
  EMIT CHANGES;

CREATE TABLE hopping_avg AS
  SELECT sensor, AVG(reading) AS avg_reading
  FROM readings
  WINDOW HOPPING (SIZE 5 MINUTES, ADVANCE BY 1 MINUTE)
  GROUP BY sensor;

CREATE TABLE sessions AS
  SELECT userid, COUNT(*) AS clicks, MIN(ROWTIME) AS first_click, MAX(ROWTIME) AS last_click
  FROM clickstream
  WINDOW SESSION (60 SECONDS)
  GROUP BY userid
  EMIT CHANGES;

CREATE TABLE final_counts AS
  SELECT k, COUNT(*) AS c FROM s WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT FINAL;

CREATE STREAM exploded AS SELECT id, EXPLODE(tags) AS tag FROM orders EMIT CHANGES;

CREATE STREAM struct_fields AS SELECT order_id, item->* FROM orders;

CREATE STREAM casted AS SELECT CAST(order_id AS STRING) AS id_str, CAST(quantity AS DOUBLE) AS q, CAST(item->price AS DECIMAL(12, 4)) AS p FROM orders;

CREATE STREAM with_value_format WITH (VALUE_FORMAT='JSON_SR', KEY_FORMAT='AVRO', VALUE_AVRO_SCHEMA_FULL_NAME='io.brook.Value') AS SELECT * FROM orders;

CREATE STREAM timestamped WITH (TIMESTAMP='event_time', TIMESTAMP_FORMAT='yyyy-MM-dd HH:mm:ss') AS
  SELECT id, PARSE_TIMESTAMP(ts_str, 'yyyy-MM-dd HH:mm:ss') AS event_time FROM raw_events;

CREATE TABLE agg_with_having AS
  SELECT region, SUM(amount) AS total
  FROM sales
  WHERE amount > 0 AND region IS NOT NULL
  GROUP BY region
  HAVING SUM(amount) >= 1000 AND COUNT(*) > 5;

CREATE TABLE multi_group AS SELECT a, b, c, COUNT(*) FROM s GROUP BY a, b, c;

CREATE TABLE paren_group AS SELECT a, b, COUNT(*) FROM s GROUP BY (a, b);

CREATE TABLE expr_group AS SELECT UCASE(name) AS uname, COUNT(*) FROM s GROUP BY UCASE(name);

CREATE STREAM projected AS SELECT ROWTIME, ROWPARTITION, ROWOFFSET, id FROM s;

CREATE STREAM aliased_no_as AS SELECT id ident, name n FROM s;

CREATE STREAM lambdas AS
  SELECT id,
         TRANSFORM(tags, x => UCASE(x)) AS upper_tags,
         FILTER(scores, s => s > 50) AS passing,
         REDUCE(scores, 0, (acc, s) => acc + s) AS total,
         TRANSFORM(attrs, (k, v) => CONCAT(k, '_x'), (k, v) => v * 2) AS doubled
  FROM profiles;

CREATE STREAM output AS
  SELECT id, TRANSFORM(TRANSFORM(value, (x, y) => x, (x, y) => FILTER(y, z => z < 5)), (x, y) => UCASE(x), (k, v) => ARRAY_MAX(v)) AS filtered_transformed
  FROM test EMIT CHANGES;

CREATE STREAM constructors AS
  SELECT ARRAY[1, 2, 3] AS arr, MAP('a' := 1, 'b' := 2) AS m, STRUCT(name := 'x', n := 1) AS st, ARRAY[] AS empty_arr
  FROM s;

CREATE STREAM case_expr AS
  SELECT id,
         CASE WHEN amount < 10 THEN 'small' WHEN amount < 100 THEN 'medium' ELSE 'large' END AS size_class,
         CASE status WHEN 1 THEN 'new' WHEN 2 THEN 'done' END AS status_name
  FROM orders2;

CREATE STREAM concat_ops AS SELECT first_name || ' ' || last_name AS full_name FROM people;

CREATE TABLE latest WITH (kafka_topic='latest', value_format='JSON') AS
  SELECT id, LATEST_BY_OFFSET(v, 3) AS last3, EARLIEST_BY_OFFSET(v) AS first FROM s GROUP BY id;

CREATE TABLE topk AS SELECT k, TOPK(v, 3) AS top3, TOPKDISTINCT(v, 2) AS topd, HISTOGRAM(tag) AS h FROM s GROUP BY k;

CREATE TABLE count_distinct AS SELECT k, COUNT_DISTINCT(v) AS cd FROM s GROUP BY k;

CREATE TABLE from_table AS SELECT id, name FROM users WHERE region = 'EU';

CREATE STREAM math AS SELECT a + b * c - d / e % f AS r, -a AS neg, +b AS pos, -(a + b) AS neg_sum FROM nums;

CREATE STREAM subscripts AS SELECT arr[1] AS first, arr[-1] AS last, m['key'] AS mv, s->a->b AS deep, arr[1]->f AS f FROM complex;
