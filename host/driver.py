"""One driver for a LIM board, real or simulated: identify, load, configure, run, read back.

Every operation is built from the board's WRITE and READ frames (hdl/protocol.py). A frame that
gets no valid reply within ``timeout_s`` is sent again with the same sequence number; the board
answers a repeated WRITE without executing it twice.
"""
import struct
import time


from ..hdl.params import ArrayGeometry, Counter, Reg, Region
from ..hdl.protocol import MAGIC, MAX_PAYLOAD, PROTOCOL_VERSION, Command, Status
from ..sim.golden import Snapshot
from .protocol import ProtocolError, ReplyParser, encode_frame

__all__ = ["LimBoard", "BoardIdentity"]

# The driver only sends well-formed frames (encode_frame checks them), so a length the board
# rejects was corrupted on the line before the board could check the CRC: retry it too.
_RETRYABLE = {Status.BAD_CRC, Status.TIMEOUT, Status.BAD_LENGTH}
BOARD_NAMES = {0: "simulated", 1: "icebreaker", 2: "ulx3s"}


class BoardIdentity:
    def __init__(self, payload):
        if payload[:4] != MAGIC:
            raise ProtocolError(f"not a LIM board (magic {payload[:4]!r})")
        version = payload[4]
        if version != PROTOCOL_VERSION:
            raise ProtocolError(f"board speaks protocol {version}, this host {PROTOCOL_VERSION}")
        board_id, lanes, weight_bits, counter_bits, cell_bits, features = payload[5:11]
        groups, edge_depth, clk_hz, digest, field_banks = struct.unpack_from("<HIIIB", payload, 11)
        self.compiled = bool(features & 2)
        self.problem_digest = digest if self.compiled else None
        self.version = version
        self.board = BOARD_NAMES.get(board_id, f"board {board_id}")
        self.clk_hz = clk_hz
        self.geometry = ArrayGeometry(lanes=lanes, groups=groups, edge_depth=edge_depth,
                                      weight_bits=weight_bits, counter_bits=counter_bits, cell_bits=cell_bits,
                                      logarithmic_barrier=bool(features & 1), field_banks=field_banks,
                                      streaming=bool(features & 4))

    def to_dict(self):
        g = self.geometry
        return {"board": self.board, "protocol": self.version, "clk_hz": self.clk_hz, "lanes": g.lanes,
                "groups": g.groups, "edge_depth": g.edge_depth, "field_banks": g.field_banks, "weight_bits": g.weight_bits,
                "counter_bits": g.counter_bits, "logarithmic_barrier": g.logarithmic_barrier, "streaming": g.streaming,
                "compiled_problem": None if self.problem_digest is None else f"{self.problem_digest:08x}"}


class LimBoard:
    def __init__(self, transport, timeout_s=1.0, retries=8, poll_s=0.05):
        self.transport = transport
        self.timeout_s = timeout_s
        self.retries = retries
        self.poll_s = poll_s
        self.parser = ReplyParser()
        self.seq = 0
        self.stats = {"frames": 0, "retries": 0, "error_replies": 0}
        self.identity = self.identify()
        self.geometry = self.identity.geometry

    # ---- frames ---------------------------------------------------------------------------
    def transact(self, code, payload=b""):
        self.seq = (self.seq + 1) & 0xFF
        frame = encode_frame(code, self.seq, payload)
        last = "no reply"
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.stats["frames"] += 1
            self.transport.write(frame)
            reply = self._await_reply(self.seq)
            if reply is None:
                last = f"no reply within {self.timeout_s:g} s"
                continue
            if reply.status == Status.OK:
                return reply.payload
            self.stats["error_replies"] += 1
            last = f"board replied {reply.status.name}"
            if reply.status not in _RETRYABLE:
                raise ProtocolError(f"{Command(code).name}: {last}")
        raise ProtocolError(f"{Command(code).name}: {last} after {self.retries + 1} attempts "
                            f"on {self.transport.name}")

    def _await_reply(self, seq):
        deadline = time.monotonic() + self.timeout_s
        while (left := deadline - time.monotonic()) > 0:
            for reply in self.parser.feed(self.transport.read(left)):
                if reply.seq == seq:
                    return reply
        return None

    def identify(self):
        return BoardIdentity(self.transact(Command.IDENTIFY))

    def reset(self):
        self.transact(Command.RESET)

    def write_words(self, address, words):
        per_frame = MAX_PAYLOAD // 4 - 1
        for k in range(0, len(words), per_frame):
            chunk = words[k:k + per_frame]
            self.transact(Command.WRITE, struct.pack(f"<I{len(chunk)}I", address + k, *chunk))

    def read_words(self, address, count):
        out = []
        per_frame = MAX_PAYLOAD // 4
        for k in range(0, count, per_frame):
            n = min(per_frame, count - k)
            payload = self.transact(Command.READ, struct.pack("<II", address + k, n))
            out += struct.unpack(f"<{n}I", payload)
        return out

    # ---- the array ------------------------------------------------------------------------
    def write_bus(self, writes):
        """(address, data) pairs, sent as bursts of consecutive addresses within one write window."""
        window = self.geometry.index_bits
        run_start, run = None, []
        for address, data in writes:
            if (run and address == run_start + len(run) and len(run) < MAX_PAYLOAD // 4 - 1
                    and address >> window == run_start >> window):
                run.append(data & 0xFFFFFFFF)
                continue
            if run:
                self.write_words(run_start, run)
            run_start, run = address, [data & 0xFFFFFFFF]
        if run:
            self.write_words(run_start, run)

    def reg(self, reg, value):
        self.write_words(self.geometry.address(Region.REGS, reg), [value])

    def busy(self):
        return bool(self.read_words(self.geometry.address(Region.REGS, Reg.STATUS), 1)[0] & 1)

    def run_sweeps(self, sweeps):
        self.reg(Reg.SWEEPS, sweeps)
        self.reg(Reg.CONTROL, 2)
        while self.busy():
            time.sleep(self.poll_s)

    def snapshot(self, n_groups):
        g = self.geometry
        reg_words = [self.read_words(g.address(Region.REGS, reg), 1)[0] for reg in Snapshot.REGS]
        addresses = g.state_addresses(n_groups)   # runs of n_groups consecutive addresses
        state = [w for k in range(0, len(addresses), n_groups) for w in self.read_words(addresses[k], n_groups)]
        return Snapshot.from_bus(g, state,
                                 self.read_words(g.address(Region.COUNTERS, 0), 2 * len(Counter)), reg_words)

    def run(self, jobs, progress_file=None):
        """The same interface as the simulators' runners: one list of Snapshots per job."""
        results = []
        for job in jobs:
            if job.program.geometry != self.geometry:
                raise ProtocolError(f"the job is mapped for {job.program.geometry}, the board is {self.geometry}")
            if self.identity.compiled and job.program.digest() != self.identity.problem_digest:
                raise ProtocolError(f"the board holds another compiled problem ({self.identity.problem_digest:08x}, "
                                    f"this job's is {job.program.digest():08x}): build it with lim build --problem")
            spec = job.spec(program=not self.identity.compiled)   # a compiled board holds the program
            self.write_bus(spec["writes"])
            for name, value in spec["config"].items():
                self.reg(Reg[name], value)
            self.reg(Reg.CONTROL, 1)
            snaps = []
            for sweeps in spec["chunks"]:
                t0 = time.perf_counter()
                self.run_sweeps(sweeps)
                snap = self.snapshot(spec["n_groups"])
                snap.wall_s = time.perf_counter() - t0
                snaps.append(snap)
                if progress_file:
                    with open(progress_file, "a") as f:
                        f.write(f"{job.name} {len(snaps)} {len(spec['chunks'])}\n")
            results.append(snaps)
        return results

    def close(self):
        self.transport.close()
