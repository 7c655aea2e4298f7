package dev.switchboard.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.TestDatabases;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Keeps the benchmark harness from rotting: the real harness (gateway jar and model server as
 * processes, webchat sessions over the protocol) with a handful of turns. It checks that every
 * figure was produced and nothing failed; it times nothing.
 */
@Timeout(300)
class BenchSmokeIT {

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "pg"})
  @DisplayName("a few turns through the harness produce every figure, without errors")
  void harnessRuns(String db) throws Exception {
    if (db.equals("pg")) {
      TestDatabases.postgres(); // skips (or fails in CI) without the server
    }
    String jar = System.getProperty("switchboard.jar");
    assertThat(jar).as("failsafe passes the packaged jar").isNotBlank();
    Bench.Options o = Bench.Options.parse(new String[] {"--db", db, "--jar", jar, "--sessions", "1,3",
        "--turns", "12", "--warmup", "16", "--idle", "5", "--soak", "128", "--model", "stream",
        "--chunk-delay-ms", "1"});
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Bench.Report r = Bench.run(o, new PrintStream(out, true, StandardCharsets.UTF_8));

    assertThat(r.readyMs()).isPositive();
    assertThat(r.rssIdleMb()).isPositive();
    assertThat(r.scenarios()).extracting(Bench.Scenario::sessions).containsExactly(1, 3);
    for (Bench.Scenario s : r.scenarios()) {
      assertThat(s.errors()).as("errors with %d sessions", s.sessions()).isZero();
      assertThat(s.turns()).as("turns with %d sessions", s.sessions()).isEqualTo(12 / s.sessions() * s.sessions());
      assertThat(s.firstP50()).isPositive().isLessThanOrEqualTo(s.finalMax());
      assertThat(s.finalP50()).isLessThanOrEqualTo(s.finalP99()).isLessThanOrEqualTo(s.finalMax());
      assertThat(s.cpuSecondsPerTurn()).isPositive();
    }
    assertThat(r.idleBeforeMb()).isPositive();
    assertThat(r.idleConnectionsMb()).isPositive();
    assertThat(r.soakTurns()).isEqualTo(128);
    assertThat(r.soakRssMb()).hasSize(3).allMatch(mb -> mb > 0);
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("soak: 128 turns after 64 settling turns, 0 errors");
    String md = r.markdown();
    assertThat(md).contains("| 1 | 12 | 0 |", "| 3 | 12 | 0 |", "5 idle authenticated connections",
        "soak of 128 turns");
    // the harness cleans up after itself: its temporary directory is gone unless something failed
    assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("bench: kept");
  }
}
