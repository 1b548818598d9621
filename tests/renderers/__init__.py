"""Renderers of synthetic cortex images written apart from ``insertion_planner.synthetic``."""
