-- Which worker holds a row while it delivers it. A claim lasts a short lease that the
-- worker renews while it works; the worker's writes apply only while the claim is
-- still its own, so a row taken over after a stalled or crashed worker's lease ran out
-- is never settled twice.
ALTER TABLE authentik_outbox ADD COLUMN claimed_by UUID;
