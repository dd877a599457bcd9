"""The shim's routes, one router per concern; `worker.shim.app` includes them."""
