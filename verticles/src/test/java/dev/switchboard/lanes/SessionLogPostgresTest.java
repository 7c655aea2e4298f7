package dev.switchboard.lanes;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.TestDatabases;

class SessionLogPostgresTest extends SessionLogTest {
  @Override
  protected DatabaseConfig database() {
    return TestDatabases.postgres();
  }
}
