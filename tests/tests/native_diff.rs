//! Native histograms, snapshot for snapshot, against Prometheus' Go client: 300 seeded cases
//! (bucket factor, zero threshold, bucket limit, maximum zero threshold, classic bounds, and
//! observations with snapshots between them) run through client_golang and through vitalsign's
//! protobuf, every field compared: schema, zero threshold and count, spans and deltas of both
//! signs, count, sum and classic buckets.
//!
//! client_golang is Debian's 1.14 (`golang-github-prometheus-client-golang-dev`, built offline
//! in GOPATH mode by `golang-go`), copied and patched before the build:
//! - two fixes client_golang made after 1.14: bucket keys at negative schemas round towards
//!   minus infinity (1.14 divided, which rounds towards zero, so small values got the key above
//!   theirs), and an empty native histogram with a zero threshold of zero carries one empty span
//!   (so scrapers do not read it as a classic one);
//! - two rules of the spec where Go still departs from it: the schema is the lowest whose growth
//!   factor is at most the factor, compared exactly (Go's `floor(log2(log2 f))` in floating point
//!   is one schema too coarse just below 16, 256 and 65536), and ±Inf never goes to the zero
//!   bucket (Go compares `MaxFloat64`, which it counts them as, with the threshold).

use vitalsign_tests as support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use vitalsign::encoding::protobuf::{self, BucketSpan};
use vitalsign::{Buckets, EncodeOptions, Format, Histogram, NativeBuckets, Registry};

/// One case: the options, and the observations with a snapshot after those marked.
struct Case {
    factor: f64,
    zero_threshold: f64,
    max_buckets: u32,
    max_zero_threshold: f64,
    bounds: Vec<f64>,
    /// `Some(v)` observes `v`, `None` takes a snapshot.
    steps: Vec<Option<f64>>,
}

/// SplitMix64: a seeded source of cases, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}

fn below(v: f64) -> f64 {
    f64::from_bits(v.to_bits() - 1)
}

fn above(v: f64) -> f64 {
    f64::from_bits(v.to_bits() + 1)
}

fn case(rng: &mut Rng) -> Case {
    let factor = match rng.below(3) {
        0 => rng.pick(&[
            2.0,
            16.0,
            below(16.0),
            256.0,
            below(256.0),
            65536.0,
            65_535.999_999_999_99,
            1.1,
            1.5,
            std::f64::consts::SQRT_2,
            below(std::f64::consts::SQRT_2),
            1.0001,
            1e6,
        ]),
        // Log-uniform over the factors of every schema.
        _ => 2f64.powf(2f64.powf(rng.uniform(-9.0, 4.5))),
    };
    let zero_threshold = match rng.below(8) {
        0 => 0.0,
        1 => f64::MAX,
        2 | 3 => 10f64.powf(rng.uniform(-12.0, 0.0)),
        _ => 2.938_735_877_055_719e-39,
    };
    let max_buckets = rng.pick(&[1, 2, 3, 5, 8, 20, 100]);
    let max_zero_threshold = match rng.below(6) {
        0 => f64::MAX,
        1 | 2 => 10f64.powf(rng.uniform(-9.0, 1.0)),
        _ => 0.0,
    };
    let mut bounds: Vec<f64> = (0..1 + rng.below(4))
        .map(|_| (rng.uniform(-10.0, 10.0) * 100.0).round() / 100.0)
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let mut steps = Vec::new();
    for _ in 0..1 + rng.below(40) {
        let v = match rng.below(16) {
            0 => 0.0,
            1 => rng.pick(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN]),
            2 => rng.pick(&[f64::MAX, -f64::MAX, f64::MIN_POSITIVE, 5e-324, -5e-324]),
            // Exact powers of two, and the floats beside them: bucket edges at every schema.
            3 | 4 => {
                let p = 2f64.powi(rng.below(40) as i32 - 20);
                let p = rng.pick(&[p, below(p), above(p)]);
                if rng.below(2) == 0 { p } else { -p }
            }
            _ => {
                let m = 10f64.powf(rng.uniform(-20.0, 20.0));
                if rng.below(4) == 0 { -m } else { m }
            }
        };
        steps.push(Some(v));
        if rng.below(8) == 0 {
            steps.push(None);
        }
    }
    steps.push(None);
    Case {
        factor,
        zero_threshold,
        max_buckets,
        max_zero_threshold,
        bounds,
        steps,
    }
}

fn hex(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{:x}", v.to_bits())
    }
}

/// The case as `native_diff.go` reads it.
fn input(cases: &[Case]) -> String {
    let mut out = String::new();
    for c in cases {
        let _ = write!(
            out,
            "case {} {} {} {}",
            hex(c.factor),
            hex(c.zero_threshold),
            c.max_buckets,
            hex(c.max_zero_threshold)
        );
        c.bounds.iter().for_each(|&b| {
            let _ = write!(out, " {}", hex(b));
        });
        out.push('\n');
        for step in &c.steps {
            match step {
                Some(v) => {
                    let _ = writeln!(out, "obs {:x}", v.to_bits());
                }
                None => out.push_str("snap\n"),
            }
        }
    }
    out
}

fn spans(s: &[BucketSpan]) -> String {
    s.iter()
        .map(|s| format!("{}:{}", s.offset(), s.length()))
        .collect::<Vec<_>>()
        .join(",")
}

fn deltas(d: &[i64]) -> String {
    d.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Every snapshot of vitalsign's, as `native_diff.go` prints Go's.
fn vitalsign(c: &Case) -> Vec<String> {
    let native = NativeBuckets::new(c.factor)
        .and_then(|n| n.zero_threshold(c.zero_threshold))
        .and_then(|n| n.max_zero_threshold(c.max_zero_threshold))
        .unwrap()
        .max_buckets(c.max_buckets);
    let registry = Registry::new();
    let h = registry
        .register(
            "h",
            "h",
            Histogram::with_native(Buckets::new(c.bounds.iter().copied()).unwrap(), native),
        )
        .unwrap();
    let mut lines = Vec::new();
    for step in &c.steps {
        let Some(v) = step else {
            let mut bytes = Vec::new();
            registry.encode(&mut bytes, &EncodeOptions::new(Format::Protobuf));
            let families = protobuf::decode(&bytes).unwrap();
            let h = families[0].metric[0].histogram.as_ref().unwrap();
            let classic: Vec<String> = h
                .bucket
                .iter()
                .map(|b| format!("{}:{}", hex(b.upper_bound()), b.cumulative_count()))
                .collect();
            lines.push(format!(
                "schema={} zero_threshold={} zero={} count={} sum={} pos=[{}] [{}] neg=[{}] [{}] classic=[{}]",
                h.schema(),
                hex(h.zero_threshold()),
                h.zero_count(),
                h.sample_count(),
                hex(h.sample_sum()),
                spans(&h.positive_span),
                deltas(&h.positive_delta),
                spans(&h.negative_span),
                deltas(&h.negative_delta),
                classic.join(","),
            ));
            continue;
        };
        h.observe(*v);
    }
    lines
}

/// Replaces `from` with `to` in `text`, which must hold it exactly once.
fn patch(text: &mut String, from: &str, to: &str) {
    assert_eq!(
        text.matches(from).count(),
        1,
        "patch anchor not found once: {from}"
    );
    *text = text.replacen(from, to, 1);
}

/// A GOPATH whose client_golang is Debian's with the fixes and rules the module docs name.
fn gopath(dir: &Path) -> PathBuf {
    let system = Path::new("/usr/share/gocode/src/github.com/prometheus/client_golang");
    assert!(
        system.is_dir(),
        "client_golang is not installed: install golang-github-prometheus-client-golang-dev (`.ci/run` does)"
    );
    let root = dir.join("gopath");
    let copy = root.join("src/github.com/prometheus/client_golang");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let ok = Command::new("cp")
        .arg("-r")
        .arg(system)
        .arg(&copy)
        .status()
        .unwrap()
        .success();
    assert!(ok, "copying client_golang failed");
    let file = copy.join("prometheus/histogram.go");
    let mut go = std::fs::read_to_string(&file).unwrap();
    // A later fix: keys at negative schemas round towards minus infinity.
    patch(
        &mut go,
        "div := 1 << -schema\n\t\t\tkey = (key + div - 1) / div",
        "offset := (1 << -schema) - 1\n\t\t\tkey = (key + offset) >> -schema",
    );
    // A later fix: an empty native histogram with a zero threshold of zero has an empty span.
    patch(
        &mut go,
        "his.PositiveSpan, his.PositiveDelta = makeBuckets(&coldCounts.nativeHistogramBucketsPositive)\n",
        "his.PositiveSpan, his.PositiveDelta = makeBuckets(&coldCounts.nativeHistogramBucketsPositive)\n\
         \t\tif *his.ZeroThreshold == 0 && *his.ZeroCount == 0 && len(his.PositiveSpan) == 0 && len(his.NegativeSpan) == 0 {\n\
         \t\t\this.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}\n\
         \t\t}\n",
    );
    // The spec: ±Inf is never within a (finite) zero threshold.
    patch(
        &mut go,
        "case v > zeroThreshold:",
        "case v > zeroThreshold || (isInf && v > 0):",
    );
    patch(
        &mut go,
        "case v < -zeroThreshold:",
        "case v < -zeroThreshold || (isInf && v < 0):",
    );
    // The spec: the lowest schema whose growth 2^(2^-s) is at most the factor, exactly (the
    // growth to 512 bits, where no f64 can be as close to it as to be misjudged).
    patch(
        &mut go,
        "\tfloor := math.Floor(math.Log2(math.Log2(bucketFactor)))\n",
        "\tfactor := new(big.Float).SetPrec(512).SetFloat64(bucketFactor)\n\
         \tfor s := int32(-4); s <= 8; s++ {\n\
         \t\tgrowth := new(big.Float).SetPrec(512).SetFloat64(2)\n\
         \t\tif s <= 0 {\n\
         \t\t\tgrowth.SetFloat64(math.Ldexp(1, 1<<uint(-s)))\n\
         \t\t}\n\
         \t\tfor i := int32(0); i < s; i++ {\n\
         \t\t\tgrowth.Sqrt(growth)\n\
         \t\t}\n\
         \t\tif growth.Cmp(factor) <= 0 {\n\
         \t\t\treturn s\n\
         \t\t}\n\
         \t}\n\
         \tfloor := math.Floor(math.Log2(math.Log2(bucketFactor)))\n",
    );
    patch(&mut go, "\t\"math\"\n", "\t\"math\"\n\t\"math/big\"\n");
    std::fs::write(&file, go).unwrap();
    root
}

#[test]
#[ignore = "needs go and client_golang (Debian packages golang-go, golang-github-prometheus-client-golang-dev)"]
fn native_histograms_match_client_golang_snapshot_for_snapshot() {
    let go = support::require("go", "golang-go");
    let dir = std::env::temp_dir().join(format!("vitalsign-native-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = gopath(&dir);
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/native_diff.go");
    let mut rng = Rng(2026);
    let cases: Vec<Case> = (0..300).map(|_| case(&mut rng)).collect();
    // From a file: the program writes while it reads, and a pipe both ways could fill.
    let cases_file = dir.join("cases.txt");
    std::fs::write(&cases_file, input(&cases)).unwrap();
    let output = Command::new(go)
        .arg("run")
        .arg(&program)
        .env("GOPATH", format!("{}:/usr/share/gocode", root.display()))
        .env("GO111MODULE", "off")
        .env("GOCACHE", dir.join("cache"))
        .env("GOPROXY", "off")
        .stdin(std::fs::File::open(&cases_file).unwrap())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "native_diff.go failed: {err}");
    let mut go_lines = out.lines();
    let mut snapshots = 0;
    let mut differ = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        for (j, ours) in vitalsign(c).into_iter().enumerate() {
            let theirs = go_lines.next().unwrap_or_default();
            snapshots += 1;
            if ours != theirs {
                differ.push(format!(
                    "case {i} snapshot {j} (factor {:e}, zero threshold {:e}, max {}, max zero threshold {:e}):\n  vitalsign {ours}\n  Go        {theirs}",
                    c.factor, c.zero_threshold, c.max_buckets, c.max_zero_threshold
                ));
            }
        }
    }
    assert_eq!(go_lines.next(), None, "Go wrote more snapshots");
    assert!(snapshots > 600, "{snapshots} snapshots");
    assert_eq!(
        differ.len(),
        0,
        "{} of {snapshots} snapshots differ:\n{}",
        differ.len(),
        differ[..differ.len().min(8)].join("\n")
    );
}
