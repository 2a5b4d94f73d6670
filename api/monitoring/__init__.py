"""Model monitoring's HTTP side: reference intake, reports and alert settings."""
