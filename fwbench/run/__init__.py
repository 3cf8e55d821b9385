"""Run layer: executes a profile's jobs with papermill and decides which stored results can be reused."""
