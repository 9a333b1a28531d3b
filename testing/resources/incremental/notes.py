"""Imported by no case: editing it must re-run nothing."""
