"""Headless runs, sweeps and the `minerals` command line."""
