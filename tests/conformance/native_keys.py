"""Native-histogram bucket keys, transcribed from the algorithm of Prometheus' Go client
(`histogram.go`, `histogramCounts.observe`), independently of vitalsign's code.

Usage: native_keys.py SEED COUNT. Prints COUNT lines, each the hex of a value's f64 bits and its
bucket key at schemas -4 to 8. The values: random magnitudes over the whole f64 range,
subnormals, exact powers of two, the upper bounds of random buckets and the f64s just above and
below them, ±MaxFloat64 and ±Inf; half negative.
"""
import bisect
import math
import os
import re
import random
import struct
import sys
from decimal import Decimal, getcontext

getcontext().prec = 60
SCHEMAS = range(-4, 9)
# The bounds of the fractions frexp returns, per schema above 0: 2^(i/2^s) / 2 as Prometheus
# writes them (not always the nearest f64). The table is read from vitalsign's copy, which the
# differential test against client_golang checks number for number; the algorithm below is
# this script's own.
_TABLE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "../../runtime/src/metrics/histogram/native/bounds.rs",
)
_SOURCE = open(_TABLE).read()
_SOURCE = _SOURCE[_SOURCE.index("BOUNDS: [f64; 256]") :]
_SOURCE = _SOURCE[: _SOURCE.index("];")]
_SCHEMA8 = [float(n) for n in re.findall(r"^\s+(\d\.\d+),$", _SOURCE, re.M)]
assert len(_SCHEMA8) == 256
BOUNDS = {s: _SCHEMA8[:: 256 >> s] for s in range(1, 9)}


def key(v, schema):
    is_inf = math.isinf(v)
    if is_inf:
        v = math.copysign(sys.float_info.max, v)
    frac, exp = math.frexp(abs(v))
    if schema > 0:
        bounds = BOUNDS[schema]
        k = bisect.bisect_left(bounds, frac) + (exp - 1) * len(bounds)
    else:
        k = exp
        if frac == 0.5:
            k -= 1
        offset = (1 << -schema) - 1
        k = (k + offset) >> -schema
    if is_inf:
        k += 1
    return k


def upper_bound(k, schema):
    """2^(k / 2^schema), nearest f64, or None outside the finite range."""
    exact = Decimal(2) ** (Decimal(k) / Decimal(2**schema))
    try:
        f = float(exact)
    except OverflowError:
        return None
    return f if 0 < f < math.inf else None


def values(rng, count):
    out = []
    while len(out) < count:
        kind = rng.randrange(6)
        if kind == 0:  # any finite magnitude
            bits = rng.getrandbits(63)
            v = struct.unpack(">d", struct.pack(">Q", bits))[0]
            if not math.isfinite(v) or v == 0:
                continue
        elif kind == 1:  # subnormal
            v = struct.unpack(">d", struct.pack(">Q", rng.randrange(1, 1 << 52)))[0]
        elif kind == 2:  # exact power of two
            v = math.ldexp(1.0, rng.randrange(-1074, 1024))
        elif kind == 3:  # a bucket's upper bound, or the f64 next to it
            schema = rng.choice(SCHEMAS)
            b = upper_bound(rng.randrange(-1000, 1000) * (2**max(schema, 0)) // 8, schema)
            if b is None:
                continue
            v = rng.choice([b, math.nextafter(b, 0), math.nextafter(b, math.inf)])
            if v == 0 or not math.isfinite(v):
                continue
        elif kind == 4:  # everyday magnitudes: latencies, sizes
            v = 10 ** rng.uniform(-9, 12)
        else:
            v = rng.choice([sys.float_info.max, math.inf, sys.float_info.min, 5e-324, 1.0, 0.5])
        out.append(v if rng.random() < 0.5 else -v)
    return out


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    lines = []
    for v in values(rng, count):
        bits = struct.unpack(">Q", struct.pack(">d", v))[0]
        lines.append(f"{bits:016x} " + " ".join(str(key(v, s)) for s in SCHEMAS))
    sys.stdout.write("\n".join(lines) + "\n")


main()
