-- Switchboard workspace schema, version 4: token and cost accounting.
-- Every turn's agent_end carries its usage; EventStore.append adds it to the session's row in the
-- same transaction, so per-session and per-workspace totals (SUM over sessions) are always current.
-- Cost is kept in nano-USD (integers sum exactly); turns whose model has no configured price are
-- counted apart, so a total never silently understates what was spent.
ALTER TABLE sessions ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cached_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cost_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN unpriced_turns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN model_calls INTEGER NOT NULL DEFAULT 0;
