"""Matrix layer: a profile (which experiments, frameworks, devices and workloads) expanded into jobs."""
