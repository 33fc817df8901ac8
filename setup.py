"""Shim for hosts whose pip or setuptools predates pyproject.toml; metadata lives there."""

from setuptools import setup

setup()
