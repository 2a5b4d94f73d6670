"""Usage metering: each tenant's jobs, sync requests, rows, CPU-seconds and bytes, per model and
day, counted in Redis by the scripts that do the work (see docs/tenants.md, "Usage")."""
