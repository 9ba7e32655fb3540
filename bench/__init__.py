"""Benchmarks and independent checks, run by hand (see bench/README.md)."""
