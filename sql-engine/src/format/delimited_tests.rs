use super::*;
use crate::format::format_for;
use crate::format::test_util::cols;
use crate::value::Decimal;

fn serde_with(spec: &[(&str, SqlType)], delimiter: Option<&str>) -> Arc<dyn RowSerde> {
    let mut info = FormatInfo::of("DELIMITED");
    if let Some(d) = delimiter {
        info = info.with_property(DELIMITER, d);
    }
    format_for(&info).unwrap().row_serde(&cols(spec), false).unwrap()
}

fn write(serde: &Arc<dyn RowSerde>, row: &[Value]) -> String {
    String::from_utf8(serde.serialize(row, &SerdeContext::value("t")).unwrap().unwrap()).unwrap()
}

fn read(serde: &Arc<dyn RowSerde>, line: &str) -> Result<Option<Row>> {
    serde.deserialize(Some(line.as_bytes()), &SerdeContext::value("t"))
}

#[test]
fn ksqldb_order_line_round_trips() {
    let s = serde_with(
        &[
            ("ORDERTIME", SqlType::BigInt),
            ("ORDERID", SqlType::BigInt),
            ("ITEMID", SqlType::String),
            ("ORDERUNITS", SqlType::Double),
            ("COST", SqlType::Decimal { precision: 4, scale: 2 }),
            ("TS", SqlType::Timestamp),
            ("OK", SqlType::Boolean),
        ],
        None,
    );
    let row = vec![
        Value::BigInt(1511897796092),
        Value::BigInt(1),
        Value::String("item_1".into()),
        Value::Double(10.0),
        Value::Decimal(Decimal { unscaled: 1001, precision: 4, scale: 2 }),
        Value::Timestamp(100),
        Value::Boolean(true),
    ];
    let line = write(&s, &row);
    assert_eq!(line, "1511897796092,1,item_1,10.0,10.01,100,true");
    assert_eq!(read(&s, &line).unwrap().unwrap(), row);
}

#[test]
fn quoting_follows_commons_csv_minimal() {
    let s = serde_with(&[("A", SqlType::String), ("B", SqlType::String), ("C", SqlType::String)], None);
    let cases: [(&[&str; 3], &str); 7] = [
        (&["a", "b", "c"], "a,b,c"),
        (&["a,b", "say \"hi\"", "x"], "\"a,b\",\"say \"\"hi\"\"\",x"),
        (&["", "", ""], "\"\",,"),
        (&[" lead", "#hash", "trail "], "\" lead\",\"#hash\",\"trail \""),
        (&["line\nbreak", "ok", "é"], "\"line\nbreak\",ok,é"),
        (&["é", "!", "$"], "\"é\",\"!\",$"),
        (&["a", "b", "c\r"], "a,b,\"c\r\""),
    ];
    for (fields, line) in cases {
        let row: Row = fields.iter().map(|f| Value::String((*f).to_string())).collect();
        assert_eq!(write(&s, &row), line);
        // Empty strings come back as NULL, as in ksqlDB.
        let back: Row = row.into_iter().map(|v| if v == Value::String(String::new()) { Value::Null } else { v }).collect();
        assert_eq!(read(&s, line).unwrap().unwrap(), back, "{line:?}");
    }
    assert_eq!(write(&s, &[Value::Null, Value::Null, Value::String("x".into())]), ",,x");
}

#[test]
fn named_and_custom_delimiters() {
    let spec = [("A", SqlType::Int), ("B", SqlType::String)];
    let row = vec![Value::Int(1), Value::String("x|y".into())];
    assert_eq!(write(&serde_with(&spec, Some("|")), &row), "1|\"x|y\"");
    assert_eq!(write(&serde_with(&spec, Some("TAB")), &row), "1\tx|y");
    assert_eq!(write(&serde_with(&spec, Some("SPACE")), &row), "1 x|y");
    assert_eq!(read(&serde_with(&spec, Some("TAB")), "1\tx|y").unwrap().unwrap(), row);
    let e = DelimitedFormat::new(&FormatInfo::of("DELIMITED").with_property(DELIMITER, "tab")).unwrap_err();
    assert_eq!(e.to_string(), "Invalid delimiter value: 'tab'. Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'");
    let e = DelimitedFormat::new(&FormatInfo::of("DELIMITED").with_property(DELIMITER, " ")).unwrap_err();
    assert!(e.to_string().starts_with("Delimiter cannot be empty"));
    assert!(DelimitedFormat::new(&FormatInfo::of("DELIMITED").with_property(DELIMITER, "\"")).is_err());
}

#[test]
fn field_count_mismatch_and_bad_fields() {
    let s = serde_with(&[("A", SqlType::Int), ("B", SqlType::Int)], None);
    let e = read(&s, "1").unwrap_err();
    assert_eq!(e.to_string(), "Error deserializing delimited. Column count mismatch on deserialization. topic: t, expected: 2, got: 1");
    assert_eq!(read(&s, "1,x").unwrap_err().to_string(), "Error deserializing delimited. For input string: \"x\"");
    assert!(read(&s, "").unwrap_err().to_string().contains("No fields in record"));
    assert!(read(&s, "\"1,2").unwrap_err().to_string().contains("EOF reached"));
    assert!(read(&s, "\"1\"x,2").unwrap_err().to_string().contains("invalid char between encapsulated token"));
    assert_eq!(read(&s, "\n\n1,2\n3,4").unwrap().unwrap(), vec![Value::Int(1), Value::Int(2)]);
    assert_eq!(read(&s, "1,").unwrap().unwrap(), vec![Value::Int(1), Value::Null]);
    assert_eq!(read(&s, "\"1\" ,2").unwrap().unwrap(), vec![Value::Int(1), Value::Int(2)]);
    let text = serde_with(&[("A", SqlType::String), ("B", SqlType::String)], None);
    assert_eq!(read(&text, " \"a\",b\"c").unwrap().unwrap(), vec![Value::String(" \"a\"".into()), Value::String("b\"c".into())]);
    let e = s.serialize(&[Value::Int(1)], &SerdeContext::value("t")).unwrap_err();
    assert_eq!(e.to_string(), "Column count mismatch on serialization. topic: t, expected: 2, got: 1");
    let d = serde_with(&[("D", SqlType::Decimal { precision: 3, scale: 1 })], None);
    assert!(read(&d, "1.25").unwrap_err().to_string().contains("Cannot fit decimal '1.25' into DECIMAL(3, 1) without rounding."));
    let t = serde_with(&[("T", SqlType::Time)], None);
    assert!(read(&t, "-1").is_err());
    let text = serde_with(&[("S", SqlType::String)], None);
    assert_eq!(read(&text, "a\u{FFFD}").unwrap(), text.deserialize(Some(b"a\xff"), &SerdeContext::value("t")).unwrap());
}

#[test]
fn every_supported_type_round_trips() {
    let spec = [
        ("BO", SqlType::Boolean),
        ("I", SqlType::Int),
        ("BI", SqlType::BigInt),
        ("D", SqlType::Double),
        ("DE", SqlType::Decimal { precision: 10, scale: 3 }),
        ("S", SqlType::String),
        ("BY", SqlType::Bytes),
        ("DA", SqlType::Date),
        ("TI", SqlType::Time),
        ("TS", SqlType::Timestamp),
    ];
    let s = serde_with(&spec, Some(";"));
    let row = vec![
        Value::Boolean(false),
        Value::Int(-7),
        Value::BigInt(i64::MIN),
        Value::Double(1e-10),
        Value::Decimal(Decimal { unscaled: -5, precision: 10, scale: 3 }),
        Value::String("a;b".into()),
        Value::Bytes(vec![1, 2, 3]),
        Value::Date(19000),
        Value::Time(0),
        Value::Timestamp(1_700_000_000_000),
    ];
    let line = write(&s, &row);
    insta::assert_snapshot!(line, @r#"false;-7;-9223372036854775808;1.0E-10;-0.005;"a;b";AQID;19000;0;1700000000000"#);
    assert_eq!(read(&s, &line).unwrap().unwrap(), row);
    assert_eq!(read(&serde_with(&[("B", SqlType::Boolean)], None), "yes").unwrap().unwrap(), vec![Value::Boolean(false)]);
}

#[test]
fn nested_types_are_rejected() {
    let f = format_for(&FormatInfo::of("DELIMITED")).unwrap();
    let e = f.validate(&cols(&[("A", SqlType::Array(Box::new(SqlType::Int)))])).unwrap_err();
    assert_eq!(e.to_string(), "The 'DELIMITED' format does not support type 'ARRAY', column: `A`");
    // ksqlDB's delimited.json "ARRAY - key".
    let key = crate::format::test_util::key_cols(&[("K", SqlType::Array(Box::new(SqlType::Double)))]);
    let e = crate::format::validate_columns(&FormatInfo::of("DELIMITED"), &key, true).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Key format does not support schema.\nformat: DELIMITED\nschema: Persistence{columns=[`K` ARRAY<DOUBLE> KEY], features=[]}\nreason: The 'DELIMITED' format does not support type 'ARRAY', column: `K`"
    );
    assert!(f.row_serde(&cols(&[("M", SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)))]), false).is_err());
    // ksqlDB's delimited.json "MAP - key": the map check comes before the format's.
    let map_key = crate::format::test_util::key_cols(&[("K", SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)))]);
    let e = crate::format::validate_columns(&FormatInfo::of("DELIMITED"), &map_key, true).unwrap_err();
    assert_eq!(e.to_string(), "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `K`. Column type: MAP<STRING, DOUBLE>. See https://github.com/confluentinc/ksql/issues/6621 for more.");
}
