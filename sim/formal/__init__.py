"""Formal verification of the RTL with SymbiYosys: harnesses (properties) and the prover."""
