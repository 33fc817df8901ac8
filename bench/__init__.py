"""Benchmarks behind `make bench` (`python -m bench.run`). bench/run.py describes the layout."""
