-- Half of each new page of deliveries stays free, so that a claim's update
-- (the lease and the attempt, in no index) is a heap-only tuple beside the
-- row it replaces, writing no new entry in the table's three indexes. Full
-- pages (the default) sent every claimed row to another page with an entry
-- in each index, 100 a round. The finish still moves its row: `done_at` is
-- in the open deliveries' index predicates.
-- API creates at 2,400 a second offered (oha, 64 connections, three runs
-- each, interleaved): 13.4 against 13.9 core-seconds of the whole machine
-- for 10 s. Their p99 moved within the machine's noise, either way.
ALTER TABLE outbox_deliveries SET (fillfactor = 50);
