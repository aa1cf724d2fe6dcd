"""UART command block: parses framed commands, checks their CRC, drives the array's bus, replies.

Nothing is executed before the whole frame has arrived and its CRC matched; a frame that stops
arriving for ``timeout_cycles`` is dropped with a TIMEOUT reply, and an oversize one is drained
and answered with BAD_LENGTH. A WRITE that repeats the sequence number of the last executed WRITE
is answered again without being executed again (the host retried after a lost reply).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.crc.catalog import CRC16_CCITT_FALSE
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .params import ArrayGeometry, Region
from .protocol import MAGIC, MAX_PAYLOAD, PROTOCOL_VERSION, SYNC, Command, Status

__all__ = ["CommandBlock", "identify_payload", "STATES", "RECEIVING"]

#: The decoder's states, in order of a frame's life.
STATES = ("IDLE", "CODE", "SEQ", "LEN0", "LEN1", "PAYLOAD", "CRC0", "CRC1", "DRAIN", "CHECK",
          "LOAD_ADDRESS", "CHECK_WINDOW", "LOAD_COUNT", "WRITE_WORDS", "REPLY_START", "REPLY_HEADER", "REPLY_FETCH",
          "REPLY_LATCH", "REPLY_PAYLOAD", "REPLY_CRC0", "REPLY_CRC1")
#: States that wait for the next byte of a frame (and leave on the timeout).
RECEIVING = ("CODE", "SEQ", "LEN0", "LEN1", "PAYLOAD", "CRC0", "CRC1", "DRAIN")


def identify_payload(geometry, board_id, clk_hz, problem_digest=None):
    """The bytes IDENTIFY returns, padded with zeros to a whole number of words. ``problem_digest``
    (Program.digest) names the problem a compiled array holds."""
    g = geometry
    # bit 0: the barrier's logarithmic schedule; bit 1: a compiled problem; bit 2: the groups stream
    features = int(g.logarithmic_barrier) | (2 if problem_digest is not None else 0) | (4 if g.streaming else 0)
    data = (MAGIC + bytes([PROTOCOL_VERSION, board_id, g.lanes, g.weight_bits, g.counter_bits, g.cell_bits, features])
            + g.groups.to_bytes(2, "little") + g.edge_depth.to_bytes(4, "little") + int(clk_hz).to_bytes(4, "little")
            + (problem_digest or 0).to_bytes(4, "little") + bytes([g.field_banks]))
    return data + bytes(-len(data) % 4)


class CommandBlock(wiring.Component):
    """``bus_addr`` is the protocol's whole 32-bit address; the array decodes its low bits.

    ``idle`` is high while the block waits for a sync byte. ``max_payload`` is the protocol's
    (a smaller one only makes a small instance for the formal proofs, sim/formal).
    """

    def __init__(self, geometry, board_id=0, clk_hz=0, timeout_cycles=100_000, max_payload=MAX_PAYLOAD,
                 problem_digest=None):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        if not isinstance(timeout_cycles, int) or timeout_cycles < 16:
            raise ValueError(f"timeout_cycles must be an int of at least 16, not {timeout_cycles!r}")
        if not isinstance(max_payload, int) or not 8 <= max_payload <= MAX_PAYLOAD or max_payload % 4:
            raise ValueError(f"max_payload must be whole words from 8 to {MAX_PAYLOAD} bytes, not {max_payload!r}")
        self.geometry = geometry
        self.identify = identify_payload(geometry, board_id, clk_hz, problem_digest)
        self.timeout_cycles = timeout_cycles
        self.max_payload = max_payload
        # Internal registers created here, not in elaborate(), so that the formal proofs
        # (sim/formal) can state invariants over them.
        self.address = Signal(32)     # the next bus address of a WRITE or READ
        self.code = Signal(8)         # the frame's command code
        self.n_words = Signal(16)     # data words in the WRITE being executed
        self.count = Signal(16)       # bytes received / words processed
        self.length = Signal(16)      # payload length of the frame
        self.idle_timer = Signal(range(timeout_cycles + 1))   # cycles since the last byte
        self.reply_len = Signal(16)   # payload bytes of the reply
        self.tx_index = Signal(16)    # reply byte being sent
        self.in_state = {name: Signal(name=f"in_{name.lower()}") for name in STATES}
        super().__init__({
            "rx_data": In(8), "rx_valid": In(1),
            "tx_data": Out(8), "tx_valid": Out(1), "tx_ready": In(1),
            "bus_addr": Out(32), "bus_wdata": Out(32), "bus_we": Out(1),
            "bus_rdata": In(32), "array_busy": In(1), "array_reset": Out(1),
            "idle": Out(1),
        })

    def _window_ok(self, m, first, last):
        """Whether bus addresses ``first`` .. ``last`` all lie in one write window."""
        g = self.geometry
        ib, lb = g.index_bits, g.lane_addr_bits
        lane = first[ib:ib + lb]
        ok = Signal()
        with m.Switch(first[ib + lb:]):
            for region in Region:
                window = g.write_window(region)
                if window is None:
                    continue
                per_lane, depth = window
                with m.Case(region):
                    lane_ok = (lane < g.lanes) if per_lane else (lane == 0)
                    m.d.comb += ok.eq(lane_ok & (last[:ib] < depth) & (last[ib:] == first[ib:]))
        return ok

    def elaborate(self, platform):
        m = Module()
        max_payload = self.max_payload
        words = max_payload // 4
        m.submodules.buffer = buffer = Memory(shape=32, depth=words, init=[])
        buf_w = buffer.write_port()
        buf_r = buffer.read_port()
        m.submodules.identify = ident = Memory(
            shape=32, depth=len(self.identify) // 4,
            init=[int.from_bytes(self.identify[i:i + 4], "little") for i in range(0, len(self.identify), 4)])
        ident_r = ident.read_port()

        code = self.code
        seq = Signal(8)
        length = self.length
        count = self.count
        word = Signal(32)             # assembling received bytes
        # CRC-16/CCITT-FALSE over the frame (after SYNC) and the reply, one byte per cycle
        m.submodules.crc = crc_unit = CRC16_CCITT_FALSE(data_width=8).create()
        crc = crc_unit.crc
        crc_rx = Signal(16)

        def crc_add(byte):
            m.d.comb += [crc_unit.data.eq(byte), crc_unit.valid.eq(1)]
        status = Signal(8)
        idle_timer = self.idle_timer
        last_write_seq = Signal(8)
        last_write_valid = Signal()
        address = self.address
        n_words = self.n_words

        # reply: header bytes, payload words (from identify ROM, bus reads), crc
        reply_len = self.reply_len
        reply_src = Signal(2)         # 0 none, 1 identify, 2 bus read
        tx_byte = Signal(8)
        tx_index = self.tx_index
        tx_word = Signal(32)
        m.d.comb += [self.tx_data.eq(tx_byte)]

        with m.If(self.rx_valid):
            m.d.sync += idle_timer.eq(0)
        with m.Elif(idle_timer != self.timeout_cycles):
            m.d.sync += idle_timer.eq(idle_timer + 1)
        timed_out = idle_timer == self.timeout_cycles

        def or_timeout():
            """After a receiving state's ``m.If(rx_valid)``: a line quiet for too long ends the frame."""
            with m.Elif(timed_out):
                m.d.sync += status.eq(Status.TIMEOUT)
                m.next = "REPLY_START"

        def receive(next_state, store, crc_covers=True):
            with m.If(self.rx_valid):
                if crc_covers:
                    crc_add(self.rx_data)
                m.d.sync += store
                m.next = next_state
            or_timeout()

        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.sync += [reply_len.eq(0), reply_src.eq(0), seq.eq(0)]
                with m.If(self.rx_valid & (self.rx_data == SYNC)):
                    m.d.comb += crc_unit.start.eq(1)
                    m.next = "CODE"
            with m.State("CODE"):
                receive("SEQ", code.eq(self.rx_data))
            with m.State("SEQ"):
                receive("LEN0", seq.eq(self.rx_data))
            with m.State("LEN0"):
                receive("LEN1", length[:8].eq(self.rx_data))
            with m.State("LEN1"):
                with m.If(self.rx_valid):
                    crc_add(self.rx_data)
                    m.d.sync += [length[8:].eq(self.rx_data), count.eq(0)]
                    full = Cat(length[:8], self.rx_data)
                    with m.If((full > max_payload) | (full[:2] != 0)):
                        m.d.sync += status.eq(Status.BAD_LENGTH)
                        m.next = "DRAIN"
                    with m.Elif(full == 0):
                        m.next = "CRC0"
                    with m.Else():
                        m.next = "PAYLOAD"
                or_timeout()
            with m.State("PAYLOAD"):
                with m.If(self.rx_valid):
                    crc_add(self.rx_data)
                    m.d.sync += [count.eq(count + 1), word.eq(Cat(word[8:], self.rx_data))]
                    with m.If(count[:2] == 3):
                        m.d.comb += [buf_w.addr.eq(count >> 2), buf_w.data.eq(Cat(word[8:], self.rx_data)),
                                     buf_w.en.eq(1)]
                    with m.If(count + 1 == length):
                        m.next = "CRC0"
                or_timeout()
            with m.State("CRC0"):
                receive("CRC1", crc_rx[:8].eq(self.rx_data), crc_covers=False)
            with m.State("CRC1"):
                receive("CHECK", crc_rx[8:].eq(self.rx_data), crc_covers=False)
            with m.State("DRAIN"):  # oversize: swallow bytes until the line goes quiet
                with m.If(timed_out):
                    m.next = "REPLY_START"
            with m.State("CHECK"):
                m.d.comb += buf_r.addr.eq(0)
                m.d.sync += [status.eq(Status.OK), count.eq(0)]
                with m.If(crc_rx != crc):
                    m.d.sync += status.eq(Status.BAD_CRC)
                    m.next = "REPLY_START"
                with m.Else():
                    with m.If(code != Command.WRITE):  # a retry can only follow its own write
                        m.d.sync += last_write_valid.eq(0)
                    with m.Switch(code):
                        with m.Case(Command.IDENTIFY):
                            with m.If(length != 0):
                                m.d.sync += status.eq(Status.BAD_LENGTH)
                            with m.Else():
                                m.d.sync += [reply_len.eq(len(self.identify)), reply_src.eq(1)]
                            m.next = "REPLY_START"
                        with m.Case(Command.RESET):
                            with m.If(length != 0):
                                m.d.sync += status.eq(Status.BAD_LENGTH)
                            with m.Else():
                                m.d.comb += self.array_reset.eq(1)
                            m.next = "REPLY_START"
                        with m.Case(Command.WRITE):
                            with m.If(length < 8):
                                m.d.sync += status.eq(Status.BAD_LENGTH)
                                m.next = "REPLY_START"
                            with m.Elif(last_write_valid & (seq == last_write_seq)):
                                m.next = "REPLY_START"   # a retry of the write just done
                            with m.Elif(self.array_busy):
                                m.d.sync += status.eq(Status.BUSY)
                                m.next = "REPLY_START"
                            with m.Else():
                                m.d.sync += n_words.eq((length >> 2) - 1)
                                m.next = "LOAD_ADDRESS"
                        with m.Case(Command.READ):
                            with m.If(length != 8):
                                m.d.sync += status.eq(Status.BAD_LENGTH)
                                m.next = "REPLY_START"
                            with m.Else():
                                m.next = "LOAD_ADDRESS"
                        with m.Default():
                            m.d.sync += status.eq(Status.UNKNOWN_COMMAND)
                            m.next = "REPLY_START"
            with m.State("LOAD_ADDRESS"):  # buffer word 0 is on buf_r.data now
                m.d.comb += buf_r.addr.eq(1)
                m.d.sync += address.eq(buf_r.data)
                with m.If(code == Command.READ):
                    m.next = "LOAD_COUNT"
                with m.Else():
                    m.next = "CHECK_WINDOW"
            with m.State("CHECK_WINDOW"):  # a WRITE's window, from the address register (a cycle
                # of its own: the buffer's read, the add and the window's compare in one cycle were
                # the compiled lattice's slowest path); buffer word 1 stays on buf_r.data
                m.d.comb += buf_r.addr.eq(1)
                last = Signal(33)
                m.d.comb += last.eq(address + n_words - 1)
                window_ok = self._window_ok(m, address, last)
                with m.If(window_ok):
                    m.d.sync += [last_write_seq.eq(seq), last_write_valid.eq(1), count.eq(1)]
                    m.next = "WRITE_WORDS"
                with m.Else():
                    m.d.sync += [status.eq(Status.BAD_ADDRESS), last_write_valid.eq(0)]
                    m.next = "REPLY_START"
            with m.State("LOAD_COUNT"):
                with m.If((buf_r.data == 0) | (buf_r.data > words)):
                    m.d.sync += status.eq(Status.BAD_LENGTH)
                with m.Else():
                    m.d.sync += [reply_len.eq(buf_r.data << 2), reply_src.eq(2)]
                m.next = "REPLY_START"
            with m.State("WRITE_WORDS"):  # word `count` of the buffer is on buf_r.data
                m.d.comb += [buf_r.addr.eq(count + 1), self.bus_addr.eq(address),
                             self.bus_wdata.eq(buf_r.data), self.bus_we.eq(1)]
                m.d.sync += [address.eq(address + 1), count.eq(count + 1)]
                with m.If(count == n_words):
                    m.next = "REPLY_START"

            # ---- reply ------------------------------------------------------------------------
            header = [Const(SYNC, 8), status, seq, reply_len[:8], reply_len[8:]]
            with m.State("REPLY_START"):
                m.d.sync += tx_index.eq(0)
                m.d.comb += crc_unit.start.eq(1)
                with m.If(status != Status.OK):
                    m.d.sync += [reply_len.eq(0), reply_src.eq(0)]
                m.next = "REPLY_HEADER"
            with m.State("REPLY_HEADER"):
                m.d.comb += self.tx_valid.eq(1)
                with m.Switch(tx_index):
                    for k, b in enumerate(header):
                        with m.Case(k):
                            m.d.comb += tx_byte.eq(b)
                with m.If(self.tx_ready):
                    with m.If(tx_index != 0):
                        crc_add(tx_byte)
                    m.d.sync += tx_index.eq(tx_index + 1)
                    with m.If(tx_index == len(header) - 1):
                        m.d.sync += tx_index.eq(0)
                        with m.If(reply_len == 0):
                            m.next = "REPLY_CRC0"
                        with m.Else():
                            m.next = "REPLY_FETCH"
            with m.State("REPLY_FETCH"):  # present the next word's source address
                # from a register, stepped per word: the bus decode and the array's read
                # multiplexers get the whole cycle (an adder here sat on the compiled array's
                # slowest path, its state read across the chip)
                m.d.comb += [ident_r.addr.eq(tx_index >> 2), self.bus_addr.eq(address)]
                m.d.sync += address.eq(address + 1)
                m.next = "REPLY_LATCH"
            with m.State("REPLY_LATCH"):
                m.d.sync += tx_word.eq(Mux(reply_src == 1, ident_r.data, self.bus_rdata))
                m.next = "REPLY_PAYLOAD"
            with m.State("REPLY_PAYLOAD"):
                m.d.comb += [self.tx_valid.eq(1), tx_byte.eq(tx_word.word_select(tx_index[:2], 8))]
                with m.If(self.tx_ready):
                    crc_add(tx_byte)
                    m.d.sync += tx_index.eq(tx_index + 1)
                    with m.If(tx_index + 1 == reply_len):
                        m.next = "REPLY_CRC0"
                    with m.Elif(tx_index[:2] == 3):
                        m.next = "REPLY_FETCH"
            with m.State("REPLY_CRC0"):
                m.d.comb += [self.tx_valid.eq(1), tx_byte.eq(crc[:8])]
                with m.If(self.tx_ready):
                    m.next = "REPLY_CRC1"
            with m.State("REPLY_CRC1"):
                m.d.comb += [self.tx_valid.eq(1), tx_byte.eq(crc[8:])]
                with m.If(self.tx_ready):
                    m.next = "IDLE"
        m.d.comb += [signal.eq(fsm.ongoing(name)) for name, signal in self.in_state.items()]
        m.d.comb += self.idle.eq(fsm.ongoing("IDLE"))
        return m
