-- Switchboard workspace schema, version 1.
-- Runs unchanged on H2 (PostgreSQL mode) and PostgreSQL 15+. Every workspace has its own schema,
-- so no table carries a workspace column. JSON is stored as text and parsed in Java.
-- Ids are application-generated, time-ordered strings (UUIDv7).

-- A session is a durable thread. It is never closed, only made inactive.
CREATE TABLE sessions (
  id                 VARCHAR(64)  NOT NULL PRIMARY KEY,
  session_key        VARCHAR(512) NOT NULL,
  agent_id           VARCHAR(128) NOT NULL,
  status             VARCHAR(32)  NOT NULL,
  source             VARCHAR(4000) NOT NULL,
  metadata           TEXT         NOT NULL,
  created_at         TIMESTAMP WITH TIME ZONE NOT NULL,
  last_activity_at   TIMESTAMP WITH TIME ZONE NOT NULL,
  last_seq           BIGINT       NOT NULL DEFAULT 0,
  message_count      INTEGER      NOT NULL DEFAULT 0,
  turn_count         INTEGER      NOT NULL DEFAULT 0,
  description        VARCHAR(1000),
  description_source VARCHAR(32),
  last_preview       VARCHAR(500),
  working_memory     TEXT,
  participants       VARCHAR(4000) NOT NULL DEFAULT '[]'
);
CREATE INDEX sessions_by_key ON sessions (session_key);
CREATE INDEX sessions_by_activity ON sessions (last_activity_at);

-- The session a key currently points at; /new and /reset move it to a fresh session.
CREATE TABLE session_heads (
  session_key VARCHAR(512) NOT NULL PRIMARY KEY,
  session_id  VARCHAR(64)  NOT NULL,
  agent_id    VARCHAR(128) NOT NULL,
  updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Append-only log of everything that happened in a session, numbered per session.
CREATE TABLE session_events (
  session_id VARCHAR(64)  NOT NULL,
  seq        BIGINT       NOT NULL,
  type       VARCHAR(32)  NOT NULL,
  run_id     VARCHAR(128),
  payload    TEXT         NOT NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (session_id, seq)
);
CREATE INDEX session_events_by_run ON session_events (run_id);

-- Every accepted inbound message, stored before the platform is acknowledged. The unique key makes
-- a replayed update (webhook retry, long-poll replay, repeated idempotency key) a no-op.
CREATE TABLE inbound (
  id                  VARCHAR(64)  NOT NULL PRIMARY KEY,
  channel             VARCHAR(64)  NOT NULL,
  account_id          VARCHAR(128) NOT NULL,
  platform_message_id VARCHAR(256) NOT NULL,
  run_id              VARCHAR(128) NOT NULL,
  session_key         VARCHAR(512),
  session_id          VARCHAR(64),
  status              VARCHAR(32)  NOT NULL,
  payload             TEXT         NOT NULL,
  received_at         TIMESTAMP WITH TIME ZONE NOT NULL,
  updated_at          TIMESTAMP WITH TIME ZONE NOT NULL,
  CONSTRAINT inbound_once UNIQUE (channel, account_id, platform_message_id)
);
CREATE INDEX inbound_by_status ON inbound (status, received_at);
CREATE INDEX inbound_by_run ON inbound (run_id);

-- Delivery obligations: written in the same transaction as the reply they deliver.
CREATE TABLE outbox (
  id              VARCHAR(64)  NOT NULL PRIMARY KEY,
  run_id          VARCHAR(128) NOT NULL,
  session_id      VARCHAR(64)  NOT NULL,
  channel         VARCHAR(64)  NOT NULL,
  account_id      VARCHAR(128) NOT NULL,
  target          VARCHAR(4000) NOT NULL,
  payload         TEXT         NOT NULL,
  status          VARCHAR(16)  NOT NULL,
  attempts        INTEGER      NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP WITH TIME ZONE NOT NULL,
  created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
  updated_at      TIMESTAMP WITH TIME ZONE NOT NULL,
  delivered_at    TIMESTAMP WITH TIME ZONE,
  last_error      VARCHAR(2000),
  receipts        TEXT         NOT NULL DEFAULT '[]'
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_run ON outbox (run_id);

-- The memory engine's entries: facts an agent keeps across sessions.
CREATE TABLE memory_entries (
  id                VARCHAR(64)  NOT NULL PRIMARY KEY,
  agent_id          VARCHAR(128) NOT NULL,
  kind              VARCHAR(32)  NOT NULL,
  text              TEXT         NOT NULL,
  tags              VARCHAR(1000) NOT NULL DEFAULT '[]',
  source_session_id VARCHAR(64),
  created_at        TIMESTAMP WITH TIME ZONE NOT NULL,
  updated_at        TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX memory_by_agent ON memory_entries (agent_id, updated_at);
