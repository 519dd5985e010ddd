-- The Dapr jobs Cadence has scheduled for its timers (with CADENCE_REMINDERS=dapr-jobs):
-- one row per timer whose job exists, at the time it was scheduled for. The
-- timers table stays the source of truth; this is what reconciles the two.
CREATE TABLE timer_jobs (
    timer_id UUID PRIMARY KEY,
    fire_at  BIGINT NOT NULL
);
