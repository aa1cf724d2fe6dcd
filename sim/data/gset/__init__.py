"""The Gset instances shipped with the package (data files, read through importlib.resources)."""
