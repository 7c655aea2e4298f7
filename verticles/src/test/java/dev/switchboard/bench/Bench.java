package dev.switchboard.bench;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark: the gateway jar as its own process, the scripted model as another, and this JVM
 * driving webchat sessions over the real protocol. Reports turns/s, send→first delta and
 * send→final percentiles, gateway CPU seconds per turn, RSS (idle, under load, after), time from
 * process start to {@code /ready}; optionally the memory held by idle connections and a soak. Runs on
 * H2 or PostgreSQL. Usage: {@code bin/bench [options]} (see {@link Options#parse}).
 */
public final class Bench {
  static final String TOKEN = "bench-operator-token-000000";

  /** What to run. */
  record Options(String db, List<Integer> scenarios, int turnsPerScenario, String model, long streamDelayMs,
      int replyChars, int idle, int soak, Path jar, String classpath, String javaOpts, boolean scoped, boolean keep, int warmup, double rate) {

    static Options parse(String[] args) {
      String db = "h2";
      List<Integer> scenarios = new ArrayList<>(List.of(1, 8, 64, 256));
      int turns = 4_000;
      String model = "instant";
      long delay = 20;
      int reply = 200;
      int idle = 0;
      int soak = 0;
      Path jar = Path.of("verticles/target/switchboard.jar");
      String javaOpts = "-Xms32m -XX:+UseSerialGC -Xss512k";
      String events = "scoped";
      boolean keep = false;
      int warmup = 2_000;
      double rate = 0;
      for (int i = 0; i < args.length; i++) {
        String v = i + 1 < args.length ? args[i + 1] : null;
        switch (args[i]) {
          case "--db" -> db = v;
          case "--sessions" -> scenarios = new ArrayList<>(List.of(v.split(","))).stream().map(Integer::parseInt).toList();
          case "--turns" -> turns = Integer.parseInt(v);
          case "--model" -> model = v;
          case "--chunk-delay-ms" -> delay = Long.parseLong(v);
          case "--reply-chars" -> reply = Integer.parseInt(v);
          case "--idle" -> idle = Integer.parseInt(v);
          case "--soak" -> soak = Integer.parseInt(v);
          case "--jar" -> jar = Path.of(v);
          case "--java-opts" -> javaOpts = v;
          case "--events" -> events = v;
          case "--warmup" -> warmup = Integer.parseInt(v);
          case "--rate" -> rate = Double.parseDouble(v);
          case "--keep" -> {
            keep = true;
            i--; // no value
          }
          default -> throw new IllegalArgumentException("unknown option " + args[i]
              + "; options: --db h2|pg --sessions 1,8,64 --turns N --model instant|stream|echo --chunk-delay-ms N"
              + " --reply-chars N --idle N --soak N --jar PATH --java-opts '...' --events scoped|all --warmup N --rate TURNS_PER_S --keep");
        }
        i++;
      }
      if (!List.of("h2", "pg").contains(db) || !List.of("instant", "stream", "echo").contains(model)
          || !List.of("scoped", "all").contains(events)) {
        throw new IllegalArgumentException("--db is h2 or pg, --model is instant, stream or echo, --events is scoped or all");
      }
      // the processes run in a temporary directory: every path must be absolute
      String classpath = String.join(java.io.File.pathSeparator, java.util.Arrays.stream(
          System.getProperty("java.class.path").split(java.io.File.pathSeparator))
          .map(e -> Path.of(e).toAbsolutePath().toString()).toList());
      return new Options(db, scenarios, turns, model, model.equals("instant") ? 0 : delay, reply, idle, soak,
          jar.toAbsolutePath(), classpath, javaOpts, events.equals("scoped"), keep, warmup, rate);
    }
  }

  /** One scenario's figures. */
  record Scenario(int sessions, long turns, long errors, double seconds, double turnsPerSecond, double firstP50,
      double firstP90, double firstP99, double firstMax, double finalP50, double finalP90, double finalP99,
      double finalMax, double cpuSecondsPerTurn, double rssMb) {
  }

  /** Everything measured. */
  record Report(Options options, long readyMs, double rssIdleMb, List<Scenario> scenarios, double idleBeforeMb,
      double idleConnectionsMb, int soakTurns,
      List<Double> soakRssMb, double rssAfterMb) {

    String markdown() {
      StringBuilder sb = new StringBuilder();
      sb.append(String.format(Locale.ROOT, "database %s, model %s%s, %s, events %s, java opts `%s`%n%n",
          options.db(), options.model(), options.model().equals("instant") ? "" : " (" + options.streamDelayMs() + " ms/piece)",
          options.model().equals("echo") ? "reply: the message echoed (built-in provider, no model process)"
              : "reply ~" + options.replyChars() + " chars", options.scoped() ? "session-scoped (as the webchat page)" : "to every socket (OpenClaw default)",
          options.javaOpts()));
      if (options.rate() > 0) {
        sb.append(String.format(Locale.ROOT, "- paced: %.0f turns/s offered in all, spread over the sessions"
            + " (open loop; latency is the gateway's overhead when it is not saturated)%n", options.rate()));
      }
      sb.append(String.format(Locale.ROOT, "- start → /ready: %d ms%n- RSS idle: %.1f MB%n- warm-up: %d turns before the"
          + " scenarios%n", readyMs, rssIdleMb, options.warmup()));
      sb.append("\n| sessions | turns | errors | turns/s | first delta p50/p90/p99/max ms | final p50/p90/p99/max ms"
          + " | CPU ms/turn | RSS MB |\n|---|---|---|---|---|---|---|---|\n");
      for (Scenario s : scenarios) {
        sb.append(String.format(Locale.ROOT, "| %d | %d | %d | %.0f | %.1f / %.1f / %.1f / %.1f | %.1f / %.1f / %.1f / %.1f"
                + " | %.2f | %.0f |%n", s.sessions(), s.turns(), s.errors(), s.turnsPerSecond(), s.firstP50(), s.firstP90(),
            s.firstP99(), s.firstMax(), s.finalP50(), s.finalP90(), s.finalP99(), s.finalMax(), s.cpuSecondsPerTurn() * 1000,
            s.rssMb()));
      }
      if (options.idle() > 0) {
        double held = idleConnectionsMb - idleBeforeMb;
        sb.append(String.format(Locale.ROOT, "%n- %d idle authenticated connections: RSS %.1f MB before opening them,"
                + " %.1f MB with them open (%+.1f MB, %.1f KB per connection)%n", options.idle(), idleBeforeMb,
            idleConnectionsMb, held, held * 1024 / options.idle()));
      }
      if (!soakRssMb.isEmpty()) {
        sb.append(String.format(Locale.ROOT, "- soak of %d turns (after a tenth as many settling turns): RSS start / middle"
            + " / end %.1f / %.1f / %.1f MB (drift %+.1f %%)%n",
            soakTurns, soakRssMb.get(0), soakRssMb.get(1), soakRssMb.get(2),
            100 * (soakRssMb.get(2) - soakRssMb.get(0)) / soakRssMb.get(0)));
      }
      sb.append(String.format(Locale.ROOT, "- RSS after: %.1f MB%n", rssAfterMb));
      return sb.toString();
    }
  }

  private Bench() {
  }

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.exit(2);
      return;
    }
    Report r = run(o, System.out);
    System.out.println();
    System.out.println(r.markdown());
    System.exit(0);
  }

  /** Runs everything and stops what it started, by PID, whatever happens. */
  static Report run(Options o, java.io.PrintStream log) throws Exception {
    if (!Files.isRegularFile(o.jar())) {
      throw new IllegalStateException("no gateway jar at " + o.jar() + "; build it first: ./mvnw -B -DskipTests package");
    }
    Path root = Files.createTempDirectory("sb-bench");
    String schemaPrefix = "bench" + Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36) + "_";
    int modelPort = freePort();
    int gatewayPort = freePort();
    Vertx vertx = Vertx.vertx();
    Process model = null;
    Process gateway = null;
    boolean keep = true;
    try {
      model = spawn(List.of(java(), "-Xmx256m", "-XX:+UseSerialGC", "-cp", o.classpath(),
          ModelServerMain.class.getName(), Integer.toString(modelPort), Long.toString(o.streamDelayMs())), root, List.of());
      awaitLine(model, "model ready", Duration.ofSeconds(30));
      writeWorkspace(root, gatewayPort, modelPort, o);
      List<String> env = new ArrayList<>(List.of("SWITCHBOARD_TOKEN=" + TOKEN, "SWITCHBOARD_HOME=" + root));
      if (o.db().equals("pg")) {
        env.add("SWITCHBOARD_DATABASE_URL=" + pgUrl());
        env.add("SWITCHBOARD_DATABASE_USER=" + System.getenv().getOrDefault("SWITCHBOARD_TEST_PG_USER", "postgres"));
        env.add("SWITCHBOARD_DATABASE_SCHEMA_PREFIX=" + schemaPrefix);
      }
      List<String> cmd = new ArrayList<>(List.of(java()));
      cmd.addAll(List.of(o.javaOpts().trim().split("\\s+")));
      cmd.addAll(List.of("-jar", o.jar().toAbsolutePath().toString()));
      long spawned = System.nanoTime();
      // the gateway's log goes to a file: an undrained pipe would stall its event loops once full
      gateway = spawn(cmd, root, env, root.resolve("gateway.log"));
      long readyMs = awaitReady(vertx, gateway, gatewayPort, spawned);
      long pid = gateway.pid();
      log.printf("gateway %d ready in %d ms%n", pid, readyMs);
      Thread.sleep(3_000);
      double rssIdle = ProcessStats.rssMb(pid);
      if (o.warmup() > 0) {
        // the JIT compiles the hot paths first: the scenarios measure a warm gateway, each the same way
        LoadDriver w = new LoadDriver(vertx, gatewayPort, TOKEN, 20, o.scoped());
        List<LoadDriver.Session> ws = w.connect("warmup-", 8, 8).await(60, TimeUnit.SECONDS);
        w.run(ws, Math.max(1, o.warmup() / 8), "warm-up [in:warmup] [pad:" + o.replyChars() + "]")
            .await(600, TimeUnit.SECONDS);
        w.close(ws).await(60, TimeUnit.SECONDS);
        w.shutdown();
        log.printf("warm-up: %d turns%n", w.turns.get());
      }

      List<Scenario> scenarios = new ArrayList<>();
      String message = "benchmark turn [in:bench] [pad:" + o.replyChars() + "]";
      for (int n : o.scenarios()) {
        Scenario s = scenario(vertx, gatewayPort, pid, n, o.turnsPerScenario(), message, o.scoped(), o.rate());
        log.printf("%d sessions: %.0f turns/s, final p50 %.1f ms, p99 %.1f ms%n", n, s.turnsPerSecond(), s.finalP50(),
            s.finalP99());
        scenarios.add(s);
      }
      double idleMb = 0;
      double idleBeforeMb = 0;
      if (o.idle() > 0) {
        Thread.sleep(3_000);
        idleBeforeMb = ProcessStats.rssMb(pid);
        LoadDriver d = new LoadDriver(vertx, gatewayPort, TOKEN, o.idle() + 10, o.scoped());
        List<LoadDriver.Session> held = d.connect("idle-", o.idle(), 200).await(600, TimeUnit.SECONDS);
        Thread.sleep(3_000);
        idleMb = ProcessStats.rssMb(pid);
        log.printf("%d idle connections: RSS %.1f MB%n", held.size(), idleMb);
        d.close(held).await(120, TimeUnit.SECONDS);
        d.shutdown();
      }
      List<Double> soak = new ArrayList<>();
      int soakTurns = 0;
      if (o.soak() > 0) {
        LoadDriver d = new LoadDriver(vertx, gatewayPort, TOKEN, 100, o.scoped());
        List<LoadDriver.Session> ss = d.connect("soak-", 64, 64).await(60, TimeUnit.SECONDS);
        // a tenth as many turns first, at the soak's own load, so the heap (started at -Xms) and the
        // bounded caches (sessions' history, finished runs) reach their working size: the drift
        // measured after that is growth that does not stop
        d.run(ss, Math.max(1, o.soak() / 10 / 64), message).await(3_600, TimeUnit.SECONDS);
        long settling = d.turns.get();
        // two halves of whole rounds over 64 sessions: at least the turns asked for
        int each = Math.max(1, (o.soak() + 127) / 128);
        soak.add(ProcessStats.rssMb(pid));
        d.run(ss, each, message).await(3_600, TimeUnit.SECONDS);
        soak.add(ProcessStats.rssMb(pid));
        d.run(ss, each, message).await(3_600, TimeUnit.SECONDS);
        soak.add(ProcessStats.rssMb(pid));
        soakTurns = (int) (d.turns.get() - settling);
        log.printf("soak: %d turns after %d settling turns, %d errors%n", soakTurns, settling, d.errors.get());
        d.close(ss).await(60, TimeUnit.SECONDS);
        d.shutdown();
      }
      Thread.sleep(3_000);
      double rssAfter = ProcessStats.rssMb(pid);
      long errors = scenarios.stream().mapToLong(Scenario::errors).sum();
      keep = errors > 0 || o.keep();
      return new Report(o, readyMs, rssIdle, scenarios, idleBeforeMb, idleMb, soakTurns, soak, rssAfter);
    } finally {
      stop(gateway);
      stop(model);
      vertx.close().await(30, TimeUnit.SECONDS);
      if (o.db().equals("pg")) {
        dropSchemas(schemaPrefix);
      }
      if (keep) {
        log.printf("bench: kept %s (gateway.log, data) to look into%n", root);
      } else {
        deleteTree(root);
      }
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (var paths = Files.walk(root)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static Scenario scenario(Vertx vertx, int port, long pid, int sessions, int turns, String message,
      boolean scoped, double rate) throws Exception {
    LoadDriver warm = new LoadDriver(vertx, port, TOKEN, sessions + 10, scoped);
    List<LoadDriver.Session> ss = warm.connect("s" + sessions + "-", sessions, 64).await(120, TimeUnit.SECONDS);
    warm.run(ss, 2, message).await(600, TimeUnit.SECONDS);
    // the same connections, fresh counters: what is measured excludes connecting and warm-up
    LoadDriver d = new LoadDriver(vertx, port, TOKEN, sessions + 10, scoped);
    List<LoadDriver.Session> measured = new ArrayList<>();
    for (LoadDriver.Session s : ss) {
      LoadDriver.Session m = d.new Session(s.key, s.ws);
      s.ws.textMessageHandler(m::onFrame);
      measured.add(m);
    }
    int each = Math.max(1, turns / sessions);
    Duration cpu0 = ProcessStats.cpu(pid);
    long t0 = System.nanoTime();
    double[] maxRss = {ProcessStats.rssMb(pid)};
    long sampler = vertx.setPeriodic(500, id -> maxRss[0] = Math.max(maxRss[0], ProcessStats.rssMb(pid)));
    (rate > 0 ? d.paced(measured, each, message, rate) : d.run(measured, each, message)).await(3_600, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - t0) / 1e9;
    vertx.cancelTimer(sampler);
    double cpuSeconds = (ProcessStats.cpu(pid).toNanos() - cpu0.toNanos()) / 1e9;
    warm.close(ss).await(60, TimeUnit.SECONDS);
    warm.shutdown();
    long done = d.turns.get();
    return new Scenario(sessions, done, d.errors.get(), seconds, done / seconds, d.firstDelta.percentileMs(50),
        d.firstDelta.percentileMs(90), d.firstDelta.percentileMs(99), d.firstDelta.maxMs(), d.finals.percentileMs(50),
        d.finals.percentileMs(90), d.finals.percentileMs(99), d.finals.maxMs(), done == 0 ? 0 : cpuSeconds / done,
        maxRss[0]);
  }

  /**
   * One workspace: its agent talks to the scripted model server ({@code instant}, {@code stream}),
   * or is the gateway's built-in echo provider ({@code echo}: two words a piece,
   * {@code --chunk-delay-ms} apart), with no model process in the path.
   */
  private static void writeWorkspace(Path root, int port, int modelPort, Options o) throws IOException {
    JsonObject model = o.model().equals("echo")
        ? new JsonObject().put("provider", "echo").put("options", new JsonObject().put("chunkWords", 2)
            .put("chunkDelayMs", o.streamDelayMs()))
        : new JsonObject().put("provider", "openai").put("model", "bench").put("apiKey", "sk-bench")
            .put("baseUrl", "http://127.0.0.1:" + modelPort + "/v1");
    JsonObject ws = new JsonObject().put("port", port)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("default", true).put("model", model)))
        .put("limits", new JsonObject().put("maxConcurrentTurns", 256).put("maxQueuedPerSession", 50));
    Files.createDirectories(root.resolve("workspaces/bench"));
    Files.writeString(root.resolve("workspaces/bench/workspace.json"), ws.encodePrettily());
  }

  private static long awaitReady(Vertx vertx, Process p, int port, long spawnedNanos) throws Exception {
    WebClient web = WebClient.create(vertx);
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline) {
        if (!p.isAlive()) {
          throw new IllegalStateException("the gateway exited with " + p.exitValue());
        }
        try {
          if (web.get(port, "127.0.0.1", "/ready").send().await(1, TimeUnit.SECONDS).statusCode() == 200) {
            return (System.nanoTime() - spawnedNanos) / 1_000_000;
          }
        } catch (Exception notYet) {
          // not listening yet
        }
        Thread.sleep(5);
      }
      throw new IllegalStateException("the gateway was not ready within 60 s");
    } finally {
      web.close();
    }
  }

  private static Process spawn(List<String> cmd, Path dir, List<String> env) throws IOException {
    return spawn(cmd, dir, env, null);
  }

  private static Process spawn(List<String> cmd, Path dir, List<String> env, Path logFile) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    if (logFile != null) {
      pb.redirectOutput(logFile.toFile());
    }
    for (String e : env) {
      int eq = e.indexOf('=');
      pb.environment().put(e.substring(0, eq), e.substring(eq + 1));
    }
    return pb.start();
  }

  /** Reads the process's output until a line starts with {@code prefix}; keeps draining it afterwards. */
  private static void awaitLine(Process p, String prefix, Duration timeout) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    long deadline = System.nanoTime() + timeout.toNanos();
    String line;
    while ((line = r.readLine()) != null) {
      if (line.startsWith(prefix)) {
        Thread drain = new Thread(() -> {
          try {
            while (r.readLine() != null) {
              // keep the pipe from filling up
            }
          } catch (IOException ignored) {
            // process ended
          }
        }, "bench-drain");
        drain.setDaemon(true);
        drain.start();
        return;
      }
      if (System.nanoTime() > deadline) {
        break;
      }
    }
    throw new IllegalStateException("process did not print \"" + prefix + "\"");
  }

  private static void stop(Process p) throws InterruptedException {
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String pgUrl() {
    String url = System.getenv("SWITCHBOARD_TEST_PG_URL");
    return url == null || url.isBlank() ? "jdbc:postgresql://127.0.0.1:5432/test" : url;
  }

  private static void dropSchemas(String prefix) {
    try (Connection c = DriverManager.getConnection(pgUrl(),
        System.getenv().getOrDefault("SWITCHBOARD_TEST_PG_USER", "postgres"), System.getenv("SWITCHBOARD_TEST_PG_PASSWORD"));
        Statement s = c.createStatement()) {
      List<String> schemas = new ArrayList<>();
      try (ResultSet rs = s.executeQuery("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '"
          + prefix + "%'")) {
        while (rs.next()) {
          schemas.add(rs.getString(1));
        }
      }
      for (String schema : schemas) {
        s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      }
    } catch (Exception e) {
      System.err.println("bench: could not drop schemas " + prefix + "*: " + e.getMessage());
    }
  }
}
