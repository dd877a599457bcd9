"""The thin HTTP shim for the web UI: publishes invoke requests and reads results."""
