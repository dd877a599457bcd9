-- Per-workflow overrides of the invocation rate limits (NULL: the service defaults).
ALTER TABLE workflows
    ADD COLUMN rate_limit_per_user_per_minute integer
        CHECK (rate_limit_per_user_per_minute > 0),
    ADD COLUMN rate_limit_per_workflow_per_minute integer
        CHECK (rate_limit_per_workflow_per_minute > 0);
