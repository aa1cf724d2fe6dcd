"""cocotb bench for the LIM array: loads jobs over the bus, lets the RTL run free, reads back.

It never steps the design from Python while it anneals: after ``start`` it waits for the
falling edge of ``busy``, so Verilator runs at native speed. Jobs come from the JSON file named
by LIM_JOBS and results go to LIM_RESULTS; the comparison with the golden model is the caller's.
"""
import json
import os
import time

from .lifeline import die_with_host

die_with_host()   # first, before the slower imports: the simulator ends with its host

import cocotb  # noqa: E402
from cocotb.triggers import FallingEdge, RisingEdge  # noqa: E402

from ...hdl.params import Counter, Reg, Region  # noqa: E402
from ..golden import Snapshot  # noqa: E402


class ArrayBus:
    """Drives the array's address/data bus: inputs change on falling edges, one cycle per write,
    two per read. The test top level (runner.generate_verilog) passes inputs on at the next
    rising edge, so a read's data shows one falling edge later than the array alone would."""

    def __init__(self, dut, geometry):
        self.dut = dut
        self.geometry = geometry

    async def write(self, address, data):
        dut = self.dut
        dut.bus_addr.value = address
        dut.bus_wdata.value = data & 0xFFFFFFFF
        dut.bus_we.value = 1
        await FallingEdge(dut.clk)
        dut.bus_we.value = 0

    async def write_many(self, writes):
        for address, data in writes:
            await self.write(address, data)

    async def read(self, address):
        self.dut.bus_addr.value = address
        await FallingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        value = self.dut.bus_rdata.value
        if not value.is_resolvable:
            raise ValueError(f"X at address {address:#x}: {value}")
        return int(value)

    async def reg(self, reg, value):
        await self.write(self.geometry.address(Region.REGS, reg), value)

    async def read_counter_words(self):
        """All counters as the bus gives them: two words each, low first."""
        g = self.geometry
        return [await self.read(g.address(Region.COUNTERS, k)) for k in range(2 * len(Counter))]


async def run_job(dut, bus, job):
    g = bus.geometry
    await bus.write_many(job["writes"])
    for name, value in job["config"].items():
        await bus.reg(Reg[name], value)
    await bus.reg(Reg.CONTROL, 1)  # init
    await bus.write_many(job.get("presets", []))   # counters loaded (counter_preset builds)
    checkpoints = []
    for sweeps in job["chunks"]:
        await bus.reg(Reg.SWEEPS, sweeps)
        t0 = time.perf_counter()
        await bus.reg(Reg.CONTROL, 2)  # start
        await FallingEdge(dut.clk)
        while int(dut.busy.value):   # busy is combinational: an event simulator may show it
            await FallingEdge(dut.busy)   # glitch low between two register updates, so check
            await FallingEdge(dut.clk)    # it again on the clock
        wall = time.perf_counter() - t0
        rows = [await bus.read(address) for address in g.state_addresses(job["n_groups"])]
        checkpoints.append({
            "rows": rows,
            "counter_words": await bus.read_counter_words(),
            "reg_words": [await bus.read(g.address(Region.REGS, reg)) for reg in Snapshot.REGS],
            "wall_s": wall,
        })
        progress = os.environ.get("LIM_PROGRESS")
        if progress:
            with open(progress, "a") as f:
                f.write(f"{job['name']} {len(checkpoints)} {len(job['chunks'])}\n")
    return {"name": job["name"], "checkpoints": checkpoints}


@cocotb.test()
async def run_jobs(dut):
    """Run every job of LIM_JOBS in order on one design instance and write LIM_RESULTS."""
    from ...hdl.params import ArrayGeometry
    spec = json.loads(open(os.environ["LIM_JOBS"]).read())
    bus = ArrayBus(dut, ArrayGeometry(**spec["geometry"]))
    dut.bus_we.value = 0
    dut.bus_addr.value = 0
    dut.bus_wdata.value = 0
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    geometry_word = await bus.read(bus.geometry.address(Region.REGS, Reg.GEOMETRY))
    results = {"geometry_word": geometry_word, "jobs": []}
    for job in spec["jobs"]:
        results["jobs"].append(await run_job(dut, bus, job))
    tmp = os.environ["LIM_RESULTS"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f)
    os.replace(tmp, os.environ["LIM_RESULTS"])
