"""The run store's parts, one job each; callers use them through core/runs.py (`runs.<name>`)."""
