-- The W3C traceparent of the request that wrote each event, so its trace
-- follows the event through the relay and Dapr to the consumers. NULL when
-- tracing is off or the event was written outside a traced request.
ALTER TABLE outbox ADD COLUMN trace_parent TEXT;
