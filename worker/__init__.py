"""The manual trigger invocation service: shim, invoke worker, scheduler and CLI."""
