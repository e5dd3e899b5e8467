# Empty dependencies file for ustack.
# This may be replaced when dependencies are built.
