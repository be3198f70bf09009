-- 0010: a case's clock can be stopped (docs/contract.md 7.3, status "paused"): since when, why,
-- and how long it has been stopped in all, so its deadlines move by the paused time and the
-- ledger can show it.
ALTER TABLE cases ADD COLUMN paused_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN pause_reason TEXT;
ALTER TABLE cases ADD COLUMN paused_total INTEGER NOT NULL DEFAULT 0;
