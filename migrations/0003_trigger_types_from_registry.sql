-- Trigger types are listed once, in the code's registry (contracts/registry.py): the service
-- parses every type it writes (`manual-trigger apply`, the demo) and reads through that list,
-- so the database no longer repeats it. A type added to the registry needs no migration.
ALTER TABLE workflow_triggers DROP CONSTRAINT IF EXISTS workflow_triggers_type_check;
-- What every type name looks like (upper case, as the registry spells them) stays checked.
ALTER TABLE workflow_triggers
    ADD CONSTRAINT workflow_triggers_type_name CHECK (type ~ '^[A-Z][A-Z0-9_]{0,63}$');
