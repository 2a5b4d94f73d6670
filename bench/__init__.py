"""Benchmarks: each prints its ratios against an in-process baseline measured in the same run."""
