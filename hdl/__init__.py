"""Amaranth RTL of the learning-in-memory array. Depends on nothing else of this project."""
