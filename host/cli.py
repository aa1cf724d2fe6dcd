"""``lim``: run annealing on the emulated learning-in-memory array and report its energy."""
import argparse
import json
import math
import sys
from pathlib import Path

from ..sim.problem import ProblemError, load_gset
from ..sim.workloads import COUNTINGS
from .settings import GAIN_SCHEDULES, SIMULATOR_CHOICES, AnnealSettings, SettingsError, format_notes

__all__ = ["main"]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help, unless the help says it already (or there is none)."""

    def _get_help_string(self, action):
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _anneal_parser(sub):
    d = AnnealSettings()
    p = sub.add_parser(
        "anneal", formatter_class=_Formatter,
        help="anneal a MaxCut problem on the simulated array (default: Verilator)",
        description=(
            "Anneal a MaxCut/Ising problem on the LIM array. The RTL (Verilog generated from the\n"
            "Amaranth design) runs in the chosen simulator; the golden model runs the same job and\n"
            "must agree with it bit for bit at every checkpoint. Prints the cut, the energy by wall\n"
            "(read, update, consolidation) in kT and joules, writes a JSON result and a PNG plot.\n\n"
            "Two schedules run in the hardware. The gain (kT per unit of the objective) is the\n"
            "inverse temperature: by default it rises geometrically over the range the problem's own\n"
            "couplings call for (hot: the steepest move accepted half the time; cold: under 0.01\n"
            "excitations per sweep). The barrier sets the speed: a hop's rate is exp(-(Eb - D/2))\n"
            "measured from the barrier top (D = gain x drop; uphill at least exp(-|D|)), so detailed\n"
            "balance holds at every barrier. By default the barrier stays at 0 kT while the gain\n"
            "anneals, then rises to the retention barrier over the last 5% of the sweeps\n"
            "(consolidation). Derived values are printed and recorded in the result."),
        epilog=("examples:\n"
                "  lim anneal                                  # the real Gset G1 (shipped), 1000 sweeps\n"
                "  lim anneal --problem G11 --sweeps 2000     # shipped: G1 G2 G6 G11 G14 G22 G43\n"
                "  lim anneal --problem my_graph.txt --gain-end 3\n"
                "  lim anneal --schedule logarithmic --hold 0 --barrier-end 8 --simulator icarus --sweeps 5\n"
                "  lim anneal --simulator golden --sweeps 100000   # model only, fast"))
    p.add_argument("--problem", type=Path, help="Gset file: 'n m' then m lines 'i j w', 1-based, or the name "
                   "of a shipped instance (G1 G2 G6 G11 G14 G22 G43; default: G1)")
    p.add_argument("--sweeps", type=int, default=d.sweeps, help="sweeps over all spins")
    kinds = ["constant", "linear", "exponential", "logarithmic"]
    t = p.add_argument_group("gain schedule: the inverse temperature, kT per unit of the objective")
    t.add_argument("--gain-schedule", default=d.gain_schedule, choices=GAIN_SCHEDULES,
                   help="exponential = geometric cooling (default), constant = one temperature; the gain "
                        "register holds the gain's base-2 logarithm (1/256 octave steps, 1.5e-8 .. 63.8 kT per unit)")
    t.add_argument("--gain-start", type=float, default=None, metavar="KT",
                   help="hot end (default: ln 2 / the largest move the problem allows)")
    t.add_argument("--gain-end", type=float, default=None, metavar="KT",
                   help="cold end (default: ln(100 N) / the smallest non-zero move)")
    t.add_argument("--gain-rate", type=float, default=None,
                   help="growth per sweep, e.g. 0.01 = 1%% (below x16). Default: reach the end when the anneal's "
                        "time is up")
    t.add_argument("--gain", type=float, default=None, metavar="KT",
                   help="a constant gain (shorthand for --gain-schedule constant --gain-start KT --gain-end KT)")
    b = p.add_argument_group("barrier schedule: mobility and consolidation, kT")
    b.add_argument("--schedule", default=d.schedule, choices=kinds, help="barrier schedule")
    b.add_argument("--barrier-start", type=float, default=d.barrier_start_kt, metavar="KT",
                   help="barrier at the first sweep, kT (steps of 1/16)")
    b.add_argument("--barrier-end", type=float, default=None, metavar="KT",
                   help="highest barrier (default: the retention barrier of the energy model)")
    b.add_argument("--rate", type=float, default=None, help=AnnealSettings.rate_help)
    b.add_argument("--hold", type=int, default=None, metavar="SWEEPS",
                   help="sweeps the barrier stays at its start before it rises (default: sweeps minus "
                        "the consolidation sweeps)")
    b.add_argument("--consolidation-sweeps", type=int, default=None, metavar="SWEEPS",
                   help="sweeps at the end over which the barrier rises (default: 5%% of the sweeps)")
    _add_seed(p, d.seed)
    p.add_argument("--lanes", type=int, default=d.lanes, help="parallel update lanes of the array")
    p.add_argument("--field-banks", type=int, default=None, metavar="B", help=FIELD_BANKS_HELP + " (default: 4, "
                   "as the ULX3S build; a board's own on a board)")
    p.add_argument("--compiled", action="store_true",
                   help="the problem built into the array's gateware (spin problems): a group of lanes decided "
                        "every cycle, no update entries walked, no program sent; the same device, bit for bit")
    _add_simulator(p, d.simulator)
    b = p.add_argument_group("boards (the same host driver and UART protocol for both)")
    b.add_argument("--port", help="serial port of a real board running the LIM bitstream (e.g. /dev/ttyUSB1)")
    b.add_argument("--sim-board", action="store_true",
                   help="a simulated board: the board's RTL (array, UART, command block) in --simulator "
                        "(verilator or icarus), its serial line bridged to this host")
    b.add_argument("--board", default="ulx3s", help="with --sim-board: whose array geometry to simulate")
    p.add_argument("--checkpoints", type=int, default=d.checkpoints,
                   help="times the RTL state and counters are read back and compared")
    _add_device_arguments(p)
    _add_out(p, "the JSON and PNG")
    p.add_argument("--name", default=None, help="file name stem of the outputs (default: from the problem)")
    p.add_argument("--waves", action="store_true", help="dump waveforms from the RTL simulator")
    _add_quiet(p)
    p.set_defaults(handler=_cmd_anneal)
    return p


#: The options every command that has them shares, with one meaning each.
QUIET_HELP = "no progress display and no detail: only the result lines, failures and where the files went"
SEED_HELP = "PRNG seed of the array's lanes (and of the start state, where one is drawn)"
FIELD_BANKS_HELP = ("the programmable array's fields in B banks per lane (1, 2, 4, 8, 16): each bank walks the "
                    "hops' entries into its fields on its own, B field updates a lane and cycle, for B times the "
                    "update rows' width")
SIMULATOR_HELP = "where the RTL runs next to the golden model, which checks it ('golden': the model only)"


def _add_out(p, what, default="results"):
    p.add_argument("--out", type=Path, default=Path(default) if default else None, help=f"folder for {what}")


def _add_quiet(p):
    p.add_argument("--quiet", action="store_true", help=QUIET_HELP)


def _add_seed(p, default):
    p.add_argument("--seed", type=int, default=default, help=SEED_HELP)


def _add_simulator(p, default):
    p.add_argument("--simulator", default=default, choices=SIMULATOR_CHOICES, help=SIMULATOR_HELP)


def _add_device_arguments(p):
    """The emulated device's physics, the same in every command that prices energy."""
    d = AnnealSettings()
    g = p.add_argument_group("device physics (docs/energy.md)")
    g.add_argument("--retention-years", type=float, default=d.retention_years,
                   help="how long the final state must be held")
    g.add_argument("--retention-error", type=float, default=d.retention_error,
                   help="probability that a held bit is lost within that time")
    g.add_argument("--write-error", type=float, default=d.write_error,
                   help="probability that an update leaves its cell outside the target well at the end of "
                        "its step: the reliability the reliability floor asks of every update, whatever "
                        "the precision")
    g.add_argument("--attempt-time", type=float, default=d.attempt_time_s, metavar="SECONDS",
                   help="Arrhenius attempt time tau0: sets the retention barrier ln(t / (tau0 error))")
    g.add_argument("--step-time", type=float, default=d.step_time_s, metavar="SECONDS",
                   help="time of one update step (one sweep) on the device: how many attempt times an "
                        "update has, hence its reliability floor")
    g.add_argument("--temperature", type=float, default=d.temperature_k, metavar="KELVIN")


def _device_settings(args):
    return {"retention_years": args.retention_years, "retention_error": args.retention_error,
            "write_error": args.write_error,
            "attempt_time_s": args.attempt_time, "step_time_s": args.step_time, "temperature_k": args.temperature}


def _load_problem(path):
    """A Gset file, a shipped instance by name (G1, G2, G6, G11, G14, G22, G43), or torusL: an
    L x L toroidal +-1 lattice (seed 1)."""
    import re
    from ..sim.gset import load_named
    from ..sim.problem import toroidal_lattice
    if path.exists():
        return load_gset(path)
    lattice = re.fullmatch(r"torus(\d+)", str(path))
    return toroidal_lattice(int(lattice[1]), seed=1) if lattice else load_named(str(path))


def _cmd_anneal(args):
    from .anneal import default_problem, write_result
    from .api import run
    from .plots import plot_anneal
    from .progress import Progress

    settings = AnnealSettings(
        sweeps=args.sweeps, schedule=args.schedule, barrier_start_kt=args.barrier_start,
        barrier_end_kt=args.barrier_end, rate=args.rate, barrier_hold=args.hold,
        consolidation_sweeps=args.consolidation_sweeps,
        gain_schedule="constant" if args.gain is not None else args.gain_schedule,
        gain_start_kt=args.gain if args.gain is not None else args.gain_start,
        gain_end_kt=args.gain if args.gain is not None else args.gain_end, gain_rate=args.gain_rate, seed=args.seed,
        lanes=args.lanes, field_banks=args.field_banks, checkpoints=args.checkpoints, simulator=args.simulator,
        compiled=args.compiled, **_device_settings(args)).validate()
    problem = _load_problem(args.problem) if args.problem else default_problem()
    if args.port and args.sim_board:
        raise SettingsError("--port and --sim-board exclude each other")
    if args.sim_board and args.simulator not in ("verilator", "icarus"):
        raise SettingsError("--sim-board runs the board's RTL in verilator or icarus")
    from ..boards.targets import BOARDS
    if args.board not in BOARDS:
        raise SettingsError(f"unknown board {args.board!r}; choose one of {', '.join(BOARDS)}")
    target = "board" if args.port else ("sim-board" if args.sim_board else settings.simulator)
    result = run(problem, target, settings, port=args.port, board=args.board, waves=args.waves,
                 progress=Progress(enabled=not args.quiet)).data
    result["problem"]["source"] = str(args.problem.resolve()) if args.problem else "built-in"
    stem = args.name or f"anneal-{problem.name.rsplit('.', 1)[0]}"
    json_path = write_result(result, args.out / f"{stem}.json")
    png_path = plot_anneal(result, args.out / f"{stem}.png")
    print(_report(result, json_path, png_path))
    rtl = result["rtl"]
    return 0 if rtl is None or rtl["agrees_with_golden_model"] else 1


def _report(r, json_path, png_path):
    e = r["energy"]
    a = r["array"]
    lines = [
        f"problem    {r['problem']['name']}: {r['problem']['spins']} spins, {r['problem']['couplings']} couplings"
        f" -> {a['groups_used']} groups x {a['lanes']} lanes ({a['colours']} colours)"
        + (", compiled into the array" if a.get("compiled") else ""),
        f"schedule   {r['schedule']}",
        f"read from  {r['read_from']}" + ("" if r["rtl"] is None else
                                          f" (the golden model checks it: {'agrees' if r['rtl']['agrees_with_golden_model'] else 'DISAGREES'})"),
    ]
    derived = r["settings"].get("derived_from_problem")
    if derived:
        lines.append(f"derived    gain range {derived['gain_hot_kt']:.4g} .. {derived['gain_cold_kt']:.4g} kT per unit "
                     f"(largest move {derived['du_max']:g}, smallest {derived['du_min']:g} units)")
        lines += format_notes(r["settings"])
    if "cut" in r:
        best = (f"   {100 * r['fraction_of_best_known']:.2f}% of the best known {r['best_known_cut']}"
                if "best_known_cut" in r else "")
        lines.append(f"cut        {r['cut']}{best}   (objective {r['objective']['start']} -> {r['objective']['final']})")
    else:
        lines.append(f"objective  {r['objective']['start']} -> {r['objective']['final']}")
    lines += energy_lines(e)
    if e["barrier_free_sweeps"] > 0:
        lines.append(f"NOTE       in {100 * e['barrier_free_sweeps']:.0f}% of the sweeps the steepest move tilts a cell by more "
                     "than twice its barrier: its upper well is barrier-free and the hop rule's second branch applies")
    law = e["first_law"]
    lines.append(f"first law  gain driver's work {law['work_kt']:.6g} kT = heat {law['heat_kt']:.6g} kT + stored energy "
                 f"change {law['stored_energy_change_kt']:.6g} kT, to {law['residual_kt']:+.3g} kT (the counters' "
                 f"rounding allows {law['rounding_bound_kt']:.3g}): {'closes' if law['closes'] else 'DOES NOT CLOSE'}")
    lines.append("           (bookkeeping: work and heat are both counted from the objective register, so this checks "
                 "the counters' wiring, not the physics; the second law is tested over ensembles, "
                 "tests/test_thermodynamics.py)")
    c = r["counters"]
    lines.append(f"events     {c['READS']} reads, {c['ATTEMPTS']} update attempts, {c['HOPS']} hops "
                 f"({c['UPHILL_HOPS']} uphill), {c['CYCLES']} cycles")
    if r["saturated"]:
        lines.append(f"WARNING    counters saturated (values are lower bounds): {', '.join(r['saturated'])}")
    rtl = r["rtl"]
    if rtl:
        verdict = "yes" if rtl["agrees_with_golden_model"] else "NO: " + "; ".join(rtl["differences"][:3])
        lines.append(f"RTL        {rtl['simulator']}: {rtl['cycles']} cycles in {rtl['anneal_seconds']:.2f} s "
                     f"({rtl['cycles_per_second']:.3g} cycles/s)")
        if rtl.get("board"):
            bd = rtl["board"]
            lines.append(f"board      {bd['identity']['board']} ({bd['identity']['lanes']} lanes, "
                         f"{bd['identity']['groups']} groups): {bd['frames']} frames, {bd['retries']} retries, "
                         f"{bd['seconds']:.2f} s on the link")
        if rtl.get("waves"):
            lines.append(f"waves      {rtl['waves']}")
        lines.append(f"agreement  golden model agrees with the RTL (state and {len(c)} counters at "
                     f"{rtl['checkpoints_compared']} checkpoints): {verdict}")
    else:
        lines.append("RTL        not run (--simulator golden)")
    g = r["golden_model"]
    lines.append(f"model      {g['spin_updates_per_second']:.3g} spin updates/s")
    lines.append(f"wrote      {json_path}\n           {png_path}")
    return "\n".join(lines)


def energy_lines(e):
    """The energy block of a run's report: measured by wall, the run's workload, its bounds and costs."""
    m, w = e["measured"], e["workload"]
    from ..sim.energy import RELIABILITY_PROTOCOL
    from .bounds import LINES
    labels = {key: label for _, key, _, label in LINES}
    labels["reliability_floor"] = "reliability floor (per operation)"
    lines = [f"energy     measured (the array's cost model on its counters){'kT':>14}{'J':>12}"]
    for wall, label in (("read", "read (READS x bits x ln 2)"), ("update", "update (net heat of hops)"),
                        ("consolidation", "consolidation"), ("total", "total")):
        lines.append(f"           {label:<48}{m[wall + '_kt']:>14.4g}{m[wall + '_j']:>12.4g}")
    attempts = "" if w["attempts_per_step"] is None else f" ({w['attempts_per_step']:.3g} attempt times per update)"
    lines.append(f"workload   {w['parameters']:.0f} cells x {w['bits']} bit(s), {w['update_ops']:.0f} update operations, "
                 f"{w['time_s']:.3g} s{attempts}, write error {w['write_error']:.3g}, "
                 f"retention barrier {w['retention_barrier_kt']:.1f} kT")
    lines.append("bounds     (lower bounds for this workload; `lim bounds --params N --ops OPS --bits B --time T` agrees)")
    for key, entry in e["lower_bounds"].items():
        kt, j = (f"{entry['kt']:>14.4g}", f"{entry['j']:>12.4g}") if entry["kt"] is not None else (f"{'-':>14}", f"{'-':>12}")
        lines.append(f"           {labels.get(key, key.replace('_', ' ')):<48}{kt}{j}")
    if not w["time_allows"]:
        lines.append(f"           '-': {w['time_s']:.3g} s is below {w['min_time_s']:.3g} s, the shortest time in which "
                     "updates can reach the write error")
    lines.append(f"           the reliability floor assumes a reliable write per attempt; it {RELIABILITY_PROTOCOL}")
    for key, entry in e["estimates"].items():
        lines.append(f"estimate   {labels.get(key, key.replace('_', ' ')):<48}{entry['kt']:>14.4g}{entry['j']:>12.4g}")
    if e["measured_over_lim_bound"] is not None:
        lines.append(f"           measured / LIM lower bound {e['measured_over_lim_bound']:.4g}")
    costs = "; ".join(f"{labels[k]} {v['j']:.3g} J" for k, v in e["cost_models"].items() if v["j"] is not None)
    lines.append(f"costs      {costs}")
    return lines


def _bounds_parser(sub):
    p = sub.add_parser(
        "bounds", formatter_class=_Formatter,
        help="energy-to-solution lower bounds and cost models for workloads, without running anything",
        description=(
            "The energy to train (or solve) a workload of N parameters at b bits with OPS update\n"
            "operations, as lower bounds (what no implementation can beat under the stated\n"
            "assumption) and cost models (what a given implementation pays):\n"
            "  Landauer, final state     N b (ln 2 - H(eps)): the second law, committing the result\n"
            "  Landauer per operation    OPS b ln 2: every update erases its old b-bit value\n"
            "  LIM lower bound           OPS x the reliability floor: a tilt-driven update that lands\n"
            "                            with error 2^-b within its step releases >= ln((1-eps)/eps) kT,\n"
            "                            more when the step is short (--time)\n"
            "  cost models               this LIM array, a Fowler-Nordheim synapse, a forced-write\n"
            "                            memory, SRAM/DRAM (Horowitz 2014), an H100 accelerator\n"
            "Without --params, a built-in table of AI training workloads (each counted from its own\n"
            "paper) is evaluated and plotted, and the brain-scale row is set against the reference\n"
            "paper's headline (1e8 to 1e9 J). Derivation and sources: docs/energy.md."),
        epilog="examples:\n  lim bounds\n  lim bounds --counting per-step\n"
               "  lim bounds --params 1e9 --ops 1e15 --bits 8 --time 3600")
    p.add_argument("--params", type=float, help="number of parameters N")
    p.add_argument("--ops", type=float, help="update operations in all (e.g. parameters x samples)")
    p.add_argument("--bits", type=int, default=None,
                   help="precision of a parameter, bits (default 16; for the built-in table: every row at this precision)")
    p.add_argument("--flops", type=float, default=None,
                   help="training FLOPs, for the accelerator cost model (default: 6 per update); with "
                        "--params and no --ops, the updates are FLOPs x --update-fraction")
    p.add_argument("--update-fraction", type=float, default=1 / 6, metavar="FRACTION",
                   help="how many of the FLOPs are parameter updates (one per parameter per sample "
                        "in 6 FLOPs of forward and backward pass)")
    p.add_argument("--reads", type=float, default=None, metavar="BITS",
                   help="bits read per update (default: the parameter's own bits, a read-modify-write)")
    p.add_argument("--time", type=float, default=None, metavar="SECONDS",
                   help="time to solution: each update then has time / (ops / params) seconds (default: "
                        "no limit, the slow limit of the floor)")
    p.add_argument("--counting", default="per-sample", choices=COUNTINGS,
                   help="built-in table: an update per parameter per training sample (a memory that "
                        "learns in place) or per optimizer step")
    _add_device_arguments(p)
    _add_out(p, "the JSON and PNG")
    _add_quiet(p)
    p.set_defaults(handler=_cmd_bounds)


def _cmd_bounds(args):
    from .anneal import write_result
    from dataclasses import replace

    from ..sim.workloads import AI_WORKLOADS
    from .bounds import custom_workload, evaluate, evaluate_table, format_table, paper_comparison
    from .plots import plot_bounds

    device = AnnealSettings(**_device_settings(args)).device()
    ops = args.ops
    if args.params is not None and ops is None and args.flops is not None:
        if not 0 < args.update_fraction <= 1:
            raise SettingsError(f"the update fraction must be in (0, 1], not {args.update_fraction:g}")
        ops = args.flops * args.update_fraction
    if (args.params is None) != (ops is None):
        raise SettingsError("give --params with --ops (or --flops), or neither (for the built-in table)")
    if args.reads is not None and not args.reads >= 0:
        raise SettingsError(f"bits read per update must be at least 0, not {args.reads:g}")
    try:
        if args.params is not None:
            rows = [evaluate(custom_workload(args.params, ops, 16 if args.bits is None else args.bits, args.flops),
                             device=device, time_s=args.time, reads_per_update=args.reads)]
            w = rows[0]["workload"]
            if not w["time_allows"]:
                raise SettingsError(
                    f"each update has {w['attempts_per_step']:.3g} attempt times; no tilt lands it with write error "
                    f"{w['write_error']:g} in fewer than ln(1/error) = {math.log(1 / w['write_error']):.3g}: allow "
                    f"more time (more than {w['min_time_s']:.3g} s)")
            comparison, stem = None, "bounds-custom"
        else:
            workloads = AI_WORKLOADS if args.bits is None else [replace(w, bits=args.bits) for w in AI_WORKLOADS]
            rows = evaluate_table(args.counting, device, workloads, time_s=args.time, reads_per_update=args.reads)
            comparison, stem = paper_comparison(args.counting, device, workloads[-1]), "bounds-ai-workloads"
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    if not args.quiet:
        print(format_table(rows, comparison))
        if comparison is not None:
            print("\nsources:")
            for r in rows:
                print(f"  {r['name']}: {r['source']}")
    path = write_result({"workloads": rows, "paper_comparison": comparison}, args.out / f"{stem}.json")
    png = plot_bounds(rows, args.out / f"{stem}.png", comparison)
    print(f"wrote      {path}\n           {png}")
    return 0


def _build_parser(sub):
    from ..boards.targets import BOARDS
    from .toolchain import ROUTERS
    p = sub.add_parser("build", formatter_class=_Formatter,
                       help="build a board's bitstream with Yosys + nextpnr (YoWASP) and report it",
                       description="Synthesise, place and route the LIM array with its UART command interface\n"
                                   "for a board, and report resources, Fmax, the largest problem that fits and\n"
                                   "its spin updates per second. Exits 1 when timing is not met.")
    p.add_argument("--board", required=True, choices=sorted(BOARDS))
    p.add_argument("--problem", type=Path, default=None,
                   help="compile this spin problem into the array (a Gset file, G1 .. G43, or torusL for an "
                        "L x L toroidal +-1 lattice): the bitstream runs it, and only it, a group per cycle")
    p.add_argument("--lanes", type=int, default=None,
                   help="lanes of the array (default: the board's); a compiled problem's groups are this wide")
    p.add_argument("--field-banks", type=int, default=None, metavar="B",
                   help=FIELD_BANKS_HELP + " (default: the board's; its update rows' block RAM kept, "
                        "rows x banks; not with --problem; the ULX3S's 8 lanes at 8 banks did not route: "
                        "README, Throughput)")
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="the array's clock from the board's PLL (default: the board's; ULX3S 40 MHz, and "
                        "30 MHz with --problem; iCEBreaker 18 MHz): a design that misses timing at the "
                        "default can be built for the Fmax it reached; refused: a clock the PLL cannot make "
                        "(the nearest it makes are named), or one the serial line's 1 Mbaud is more than 2%% "
                        "off at")
    p.add_argument("--router", choices=ROUTERS, default=None,
                   help="nextpnr's router: router2 routes the large compiled arrays router1 leaves congested "
                        "(a 32 x 32 lattice at 32 lanes, G1) (default: router2 for the ULX3S's programmable "
                        "build, router1 otherwise)")
    _add_out(p, "the build (a subfolder per board)", "build")
    _add_quiet(p)
    p.set_defaults(handler=_cmd_build)


def _cmd_build(args):
    from dataclasses import replace
    from ..boards.targets import BOARDS
    from .toolchain import build_bitstream, build_report_path, format_report
    geometry = None
    if args.field_banks is not None and args.problem is not None:
        raise SettingsError("a compiled array keeps no fields in memory: --field-banks is for the programmable build")
    if args.lanes is not None or args.field_banks is not None:
        base = BOARDS[args.board].geometry
        try:
            geometry = replace(base, lanes=base.lanes if args.lanes is None else args.lanes)
            if args.field_banks is not None:
                geometry = geometry.with_field_banks(args.field_banks)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    clock_hz = None
    if args.clock_mhz is not None:
        from ..boards.targets import pll_dividers
        from ..hdl.system import uart_divider
        target = BOARDS[args.board]
        clock_hz = round(args.clock_mhz * 1e6)
        try:
            pll_dividers(target.family, int(target.platform().default_clk_frequency), clock_hz)
            uart_divider(clock_hz, target.baud)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    problem = _load_problem(args.problem) if args.problem is not None else None
    if problem is not None and hasattr(problem, "high"):
        raise SettingsError("a compiled array holds spin problems")
    report = build_bitstream(args.board, args.out / args.board, geometry=geometry, problem=problem,
                             clock_hz=clock_hz, router=args.router)
    if not args.quiet or not report["timing_met"]:
        print(format_report(report))
    print(f"report     {build_report_path(args.out / args.board, args.board)}")
    return 0 if report["timing_met"] else 1


def _flash_parser(sub):
    from ..boards.targets import BOARDS
    p = sub.add_parser("flash", formatter_class=_Formatter, help="flash a built bitstream with openFPGALoader",
                       description="Write a bitstream to the board's SPI flash (or its SRAM with --sram)\n"
                                   "with openFPGALoader, verifying it by default.")
    p.add_argument("--board", required=True, choices=sorted(BOARDS))
    p.add_argument("--bitstream", type=Path, help="default: build/BOARD/lim_BOARD.bin or .bit")
    p.add_argument("--sram", action="store_true", help="load into SRAM (lost at power-off) instead of flash")
    p.add_argument("--no-verify", action="store_true", help="skip reading the flash back")
    p.add_argument("--dry-run", action="store_true", help="print the exact command and do nothing")
    _add_quiet(p)
    p.set_defaults(handler=_cmd_flash)


def _cmd_flash(args):
    import shlex
    from ..boards.targets import BOARDS
    from .flash import flash, flash_command
    ext = "bin" if BOARDS[args.board].family == "ice40" else "bit"
    bitstream = args.bitstream or Path("build") / args.board / f"lim_{args.board}.{ext}"
    cmd = flash_command(args.board, bitstream, to_flash=not args.sram, verify=not args.no_verify)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    output = flash(args.board, bitstream, to_flash=not args.sram, verify=not args.no_verify).strip()
    print(f"flashed    {bitstream} to {args.board}" if args.quiet else output)
    return 0


def _qp_parser(sub):
    from ..sim.boxqp import WORKLOADS
    p = sub.add_parser(
        "qp", formatter_class=_Formatter, help="minimise a box-constrained QP (or train a model) on p-bit cells",
        description=(
            "Minimise f(w) = w'Aw/2 + c'w over a box with the array's p-bit cells (levels 0 .. 2^p - 1\n"
            "mapped onto the box). The cells move one level at a time, with the same two schedules\n"
            "(gain derived from the problem, barrier raised to retention at the end), hop rule and\n"
            "counters as the Ising mode. Prints the objective gap to SciPy's optimum, the held-out\n"
            "score of a learning workload next to the float solution's, and the energy with the\n"
            "bounds for the run's own workload. --simulator also runs the RTL, which must agree bit\n"
            "for bit. Workloads: 'digits' trains a linear classifier on scikit-learn's 8x8 digits\n"
            "(1797 images, 10 classes: 620 cells); 'least-squares' a small regression.\n"
            "A problem file is JSON: {\"A\": [[...]], \"c\": [...], \"low\": -1, \"high\": 1}.\n"
            "Energy against precision, schedule and time: benchmarks/qp_precision.py."),
        epilog="examples:\n  lim qp --bits 6\n  lim qp --workload digits --bits 8\n"
               "  lim qp --workload known-optimum --bits 8 --sweeps 1200\n"
               "  lim qp --problem my_qp.json --bits 4 --simulator verilator")
    p.add_argument("--problem", type=Path, help="a QP in JSON (default: --workload)")
    p.add_argument("--workload", default="least-squares", choices=sorted(WORKLOADS), help="a built-in QP")
    p.add_argument("--bits", type=_bits_list, default=[6],
                   help="cell precision p, 1 to 8; a range (2-8) or list (2,4,8) runs each and reports "
                        "energy against precision")
    p.add_argument("--sweeps", type=int, default=None, help="sweeps (default 4 * 2^p + 64)")
    _add_seed(p, 1)
    _add_simulator(p, "golden")
    _add_device_arguments(p)
    _add_out(p, "the JSON (and PNG for several precisions)")
    _add_quiet(p)
    p.set_defaults(handler=_cmd_qp)


def _bits_list(text):
    """'6', '2-8' or '2,4,8' as a list of precisions."""
    try:
        if "-" in text:
            low, high = (int(x) for x in text.split("-", 1))
            bits = list(range(low, high + 1))
        else:
            bits = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bits must be a number, a range like 2-8 or a list like 2,4,8, not {text!r}")
    if not bits or any(not 1 <= b <= 8 for b in bits):
        raise argparse.ArgumentTypeError(f"bits must be from 1 to 8, not {text!r}")
    return bits


def _cmd_qp(args):
    from ..sim.boxqp import WORKLOADS, load_qp
    from .anneal import write_result
    from .plots import plot_qp_precision
    from .qp import default_sweeps, run_qp
    if args.sweeps is not None:
        AnnealSettings(sweeps=args.sweeps).validate()
    qp = load_qp(args.problem) if args.problem else WORKLOADS[args.workload]()
    simulator = None if args.simulator == "golden" else args.simulator
    optimum = qp.solve()
    results = []
    for bits in args.bits:
        sweeps = args.sweeps if args.sweeps is not None else default_sweeps(bits)
        settings = AnnealSettings(sweeps=sweeps, seed=args.seed, **_device_settings(args)).validate()
        r = run_qp(qp, bits, settings, optimum=optimum, simulator=simulator)
        results.append(r)
        if len(args.bits) == 1:
            _print_qp(qp, r, args, simulator)
        else:
            held = (f"accuracy {100 * r['test_accuracy']:6.2f}% (float {100 * r['test_accuracy_optimum']:.2f}%)"
                    if "test_accuracy" in r else f"gap {r['gap']:.3g}")
            rtl = "" if simulator is None else f"  RTL {'agrees' if r['rtl_agrees'] else 'DIFFERS'}"
            print(f"p = {bits}  {r['sweeps']:>5} sweeps  {held}  energy {r['energy']['measured']['total_j']:.3g} J "
                  f"(update {r['energy']['measured']['update_j']:.3g} J; LIM lower bound "
                  f"{r['energy']['lower_bounds']['lim']['j']:.3g} J){rtl}", flush=True)
    stem = f"qp-{qp.name}-p{'-'.join(str(b) for b in args.bits)}"
    path = write_result(results[0] if len(results) == 1 else {"workload": qp.name, "runs": results},
                        args.out / f"{stem}.json")
    print(f"wrote      {path}")
    if len(results) > 1:
        print(f"           {plot_qp_precision(results, args.out / f'{stem}.png')}")
    return 0 if all(r["rtl_agrees"] in (None, True) for r in results) else 1


def _print_qp(qp, r, args, simulator):
    print(f"problem    {qp.name}: {qp.n} variables on {r['bits']}-bit cells, {r['sweeps']} sweeps")
    if not args.quiet:
        print(f"schedule   {r['schedule']}")
    print(f"objective  f = {r['f']:.6g}, optimum {r['f_optimum']:.6g} (SciPy{'' if r['convex'] else ', best of 16 starts'}); "
          f"gap {r['gap']:.3g} (rounding the optimum to the levels alone: {r['quantization_gap']:.3g})")
    for note in format_notes(r["settings"]):
        print(note)
    if r["entries_rounded_to_zero"]:
        print(f"NOTE       {r['entries_rounded_to_zero']} non-zero entries of the problem round to 0 in the "
              "array's weights: their range is wider than the fixed-point format holds")
    if "test_accuracy" in r:
        print(f"held out   accuracy {100 * r['test_accuracy']:.2f}% (the float least-squares classifier: "
              f"{100 * r['test_accuracy_optimum']:.2f}%)")
    if "test_mse" in r:
        print(f"held out   mean squared error {r['test_mse']:.4g} (the float optimum: {r['test_mse_optimum']:.4g})")
    e = r["energy"]
    if not args.quiet:
        print("\n".join(energy_lines(e)))
    else:
        print(f"energy     measured {e['measured']['total_j']:.4g} J, LIM lower bound {e['lower_bounds']['lim']['j']:.4g} J")
    if simulator is not None:
        print(f"RTL        {args.simulator}: {'agrees with the golden model' if r['rtl_agrees'] else 'DIFFERS from the golden model'}")


def _reproduce_parser(sub):
    p = sub.add_parser(
        "reproduce", formatter_class=_Formatter, help="rerun a run from its result file and compare",
        description=(
            "Rerun the run recorded in a 'lim anneal' result (JSON): the same problem (checked by\n"
            "its content hash), settings, array geometry and target. The final state, the counters,\n"
            "the energy and the trajectory must come out equal; differences are listed and the exit\n"
            "status is 1. --simulator golden reruns on the model alone, which is bit-exact with\n"
            "the RTL and so must give the same numbers."),
        epilog="examples:\n  lim reproduce results/anneal-G1.json\n"
               "  lim reproduce results/anneal-G1.json --problem G1.txt --simulator golden")
    p.add_argument("result", type=Path, help="a result JSON written by lim anneal")
    p.add_argument("--problem", type=Path, help="the problem file, if it moved since the run")
    p.add_argument("--simulator", default=None, choices=SIMULATOR_CHOICES,
                   help=SIMULATOR_HELP + "; default: the target the run was made on")
    p.add_argument("--port", help="serial port, to rerun a run made on a real board")
    _add_out(p, "the rerun's JSON")
    _add_quiet(p)
    p.set_defaults(handler=_cmd_reproduce)


def _cmd_reproduce(args):
    from .anneal import write_result
    from .progress import Progress
    from .reproduce import REPRODUCED_FIELDS, reproduce
    rerun, diffs = reproduce(args.result, args.problem, args.simulator, args.port,
                             Progress(enabled=not args.quiet))
    path = write_result(rerun, args.out / f"{args.result.stem}-reproduced.json")
    if diffs:
        print("NOT reproduced:\n  " + "\n  ".join(diffs))
    else:
        checked = [f for f in REPRODUCED_FIELDS if f in rerun]
        original = json.loads(args.result.read_text()).get("read_from", "the original target")
        print(f"reproduced exactly: {', '.join(checked)} ({rerun['counters']['SWEEPS']} sweeps; read from "
              f"{rerun['read_from']}, the original from {original})")
    print(f"wrote      {path}")
    return 1 if diffs else 0


def _sweep_parser(sub):
    p = sub.add_parser(
        "sweep", formatter_class=_Formatter, help="run a grid of runs from a TOML spec, on local cores or a Dask cluster",
        description=(
            "Run every combination of a spec's [grid] axes (problems, seeds, schedules, gains,\n"
            "precisions, targets; any setting of lim anneal), each as its own run with its own result\n"
            "file (runs/KEY.json, KEY a hash of the run's settings and problem). A run whose file\n"
            "exists is skipped: a sweep resumes after a crash, and a finished one does no work.\n"
            "By default one process per core runs them; --address sends them to a Dask cluster\n"
            "(a worker that dies has its runs retried elsewhere). At the end: summary.csv (a row\n"
            "per run) and summary.png (each swept axis). Spec format: examples/sweep-demo.toml."),
        epilog="examples:\n  lim sweep examples/sweep-demo.toml\n  lim sweep examples/sweep-demo.toml --workers 1\n"
               "  lim sweep examples/sweep-demo.toml --address tcp://10.0.0.5:8786\n"
               "  lim sweep examples/sweep-demo.toml --dask-local 2")
    p.add_argument("spec", type=Path, help="the sweep's TOML spec")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: one per core)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--address", help="a Dask scheduler's address: run on that cluster")
    where.add_argument("--dask-local", type=int, metavar="WORKERS",
                       help="start a local Dask cluster of this many worker processes and run on it")
    p.add_argument("--retries", type=int, default=2, help="times a failed run is retried before it is reported")
    p.add_argument("--dry-run", action="store_true", help="list the runs and which are done; run nothing")
    _add_out(p, "runs/, summary.csv and summary.png (default: the spec's 'out', else results/sweep-NAME)", None)
    _add_quiet(p)
    p.set_defaults(handler=_cmd_sweep)


def _cmd_sweep(args):
    from .sweep import load_spec, run_key, sweep
    spec = load_spec(args.spec, args.out)
    if args.dry_run:
        for run in spec.runs:
            key = run_key(run)
            state = "done" if (spec.out / "runs" / f"{key}.json").exists() else "to run"
            print(f"{key}  {state:<7} " + ", ".join(f"{k}={v}" for k, v in run.items()))
        print(f"{len(spec.runs)} runs -> {spec.out}")
        return 0
    if args.dask_local:
        engine, workers = "dask", args.dask_local
    else:
        engine, workers = ("dask", args.workers) if args.address else ("local", args.workers)
    summary = sweep(spec, engine, workers, args.address, progress=not args.quiet, retries=args.retries)
    print(f"sweep      {spec.name}: {summary.ran} runs done, {summary.skipped} already done, "
          f"{len(summary.failed)} failed, in {summary.seconds:.1f} s")
    for key, why in summary.failed.items():
        print(f"FAILED     {key}: {why}")
    print(f"wrote      {summary.csv_path}" + (f"\n           {summary.png_path}" if summary.png_path else ""))
    return 1 if summary.failed else 0


def _prove_parser(sub):
    p = sub.add_parser(
        "prove", formatter_class=_Formatter, help="prove the RTL's safety and liveness properties (SymbiYosys, z3)",
        description=(
            "Prove, by k-induction for every input sequence, that the array's counters saturate and\n"
            "never wrap, the barrier schedule stays within its programmed bounds, the hop argument\n"
            "never overflows and the probability table is read in range, and the command decoder\n"
            "never writes outside the problem memory. Each block is proved with its inputs free, so\n"
            "the proof holds wherever it is used. Exits 1 when a property fails. docs/formal.md."),
        epilog="examples:\n  lim prove\n  lim prove --only command_safety --keep")
    p.add_argument("--only", action="append", metavar="NAME", help="run only this proof (repeatable)")
    _add_out(p, "formal.json")
    _add_quiet(p)
    p.add_argument("--workdir", type=Path, default=Path("build") / "formal",
                   help="SymbiYosys work folders (logs and counterexample traces)")
    p.set_defaults(handler=_cmd_prove)


def _cmd_prove(args):
    from ..sim.formal.properties import PROOFS
    from ..sim.formal.prover import run_proof
    from .anneal import write_result
    proofs = PROOFS
    if args.only:
        known = {p.name for p in PROOFS}
        unknown = [n for n in args.only if n not in known]
        if unknown:
            raise SettingsError(f"unknown proof {unknown[0]!r}; choose from {', '.join(sorted(known))}")
        proofs = [p for p in PROOFS if p.name in args.only]
    results = []
    for proof in proofs:
        harness = proof.build()
        r = run_proof(proof.name, harness, harness.ports(), proof.mode, proof.depth, args.workdir / proof.name)
        results.append(dict(r.to_dict(), claim=proof.claim))
        verdict = "proved" if r.passed else "FAILED"
        if not args.quiet or not r.passed:
            print(f"{proof.name:<28}{verdict:<8}{r.seconds:>6.1f} s  {proof.claim}", flush=True)
        if not r.passed:
            print("    " + r.summary.replace("\n", "\n    ") + f"\n    log and trace: {r.workdir}")
    path = write_result({"proofs": results}, args.out / "formal.json")
    print(f"wrote      {path}")
    return 0 if all(r["passed"] for r in results) else 1


def build_parser():
    parser = argparse.ArgumentParser(
        prog="lim", formatter_class=_Formatter,
        description="Learning-in-memory array emulator: anneal on the simulated RTL, count the energy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _anneal_parser(sub)
    _bounds_parser(sub)
    _sweep_parser(sub)
    _build_parser(sub)
    _flash_parser(sub)
    _qp_parser(sub)
    _reproduce_parser(sub)
    _prove_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (ProblemError, SettingsError) as exc:
        print(f"lim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lim: interrupted; no result was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (lim ... | head): leave quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # tool and link failures, said in one line
        from ..sim.cosim.runner import CosimError
        from ..sim.cosim.tools import SimulatorMissing
        from ..sim.formal.prover import FormalToolMissing
        from .flash import FlashError
        from .protocol import ProtocolError
        from .toolchain import BuildFailed, ToolchainMissing
        from .transport import TransportError
        if isinstance(exc, (CosimError, SimulatorMissing, FlashError, ToolchainMissing, BuildFailed, TransportError,
                            ProtocolError, FormalToolMissing)):
            print(f"lim: error: {exc}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
