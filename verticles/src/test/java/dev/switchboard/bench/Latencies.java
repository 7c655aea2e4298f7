package dev.switchboard.bench;

import java.util.Arrays;

/** A set of latency samples in nanoseconds and its percentiles (nearest rank). */
final class Latencies {
  private long[] samples = new long[1024];
  private int n;

  synchronized void add(long nanos) {
    if (n == samples.length) {
      samples = Arrays.copyOf(samples, n * 2);
    }
    samples[n++] = nanos;
  }

  synchronized int count() {
    return n;
  }

  /** The p-th percentile in milliseconds (p in 0..100). */
  synchronized double percentileMs(double p) {
    if (n == 0) {
      return Double.NaN;
    }
    long[] sorted = Arrays.copyOf(samples, n);
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(p / 100.0 * n);
    return sorted[Math.max(0, Math.min(n - 1, rank - 1))] / 1e6;
  }

  synchronized double maxMs() {
    long max = 0;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, samples[i]);
    }
    return max / 1e6;
  }
}
