"""RunInfoDiffer: what changed in the CMS HCAL configuration between two runs."""

__version__ = "0.1.0"
