"""Parses exposition text from stdin with prometheus_client and prints it canonically.

Usage: dump.py openmetrics|text. OpenMetrics uses the strict parser. Strings are printed as hex
of their UTF-8 bytes and values as the hex of their float64 bits, so the comparison is exact.
"""
import struct
import sys

if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
else:
    from prometheus_client.parser import text_string_to_metric_families as parse


def h(s):
    return s.encode("utf-8").hex()


for family in parse(sys.stdin.read()):
    print("F", family.name, family.type, h(family.documentation), family.unit or "-")
    for s in family.samples:
        labels = ",".join(f"{k}={h(v)}" for k, v in sorted(s.labels.items()))
        print("S", s.name, labels or "-", struct.pack(">d", float(s.value)).hex())
