-- Participants of a session (people, by linked name or platform id), one row each, so adding one
-- is a portable insert-if-absent instead of rewriting a JSON list.
CREATE TABLE session_participants (
  session_id VARCHAR(64)  NOT NULL,
  person     VARCHAR(256) NOT NULL,
  first_seen TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (session_id, person)
);
ALTER TABLE sessions DROP COLUMN participants;
