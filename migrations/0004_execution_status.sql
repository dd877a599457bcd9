-- An execution's life after it is recorded, as the workflow engine reports it
-- (contracts/executions.py): when it started and finished, its output or its error.
ALTER TABLE workflow_executions
    ADD COLUMN started_at  timestamptz,
    ADD COLUMN finished_at timestamptz,
    ADD COLUMN output      jsonb,
    ADD COLUMN error       jsonb,
    ADD COLUMN engine      text,
    ADD COLUMN updated_at  timestamptz,
    ADD CONSTRAINT workflow_executions_status_check
        CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled'));

-- What an engine looks for: the executions nobody has started yet.
CREATE INDEX workflow_executions_pending
    ON workflow_executions (created_at) WHERE status = 'pending';

-- And the runs an engine took and may have to finish after a restart (the stand-in engine,
-- worker/engine.py, resumes its own).
CREATE INDEX workflow_executions_running
    ON workflow_executions (created_at) WHERE status = 'running';
