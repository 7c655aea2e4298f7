-- A message several agents answer (a broadcast group): one row per agent's run. The inbound row is
-- finished only when every share is, so a restart between two agents' turns runs only the agents
-- that had not finished, each exactly once.
CREATE TABLE inbound_shares (
  inbound_id VARCHAR(64)  NOT NULL,
  run_id     VARCHAR(128) NOT NULL,
  agent_id   VARCHAR(128) NOT NULL,
  status     VARCHAR(32)  NOT NULL,
  updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (inbound_id, run_id)
);
