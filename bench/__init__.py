"""Benchmarks, correctness runs and data preparation; none of it is part of the service.

Everything runs as a module from the repo root (``.venv/bin/python -m bench.<name>``);
``bench/README.md`` says what each script measures or checks.
"""
