"""Build, check and benchmark scripts (run as files, or scripts.bench as a module)."""
