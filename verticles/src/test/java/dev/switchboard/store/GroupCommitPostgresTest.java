package dev.switchboard.store;

import dev.switchboard.support.TestDatabases;

class GroupCommitPostgresTest extends GroupCommitTest {
  @Override
  protected DatabaseConfig database() {
    return TestDatabases.postgres();
  }
}
