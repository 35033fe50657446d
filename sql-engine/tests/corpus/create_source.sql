-- CREATE STREAM / CREATE TABLE over existing topics: columns, key and header columns, WITH properties.
CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON');

CREATE STREAM pageviews_keyed (page_id BIGINT KEY, viewtime BIGINT, user_id VARCHAR)
  WITH (KAFKA_TOPIC = 'keyed-pageviews-topic', KEY_FORMAT = 'KAFKA', VALUE_FORMAT = 'JSON');

CREATE TABLE users (id BIGINT PRIMARY KEY, usertimestamp BIGINT, gender VARCHAR, region_id VARCHAR)
  WITH (KAFKA_TOPIC = 'my-users-topic', VALUE_FORMAT = 'JSON');

CREATE TABLE users_avro (userid STRING PRIMARY KEY) WITH (KAFKA_TOPIC='users', FORMAT='AVRO');

CREATE STREAM riderlocations (profileId VARCHAR, latitude DOUBLE, longitude DOUBLE)
  WITH (kafka_topic='locations', value_format='json', partitions=1);

CREATE STREAM orders (ORDER_ID INT KEY, ITEM STRUCT<NAME STRING, PRICE DECIMAL(10, 2)>, QUANTITY INT, TAGS ARRAY<STRING>, ATTRS MAP<STRING, DOUBLE>)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='AVRO', PARTITIONS=6, REPLICAS=3);

CREATE STREAM s1 (id INT KEY, ts TIMESTAMP, d DATE, t TIME, b BYTES, ok BOOLEAN)
  WITH (kafka_topic='s1', value_format='PROTOBUF', timestamp='ts');

CREATE STREAM events (event_ts VARCHAR, payload STRING)
  WITH (KAFKA_TOPIC='events', VALUE_FORMAT='DELIMITED', VALUE_DELIMITER='|', TIMESTAMP='event_ts', TIMESTAMP_FORMAT='yyyy-MM-dd''T''HH:mm:ssX');

CREATE STREAM tab_delimited (a INT, b STRING) WITH (kafka_topic='tabs', value_format='DELIMITED', value_delimiter='TAB');

CREATE STREAM wrapped (v INT) WITH (kafka_topic='w', value_format='JSON', wrap_single_value=false);

CREATE STREAM IF NOT EXISTS audit_log (id STRING KEY, action STRING) WITH (kafka_topic='audit', value_format='JSON');

CREATE OR REPLACE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR, referrer STRING)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON');

CREATE OR REPLACE TABLE IF NOT EXISTS products (sku STRING PRIMARY KEY, price DOUBLE)
  WITH (kafka_topic='products', value_format='json');

CREATE SOURCE TABLE materialized_users (id BIGINT PRIMARY KEY, name STRING)
  WITH (kafka_topic='users-compacted', value_format='JSON');

CREATE SOURCE STREAM read_only_events (id STRING KEY, body STRING)
  WITH (kafka_topic='ro-events', format='JSON');

CREATE STREAM with_headers (k STRING KEY, v STRING, hdrs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS)
  WITH (kafka_topic='with-headers', value_format='JSON');

CREATE STREAM one_header (k STRING KEY, trace BYTES HEADER('trace-id'), v STRING)
  WITH (kafka_topic='one-header', value_format='JSON');

CREATE STREAM multi_key (a INT KEY, b STRING KEY, v DOUBLE)
  WITH (kafka_topic='multi', key_format='JSON', value_format='JSON');

CREATE TABLE multi_pk (a INT PRIMARY KEY, b STRING PRIMARY KEY, v DOUBLE)
  WITH (kafka_topic='multi_pk', format='AVRO');

CREATE STREAM inferred WITH (kafka_topic='inferred', value_format='AVRO');

CREATE TABLE inferred_table WITH (kafka_topic='inferred_t', format='PROTOBUF', key_schema_id=1, value_schema_id=2);

CREATE STREAM windowed_src (k STRING KEY, c BIGINT)
  WITH (kafka_topic='windowed', value_format='JSON', window_type='Tumbling', window_size='30 SECONDS');

CREATE TABLE session_src (k STRING KEY, c BIGINT)
  WITH (kafka_topic='sessions', value_format='JSON', window_type='SESSION');

CREATE TABLE compacted (k STRING PRIMARY KEY, v STRING)
  WITH (kafka_topic='compacted', value_format='JSON', cleanup_policy='compact', retention_ms=86400000);

CREATE STREAM `Quoted-Name` (`lower` INT, `Mixed Case` STRING) WITH (kafka_topic='q', value_format='JSON');

CREATE STREAM "double_quoted" ("col" INT) WITH (kafka_topic='dq', value_format='JSON');

CREATE STREAM nested (id INT KEY, profile STRUCT<name STRING, address STRUCT<street STRING, zip INT>, phones ARRAY<STRING>>)
  WITH (kafka_topic='nested', value_format='JSON');

CREATE STREAM complex_types (m MAP<STRING, ARRAY<STRUCT<a INT, b MAP<STRING, BIGINT>>>>, e STRUCT<>)
  WITH (kafka_topic='complex', value_format='JSON');

CREATE STREAM custom_typed (id INT KEY, addr ADDRESS, people ARRAY<PERSON>)
  WITH (kafka_topic='custom', value_format='JSON');

CREATE STREAM decimals (d1 DECIMAL(4, 2), d2 DECIMAL(38, 0), d3 DECIMAL(1,1)) WITH (kafka_topic='decimals', value_format='AVRO');

CREATE STREAM keywords_as_names (key STRING KEY, `value` STRING, `from` STRING, date DATE, time TIME, timestamp TIMESTAMP, type STRING, id INT, "SELECT" INT)
  WITH (kafka_topic='kw', value_format='JSON');

CREATE STREAM props_quoted (a INT) WITH ('kafka_topic'='quoted-props', "VALUE_FORMAT"='JSON');

CREATE STREAM props_literals (a INT) WITH (kafka_topic='lit', value_format='JSON', partitions=4, replicas=-1, some_flag=TRUE, some_null=NULL, ratio=0.75, big=10000000000);

CREATE STREAM key_schema (k STRUCT<f1 INT, f2 STRING> KEY, v INT) WITH (kafka_topic='ks', key_format='JSON', value_format='JSON');

CREATE TABLE kafka_key (ROWKEY STRING PRIMARY KEY, count BIGINT) WITH (KAFKA_TOPIC='counts', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');

create stream lower_case_everything (a int key, b varchar) with (kafka_topic='lc', value_format='json');

CREATE STREAM digits_1st (1st_col INT, col_2 STRING) WITH (kafka_topic='digits', value_format='JSON');

CREATE STREAM with_comments ( -- the key
  id INT KEY, /* the value */ v STRING
) WITH (kafka_topic='comments', value_format='JSON');

CREATE STREAM with_key_delimiter (a INT KEY, b INT KEY, v STRING)
  WITH (kafka_topic='kd', key_format='DELIMITED', key_delimiter=',', value_format='JSON');
