package dev.switchboard.store;

import dev.switchboard.support.TestDatabases;

class StorePostgresTest extends StoreTest {
  @Override
  protected DatabaseConfig database() {
    return TestDatabases.postgres();
  }
}
