-- Workflows, their triggers and members, and the executions the scheduler records.

CREATE TABLE workflows (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    owner       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workflow_members (
    workflow_id text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    role        text NOT NULL CHECK (role IN ('viewer', 'operator', 'editor', 'owner')),
    PRIMARY KEY (workflow_id, user_id)
);

CREATE TABLE workflow_triggers (
    workflow_id       text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    id                text NOT NULL,
    type              text NOT NULL
                      CHECK (type IN ('CRON', 'WEBHOOK', 'EMAIL', 'GITHUB', 'SLACK', 'MANUAL')),
    config            jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled           boolean NOT NULL DEFAULT true,
    manual_invocation boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, id)
);

CREATE TABLE workflow_executions (
    execution_id text PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    workflow_id  text NOT NULL,
    trigger_id   text NOT NULL,
    trigger_type text NOT NULL,
    status       text NOT NULL DEFAULT 'pending',
    trigger_data jsonb NOT NULL,
    input_data   jsonb,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- An event for a trigger that does not exist is a permanent error, caught by this key.
    FOREIGN KEY (workflow_id, trigger_id) REFERENCES workflow_triggers (workflow_id, id)
);

CREATE INDEX workflow_executions_by_workflow
    ON workflow_executions (workflow_id, created_at DESC);
CREATE INDEX workflow_executions_by_trigger
    ON workflow_executions (workflow_id, trigger_id, created_at DESC);
