"""Registered copies of a broadcast strobe or address, one per lane, that synthesis keeps apart.

A strobe that reaches every lane's generator (128 state registers a lane) spans the chip: on the
32-lane ECP5 builds its routing alone took 20 ns. A copy per lane, each registered from the same
source, drives one lane's registers from nearby. (The programmable lanes' registered group, which
selects each lane's field among its banks, was one register after merging: 8 ns of routing to
the far lanes on the ULX3S.) Yosys merges registers with the same input
(opt_merge) unless they carry ``keep``, and an HDL attribute lands on the wire, not on the
register; ``KEEP_REPLICAS`` (run after the design is read) moves it to the registers.
"""
from amaranth.hdl import Signal

__all__ = ["KEEP_REPLICAS", "REPLICA_ATTRIBUTE", "replica"]

#: The attribute that marks a replica's wire.
REPLICA_ATTRIBUTE = "lim_replica"

#: Yosys commands that set ``keep`` on the registers driving replica wires (processes first
#: become registers, so that there are registers to mark).
KEEP_REPLICAS = f"proc\nsetattr -set keep 1 a:{REPLICA_ATTRIBUTE} %ci1:+$dff[Q] t:$dff %i"


def replica(m, value, name):
    """A register holding ``value`` a cycle late, kept as its own register by synthesis."""
    copy = Signal(value.shape(), name=name, attrs={REPLICA_ATTRIBUTE: 1})
    m.d.sync += copy.eq(value)
    return copy
