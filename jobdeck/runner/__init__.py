"""Running jobs: the registry of job types, the context a job sees, workers and their supervisor."""
