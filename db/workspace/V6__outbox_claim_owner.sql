-- Which delivery process claimed an obligation now being sent. Every step out of 'sending' names
-- its owner, so a sender that lost its claim (a newer process took the obligation over at start)
-- cannot overwrite what the new owner does; a process starting up takes over only what other
-- processes left in 'sending', never its own claims.
ALTER TABLE outbox ADD COLUMN claimed_by VARCHAR(64);
