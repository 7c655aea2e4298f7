package dev.switchboard.bench;

import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.Obligation;
import dev.switchboard.store.OutboxStore;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Obligations delivered per second to an instant stand-in channel, on H2 and on PostgreSQL: the
 * cost of delivery itself (claim, send over the bus, record the receipt, mark delivered). A figure,
 * not a test. Run with {@code bin/bench-delivery [obligations]}.
 */
public final class DeliveryThroughput {
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 5_000;
    List<String> dbs = new ArrayList<>(List.of("h2-file"));
    if (TestDatabases.postgresReachable()) {
      dbs.add("postgresql");
    }
    System.out.printf("obligations per run: %d; cores: %d; java %s%n", n, Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    for (String kind : dbs) {
      for (int run = 1; run <= 3; run++) {
        System.out.printf("%-10s run %d: %,.0f obligations/s%n", kind, run, measure(kind, n));
      }
    }
    System.exit(0);
  }

  static double measure(String kind, int n) throws Exception {
    Vertx vertx = Vertx.vertx();
    Path root = Files.createTempDirectory("sb-bench");
    DatabaseConfig db = kind.equals("postgresql") ? TestDatabases.postgres() : TestDatabases.h2File(root.resolve("data"));
    try (TestGateway gw = TestGateway.in(vertx, root, db).workspace("w", TestGateway.echoWorkspace()).start()) {
      String schema = db.workspaceSchema("w");
      vertx.eventBus().<JsonObject>localConsumer("ws.w." + ChannelOutlet.address("bench", "default"),
          m -> m.reply(ChannelOutlet.Receipt.of("p").toJson())).completion().await(10, TimeUnit.SECONDS);
      vertx.eventBus().request("ws.w." + DeliveryAddresses.REGISTER,
          new ChannelOutlet.Profile("bench", "default", 4096, false, 0, "markdown", false).toJson()).await(10, TimeUnit.SECONDS);
      Pool pool = Database.pool(vertx, db, schema);
      OutboxStore outbox = new OutboxStore(pool);
      ReplyTarget target = new ReplyTarget("bench", "default", "direct", "chat", null, null);
      List<Obligation> all = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        all.add(Obligation.create("run-" + i, null, "bench", "default", target.toJson(),
            new JsonObject().put("text", "reply number " + i)));
      }
      // committed first, then dispatched all at once: the figure is delivery's, not the inserts'
      for (int i = 0; i < n; i += 500) {
        List<Obligation> batch = all.subList(i, Math.min(n, i + 500));
        pool.withTransaction(c -> Future.all(batch.stream().map(o -> outbox.insert(c, o)).toList()))
            .await(60, TimeUnit.SECONDS);
      }
      long start = System.nanoTime();
      for (Obligation o : all) {
        vertx.eventBus().send("ws.w." + DeliveryAddresses.DISPATCH, new JsonObject().put("obligationId", o.id()));
      }
      while (outbox.countByStatus(Obligation.DELIVERED).await(30, TimeUnit.SECONDS) < n) {
        Thread.sleep(5);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      pool.close().await(10, TimeUnit.SECONDS);
      return n / seconds;
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
      if (kind.equals("postgresql")) {
        TestDatabases.dropSchemas(db);
      }
    }
  }
}
