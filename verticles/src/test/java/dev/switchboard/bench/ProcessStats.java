package dev.switchboard.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** What the operating system says about a process: resident memory and CPU time used. Linux /proc. */
final class ProcessStats {
  private ProcessStats() {
  }

  /** Resident set size in MiB. */
  static double rssMb(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the status of process " + pid, e);
    }
    throw new IllegalStateException("no VmRSS for process " + pid);
  }

  /** CPU time (user + system) used so far. */
  static Duration cpu(long pid) {
    return ProcessHandle.of(pid).flatMap(p -> p.info().totalCpuDuration())
        .orElseThrow(() -> new IllegalStateException("no CPU time for process " + pid));
  }
}
