//! Native-histogram bucket keys against an independent transcription of Go's algorithm
//! (`tests/conformance/native_keys.py`): 100,000 values (random magnitudes, subnormals, exact
//! powers of two, bucket edges and the f64s beside them, extremes, infinities; half negative),
//! at every schema from -4 to 8.

use vitalsign_tests as support;

use std::process::Command;

#[test]
#[ignore = "needs python3"]
fn keys_match_gos_algorithm_at_every_schema() {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/native_keys.py");
    let (ok, out, err) = support::run(
        Command::new(support::python())
            .arg(script)
            .args(["2026", "100000"]),
        "",
    );
    assert!(ok, "native_keys.py failed: {err}");
    let mut lines = 0;
    let mut mismatches = Vec::new();
    for line in out.lines() {
        let mut fields = line.split(' ');
        let bits = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
        let v = f64::from_bits(bits);
        for (schema, expected) in (-4..=8).zip(fields) {
            let expected: i32 = expected.parse().unwrap();
            let got = vitalsign::__private::native_key(v, schema);
            if got != expected {
                mismatches.push(format!(
                    "{v:e} ({bits:016x}) schema {schema}: {got}, Go {expected}"
                ));
            }
        }
        lines += 1;
    }
    assert_eq!(lines, 100_000);
    assert_eq!(
        mismatches.len(),
        0,
        "{}",
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
