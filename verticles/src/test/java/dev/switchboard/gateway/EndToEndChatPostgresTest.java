package dev.switchboard.gateway;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.TestDatabases;

/** The same end-to-end turns on PostgreSQL (a fresh schema per test, dropped afterwards). */
class EndToEndChatPostgresTest extends EndToEndChatTest {
  @Override
  protected DatabaseConfig database() {
    return TestDatabases.postgres();
  }
}
