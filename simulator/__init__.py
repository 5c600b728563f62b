"""Physics of the machine and of the person on it, used to test everything else."""
