"""Measuring layer: what runs inside a job: timing, steady-state detection, statistics, thread checks, the machine fingerprint and metric units."""
