# Empty dependencies file for ustack-runner.
# This may be replaced when dependencies are built.
