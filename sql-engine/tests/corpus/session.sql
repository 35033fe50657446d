-- Session statements: SET/UNSET properties, DEFINE/UNDEFINE variables, RUN SCRIPT.
SET 'auto.offset.reset' = 'earliest';

SET 'auto.offset.reset'='latest';

SET 'ksql.streams.cache.max.bytes.buffering' = '10000000';

SET 'processing.guarantee' = 'exactly_once_v2';

SET 'ksql.query.pull.table.scan.enabled' = 'true';

set 'commit.interval.ms' = '1000';

UNSET 'auto.offset.reset';

UNSET 'ksql.streams.cache.max.bytes.buffering';

DEFINE replicas = '3';

DEFINE format = 'JSON';

DEFINE name = 'Tom Sawyer';

DEFINE quoted = 'It''s quoted';

DEFINE topic_prod = 'my_prod_topic';

DEFINE MixedCase = 'x';

DEFINE _underscore = '';

DEFINE select = 'reserved words are valid variable names';

UNDEFINE replicas;

UNDEFINE MixedCase;

RUN SCRIPT '/path/to/script.sql';

RUN SCRIPT 'relative/script.sql';

SET 'a' = 'b'; UNSET 'a'; DEFINE v = '1'; UNDEFINE v;
