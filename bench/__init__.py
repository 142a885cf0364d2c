"""Benchmarks run by `make bench`: each measures our code against a baseline in the same run."""
