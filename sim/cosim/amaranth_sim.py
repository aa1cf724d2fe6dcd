"""The same jobs on Amaranth's own simulator: no external tools, slow, good for quick unit tests."""
import time

from amaranth.sim import Simulator

from ...hdl.array import LimArray
from ...hdl.params import Counter, Reg, Region
from ..golden import Snapshot

__all__ = ["AmaranthSimulator", "BusBench"]


class BusBench:
    """The array's bus from an Amaranth testbench: a word written or read per cycle."""

    def __init__(self, ctx, dut):
        self.ctx, self.dut = ctx, dut

    async def write(self, address, data):
        self.ctx.set(self.dut.bus_addr, address)
        self.ctx.set(self.dut.bus_wdata, data & 0xFFFFFFFF)
        self.ctx.set(self.dut.bus_we, 1)
        await self.ctx.tick()
        self.ctx.set(self.dut.bus_we, 0)

    async def read(self, address):
        self.ctx.set(self.dut.bus_addr, address)
        await self.ctx.tick()
        return self.ctx.get(self.dut.bus_rdata)


class AmaranthSimulator:
    """Drop-in for :class:`Cosimulator` with the Python simulator (``run(jobs)``)."""
    simulator = "amaranth"

    def __init__(self, geometry, vcd_path=None):
        self.geometry = geometry
        self.vcd_path = vcd_path

    def run(self, jobs, progress_file=None):
        g = self.geometry
        dut = LimArray(g)
        results = []

        async def bench(ctx):
            bus = BusBench(ctx, dut)
            write, read = bus.write, bus.read
            for job in jobs:
                spec = job.spec()
                for address, data in spec["writes"]:
                    await write(address, data)
                for name, value in spec["config"].items():
                    await write(g.address(Region.REGS, Reg[name]), value)
                await write(g.address(Region.REGS, Reg.CONTROL), 1)
                snaps = []
                for sweeps in spec["chunks"]:
                    await write(g.address(Region.REGS, Reg.SWEEPS), sweeps)
                    t0 = time.perf_counter()
                    await write(g.address(Region.REGS, Reg.CONTROL), 2)
                    while ctx.get(dut.busy):
                        await ctx.tick()
                    wall = time.perf_counter() - t0
                    words = [await read(address) for address in g.state_addresses(spec["n_groups"])]
                    counter_words = [await read(g.address(Region.COUNTERS, k)) for k in range(2 * len(Counter))]
                    reg_words = [await read(g.address(Region.REGS, reg)) for reg in Snapshot.REGS]
                    snaps.append(Snapshot.from_bus(g, words, counter_words, reg_words))
                    snaps[-1].wall_s = wall
                    if progress_file:
                        with open(progress_file, "a") as f:
                            f.write(f"{spec['name']} {len(snaps)} {len(spec['chunks'])}\n")
                results.append(snaps)

        sim = Simulator(dut)
        sim.add_clock(1e-8)
        sim.add_testbench(bench)
        if self.vcd_path:
            with sim.write_vcd(str(self.vcd_path)):
                sim.run()
        else:
            sim.run()
        return results
