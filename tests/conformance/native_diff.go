// Runs native-histogram cases through Prometheus' Go client and prints every snapshot, for
// tests/tests/native_diff.rs to compare with vitalsign's. Built in GOPATH mode against the
// client_golang copy that test prepares (Debian's 1.14 with the later fixes and the spec's
// rules applied, each named there).
//
// Input, one command a line, floats as the hex of their bits:
//
//	case FACTOR ZERO_THRESHOLD MAX_BUCKETS MAX_ZERO_THRESHOLD BOUND...
//	obs VALUE
//	snap
//
// Output: one line per snap (see line()).
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func float(s string) float64 {
	bits, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		panic(err)
	}
	return math.Float64frombits(bits)
}

// hex writes a float as the hex of its bits; every NaN as "NaN".
func hex(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatUint(math.Float64bits(v), 16)
}

func spans(s []*dto.BucketSpan) string {
	parts := []string{}
	for _, span := range s {
		parts = append(parts, fmt.Sprintf("%d:%d", span.GetOffset(), span.GetLength()))
	}
	return strings.Join(parts, ",")
}

func deltas(d []int64) string {
	parts := []string{}
	for _, v := range d {
		parts = append(parts, strconv.FormatInt(v, 10))
	}
	return strings.Join(parts, ",")
}

func line(h *dto.Histogram) string {
	buckets := []string{}
	for _, b := range h.GetBucket() {
		buckets = append(buckets, fmt.Sprintf("%s:%d", hex(b.GetUpperBound()), b.GetCumulativeCount()))
	}
	return fmt.Sprintf(
		"schema=%d zero_threshold=%s zero=%d count=%d sum=%s pos=[%s] [%s] neg=[%s] [%s] classic=[%s]",
		h.GetSchema(), hex(h.GetZeroThreshold()), h.GetZeroCount(), h.GetSampleCount(),
		hex(h.GetSampleSum()), spans(h.GetPositiveSpan()), deltas(h.GetPositiveDelta()),
		spans(h.GetNegativeSpan()), deltas(h.GetNegativeDelta()), strings.Join(buckets, ","),
	)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	var h prometheus.Histogram
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch f[0] {
		case "case":
			zero := float(f[2])
			if zero == 0 {
				zero = prometheus.NativeHistogramZeroThresholdZero
			}
			max, err := strconv.ParseUint(f[3], 10, 32)
			if err != nil {
				panic(err)
			}
			bounds := []float64{}
			for _, b := range f[5:] {
				bounds = append(bounds, float(b))
			}
			h = prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:                            "h",
				Help:                            "h",
				Buckets:                         bounds,
				NativeHistogramBucketFactor:     float(f[1]),
				NativeHistogramZeroThreshold:    zero,
				NativeHistogramMaxBucketNumber:  uint32(max),
				NativeHistogramMaxZeroThreshold: float(f[4]),
			})
		case "obs":
			h.Observe(float(f[1]))
		case "snap":
			m := &dto.Metric{}
			if err := h.Write(m); err != nil {
				panic(err)
			}
			fmt.Fprintln(out, line(m.GetHistogram()))
		}
	}
}
