"""Test-suite settings shared by every test folder."""

from hypothesis import settings

# Property tests draw the same examples on every run (reproducible CI), and keep no
# example database in the working tree.
settings.register_profile("insertion_planner", derandomize=True, database=None, deadline=None)
settings.load_profile("insertion_planner")
