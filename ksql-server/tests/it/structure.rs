//! The REST server's files form no import circle (`tools/import_circles.py`, itself tested on a
//! circle it must find by the broker's `structure` tests).

#[test]
fn the_ksql_server_has_no_import_circle() {
    brook_common::test_support::assert_no_import_circles(std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
}
