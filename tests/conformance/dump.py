"""Parses exposition text with prometheus_client and prints it canonically.

Usage: dump.py openmetrics|text [--batch]. OpenMetrics uses the strict parser. Strings are printed
as hex of their UTF-8 bytes and values as the hex of their float64 bits, so the comparison is
exact; an exemplar follows its sample as "E labels value timestamp". With --batch, stdin holds several expositions, each as "<byte length>\\n<bytes>", and each
dump is preceded by "=== <index>" (or "=== <index> ERROR <message>" if it does not parse).
"""
import struct
import sys

if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
else:
    from prometheus_client.parser import text_string_to_metric_families as parse


def h(s):
    return s.encode("utf-8").hex()


def dump(text):
    out = []
    for family in parse(text):
        out.append(f"F {family.name} {family.type} {h(family.documentation)} {family.unit or '-'}")
        for s in family.samples:
            labels = ",".join(f"{k}={h(v)}" for k, v in sorted(s.labels.items()))
            out.append(f"S {s.name} {labels or '-'} {struct.pack('>d', float(s.value)).hex()}")
            e = getattr(s, "exemplar", None)
            if e is not None:
                elabels = ",".join(f"{k}={v}" for k, v in sorted(e.labels.items()))
                out.append(f"E {elabels} {e.value!r} {float(e.timestamp)!r}")
    return "".join(line + "\n" for line in out)


if "--batch" in sys.argv:
    data = sys.stdin.buffer.read()
    i, index = 0, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        length = int(data[i:nl])
        text = data[nl + 1 : nl + 1 + length].decode("utf-8")
        i = nl + 1 + length
        try:
            sys.stdout.write(f"=== {index}\n" + dump(text))
        except Exception as e:  # report which case failed, and keep going
            sys.stdout.write(f"=== {index} ERROR {e!r}\n")
        index += 1
else:
    sys.stdout.write(dump(sys.stdin.read()))
