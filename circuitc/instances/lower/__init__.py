"""Lowering: circuits of the Spec → `SmallMLP`s, ReLU layers of a common width with an on-indicator."""
