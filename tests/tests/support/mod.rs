//! Finding the external tools conformance tests run. These tests are `#[ignore]`d so the plain
//! test command passes on a machine with only Rust; `.ci/run` installs the tools and runs them
//! with `--include-ignored`, where a missing tool is a failure, never a skip.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The path of `tool`, or a panic saying how to install it.
pub fn require(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{tool}` is not installed: install {package} (`.ci/run` does) to run this test")
    })
}

/// Python 3 with `prometheus_client` importable.
pub fn python() -> PathBuf {
    let python = require("python3", "Python 3");
    let ok = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Python package `prometheus_client` is not installed: `pip install prometheus_client` (`.ci/run` does)"
    );
    python
}

/// Runs `cmd` with `input` on stdin; returns (success, stdout, stderr).
pub fn run(cmd: &mut Command, input: &str) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The canonical dump of `text` by the Python parser for `format` (`openmetrics` or `text`).
pub fn python_dump(format: &str, text: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/dump.py");
    let (ok, out, err) = run(Command::new(python()).args([script, format]), text);
    assert!(
        ok,
        "prometheus_client rejected the {format} output: {err}\n--- output ---\n{text}"
    );
    out
}
