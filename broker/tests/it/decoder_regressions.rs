//! Request frames that once aborted the process (kafka-protocol pre-allocated arrays from forged
//! element counts) must decode to errors. They live in one place, `fuzz/regressions/`, which the
//! fuzz target `request_decoder` also replays.

#[test]
fn forged_array_lengths_are_errors_not_aborts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        // The files hold the frame body after the 4-byte size prefix, as the fuzz target reads it.
        let body = bytes::Bytes::copy_from_slice(&bytes[4.min(bytes.len())..]);
        assert!(
            brook_broker::server::decode_request(body).is_err(),
            "{} decoded",
            path.display()
        );
        seen += 1;
    }
    assert_eq!(seen, 3);
}
