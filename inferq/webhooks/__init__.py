"""Webhooks: signed callbacks when a job ends, with their secrets, schedule and safety checks."""
