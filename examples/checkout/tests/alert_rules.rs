//! `prometheus/alerts.yml` is what the objectives in code generate, and Prometheus' own tools
//! accept and test it.

use vitalsign_tests as support;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_checkout");
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/prometheus");

fn generated(args: &[&str]) -> String {
    let mut all = vec!["alert-rules"];
    all.extend_from_slice(args);
    support::checkout_output(BIN, &all)
}

#[test]
fn committed_rules_are_current() {
    let committed = std::fs::read_to_string(format!("{DIR}/alerts.yml")).unwrap();
    assert!(
        committed == generated(&[]),
        "prometheus/alerts.yml is stale: regenerate it with\n  cargo run -p checkout -- alert-rules > examples/checkout/prometheus/alerts.yml"
    );
}

#[test]
fn scaled_rules_shrink_every_window() {
    let scaled = generated(&["--time-scale", "60"]);
    let windows: Vec<&str> = scaled
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- record: vitalsign:objective_error_ratio:rate")
        })
        .collect();
    // 5m, 30m, 1h, 2h, 6h, 1d and 3d; the 1m threshold window clamps to 5s, the floor.
    assert_eq!(windows, ["5s", "30s", "1m", "2m", "6m", "24m", "72m"]);
    assert_eq!(scaled.matches("        for: 2s\n").count(), 2);
    let out = Command::new(BIN)
        .args(["alert-rules", "--time-scale", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn promtool_checks_and_tests_the_rules() {
    let promtool = support::require("promtool", "the Debian package `prometheus`");
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(DIR)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
