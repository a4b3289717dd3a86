"""Thin shim: metadata lives in pyproject.toml. Kept so Beam can ship the package to remote
workers with ``--setup_file ./setup.py``."""
from setuptools import setup

setup()
