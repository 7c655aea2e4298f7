-- Durable state of channel adapters per account, as name/value pairs: Telegram's getUpdates offset
-- (written only after every update below it is stored), the hash of the command list last sent to
-- the platform (so it is sent again only when it changed).
CREATE TABLE channel_state (
  channel    VARCHAR(64)   NOT NULL,
  account_id VARCHAR(128)  NOT NULL,
  name       VARCHAR(64)   NOT NULL,
  state      VARCHAR(4000) NOT NULL,
  updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (channel, account_id, name)
);

-- DM pairing: an unknown sender on an account with dmPolicy "pairing" gets a code; an operator
-- approves it. One pending request per sender; codes are unique per account.
CREATE TABLE pairing_requests (
  channel     VARCHAR(64)   NOT NULL,
  account_id  VARCHAR(128)  NOT NULL,
  sender_id   VARCHAR(256)  NOT NULL,
  sender_name VARCHAR(256),
  code        VARCHAR(16)   NOT NULL,
  target      VARCHAR(2000) NOT NULL,
  created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
  expires_at  TIMESTAMP WITH TIME ZONE NOT NULL,
  notified_at TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (channel, account_id, sender_id),
  CONSTRAINT pairing_code_once UNIQUE (channel, account_id, code)
);

-- Senders an operator approved: admitted to DMs on that account from then on.
CREATE TABLE pairing_approvals (
  channel     VARCHAR(64)  NOT NULL,
  account_id  VARCHAR(128) NOT NULL,
  sender_id   VARCHAR(256) NOT NULL,
  sender_name VARCHAR(256),
  approved_by VARCHAR(256),
  approved_at TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (channel, account_id, sender_id)
);

-- Failed approvals per account: after 5 in a row, approvals on that account are locked for a while.
CREATE TABLE pairing_lockouts (
  channel      VARCHAR(64)  NOT NULL,
  account_id   VARCHAR(128) NOT NULL,
  failures     INTEGER      NOT NULL,
  locked_until TIMESTAMP WITH TIME ZONE,
  updated_at   TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (channel, account_id)
);
