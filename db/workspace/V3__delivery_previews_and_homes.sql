-- Streaming by edit: the platform message that shows a run's reply while it streams. Recorded
-- when the preview is created, so that after a restart the final text edits it instead of sending
-- a second copy.
CREATE TABLE stream_previews (
  run_id              VARCHAR(128) NOT NULL PRIMARY KEY,
  channel             VARCHAR(64)  NOT NULL,
  account_id          VARCHAR(128) NOT NULL,
  platform_message_id VARCHAR(256) NOT NULL,
  created_at          TIMESTAMP WITH TIME ZONE NOT NULL
);

-- The home chat of a channel account (/sethome), where automation delivers by default.
CREATE TABLE home_targets (
  channel    VARCHAR(64)  NOT NULL,
  account_id VARCHAR(128) NOT NULL,
  target     VARCHAR(2000) NOT NULL,
  set_by     VARCHAR(256),
  set_at     TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (channel, account_id)
);

-- Deliveries to an explicit target need not belong to a session.
ALTER TABLE outbox ALTER COLUMN session_id DROP NOT NULL;

-- An attempt whose outcome is unknown (timeout after the request left, lost ack, a crash while
-- sending) must be reconciled before anything is sent again; when the platform cannot tell, the
-- text is resent once, marked as a possible duplicate.
ALTER TABLE outbox ADD COLUMN reconcile BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE outbox ADD COLUMN marked BOOLEAN NOT NULL DEFAULT FALSE;
