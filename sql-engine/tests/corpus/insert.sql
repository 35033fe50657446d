-- INSERT INTO ... SELECT and INSERT INTO ... VALUES.
INSERT INTO all_orders SELECT * FROM us_orders EMIT CHANGES;

INSERT INTO all_orders SELECT * FROM eu_orders;

INSERT INTO all_orders WITH (QUERY_ID='insert_eu_orders') SELECT * FROM eu_orders;

INSERT INTO output_stream SELECT id, UCASE(name) AS name FROM input_stream WHERE id > 0 PARTITION BY id;

INSERT INTO joined SELECT o.id, c.name FROM orders o JOIN customers c ON o.customer_id = c.id;

INSERT INTO counts SELECT k, COUNT(*) FROM s GROUP BY k;

INSERT INTO foo (rowtime, key_col, col_a) VALUES (1510923225000, 'key', 'A');

INSERT INTO foo VALUES ('key', 'A');

INSERT INTO riderLocations (profileId, latitude, longitude) VALUES ('c2309eec', 37.7877, -122.4205);

INSERT INTO riderLocations (profileId, latitude, longitude) VALUES ('18f4ea86', 37.3903, -122.0643);

INSERT INTO users (id, name, tags, prefs, address) VALUES (1, 'alice', ARRAY['a', 'b'], MAP('theme' := 'dark'), STRUCT(street := '1 Main St', zip := 94000));

INSERT INTO t (k, v) VALUES ('k1', NULL);

INSERT INTO t (k, v) VALUES ('it''s', 'quote ''inside''');

INSERT INTO numbers (i, bi, dec, dbl, neg) VALUES (2147483647, 2147483648, 12.30, 1.5e10, -42);

INSERT INTO numbers (i) VALUES (-2147483648);

INSERT INTO bools (a, b) VALUES (TRUE, false);

INSERT INTO computed (a, b) VALUES (1 + 2, CONCAT('x', 'y'));

INSERT INTO casted (d, ts) VALUES (CAST('1.5' AS DECIMAL(4, 2)), FROM_UNIXTIME(0));

INSERT INTO empty_values VALUES ();

INSERT INTO `Quoted` (`lower`, `Mixed Case`) VALUES (1, 'x');

INSERT INTO with_struct (s) VALUES (STRUCT(a := STRUCT(b := 1)));

INSERT INTO dates (d, t, ts) VALUES (PARSE_DATE('2021-01-01', 'yyyy-MM-dd'), PARSE_TIME('10:00', 'HH:mm'), PARSE_TIMESTAMP('2021-01-01T00:00:00', 'yyyy-MM-dd''T''HH:mm:ss'));

INSERT INTO bytes_t (b) VALUES (TO_BYTES('abc', 'utf8'));

INSERT INTO decimals (d) VALUES (DECIMAL '10.01');

INSERT INTO s1 SELECT * FROM s2 WHERE v BETWEEN 1 AND 10 EMIT CHANGES;
