"""Model monitoring: reference profiles, serving histograms, drift and data quality."""
