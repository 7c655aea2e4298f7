package dev.switchboard.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The packaged gateway jar as a child process, started the way {@code bin/switchboard} starts it,
 * in a copy of the repository's conf/ and workspaces/ with ports shifted to free ones. Stopped by
 * its own PID only.
 */
public final class GatewayProcess implements AutoCloseable {
  private static final Pattern URL_LINE = Pattern.compile("^\\s+(\\S+)\\s+(http://\\S+)$");

  private final Process process;
  private final List<String> stdout = new ArrayList<>();
  private final List<String> stderr = new ArrayList<>();
  private final Map<String, String> urls = new LinkedHashMap<>();

  private final int expectedWorkspaces;

  private GatewayProcess(Process process, int expectedWorkspaces) {
    this.process = process;
    this.expectedWorkspaces = expectedWorkspaces;
  }

  /** A fresh root holding copies of the repository's conf/ and workspaces/. */
  public static Path copyRepositoryLayout(Path target) throws IOException {
    Path repo = Path.of(System.getProperty("switchboard.root", "..")).toAbsolutePath().normalize();
    for (String dir : List.of("conf", "workspaces")) {
      Path from = repo.resolve(dir);
      try (Stream<Path> files = Files.walk(from)) {
        for (Path p : files.toList()) {
          Path to = target.resolve(repo.relativize(p).toString());
          if (Files.isDirectory(p)) {
            Files.createDirectories(to);
          } else {
            Files.copy(p, to, StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
    }
    return target;
  }

  /** An offset that moves the example ports 18789 and 18790 onto two free ports. */
  public static int freePortOffset() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int p;
      try (ServerSocket s = new ServerSocket(0)) {
        p = s.getLocalPort();
      }
      if (p + 1 > 65535) {
        continue;
      }
      try (ServerSocket s = new ServerSocket(p + 1)) {
        return p - 18789;
      } catch (IOException taken) {
        // try another pair
      }
    }
    throw new IOException("no two adjacent free ports");
  }

  public static GatewayProcess start(Path root, Map<String, String> env, Duration readyTimeout) throws Exception {
    return start(root, env, readyTimeout, 2);
  }

  /** Starts the jar in {@code root} and waits until it printed the URLs of {@code workspaces} workspaces. */
  public static GatewayProcess start(Path root, Map<String, String> env, Duration readyTimeout, int workspaces)
      throws Exception {
    Path jar = Path.of(System.getProperty("switchboard.jar", "target/switchboard.jar")).toAbsolutePath();
    if (!Files.exists(jar)) {
      throw new IllegalStateException("no jar at " + jar + " (integration tests run after package)");
    }
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xms32m", "-XX:+UseSerialGC", "-jar", jar.toString());
    pb.directory(root.toFile());
    pb.environment().put("SWITCHBOARD_HOME", root.toString());
    pb.environment().putAll(env);
    GatewayProcess gp = new GatewayProcess(pb.start(), workspaces);
    gp.pump(gp.process.getInputStream(), gp.stdout, true);
    gp.pump(gp.process.getErrorStream(), gp.stderr, false);
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    synchronized (gp.stdout) {
      while (gp.urls.isEmpty() || gp.stdout.stream().noneMatch(l -> l.startsWith("Switchboard ready"))
          || !gp.lastUrlLineSeen()) {
        if (!gp.process.isAlive()) {
          throw new IllegalStateException("gateway exited with " + gp.process.exitValue() + ": " + gp.stderr);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          gp.close();
          throw new IllegalStateException("gateway not ready in " + readyTimeout + "; stderr: " + gp.stderr);
        }
        gp.stdout.wait(Math.max(1, left / 1_000_000));
      }
    }
    return gp;
  }

  private boolean lastUrlLineSeen() {
    // the ready banner is followed by one URL line per workspace
    return urls.size() >= expectedWorkspaces || stdout.stream().anyMatch(l -> l.startsWith("Not started"));
  }

  private void pump(java.io.InputStream in, List<String> sink, boolean parseUrls) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (stdout) {
            sink.add(line);
            Matcher m = URL_LINE.matcher(line);
            if (parseUrls && m.matches()) {
              urls.put(m.group(1), m.group(2));
            }
            stdout.notifyAll();
          }
        }
      } catch (IOException ignored) {
        // process ended
      }
    }, "gateway-output");
    t.setDaemon(true);
    t.start();
  }

  public Map<String, String> urls() {
    synchronized (stdout) {
      return Map.copyOf(urls);
    }
  }

  public List<String> stdout() {
    synchronized (stdout) {
      return List.copyOf(stdout);
    }
  }

  public List<String> stderr() {
    synchronized (stdout) {
      return List.copyOf(stderr);
    }
  }

  public long pid() {
    return process.pid();
  }

  /** Sends SIGTERM and waits for the exit; returns the exit code. */
  public int terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("gateway " + pid() + " did not exit within " + timeout + " of SIGTERM");
    }
    return process.exitValue();
  }

  /** SIGKILL: no shutdown hook runs. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
