"""``lim``: run annealing on the emulated learning-in-memory array and report its energy."""
import argparse
import sys
from pathlib import Path

from ..sim.problem import ProblemError, load_gset
from .settings import SIMULATOR_CHOICES, AnnealSettings, SettingsError

__all__ = ["main"]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


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
            "The barrier schedule is the annealing schedule: a hop between wells happens with\n"
            "probability min(1, exp(-(Eb - gain*dU/2))), so a low barrier lets the state explore\n"
            "and a rising one freezes it (consolidation)."),
        epilog=("examples:\n"
                "  lim anneal                                  # built-in 800-node G1-class graph\n"
                "  lim anneal --problem G1.txt --sweeps 2000\n"
                "  lim anneal --schedule linear --barrier-end 8 --simulator icarus --sweeps 5\n"
                "  lim anneal --simulator golden --sweeps 10000   # model only, fast"))
    p.add_argument("--problem", type=Path, help="Gset file: 'n m' then m lines 'i j w', 1-based "
                   "(default: a generated 800-node, 19,176-edge G1-class graph)")
    p.add_argument("--sweeps", type=int, default=d.sweeps, help="sweeps over all spins")
    p.add_argument("--schedule", default=d.schedule,
                   choices=["constant", "linear", "exponential", "logarithmic"], help="barrier schedule")
    p.add_argument("--barrier-start", type=float, default=d.barrier_start_kt, metavar="KT",
                   help="barrier at the first sweep, kT (steps of 1/16)")
    p.add_argument("--barrier-end", type=float, default=d.barrier_end_kt, metavar="KT",
                   help="highest barrier, kT")
    p.add_argument("--rate", type=float, default=None, help=AnnealSettings.rate_help)
    p.add_argument("--gain", type=float, default=d.gain_kt, metavar="KT",
                   help="kT per unit of the objective: sets the final sharpness")
    p.add_argument("--seed", type=int, default=d.seed, help="PRNG seed (also draws the start state)")
    p.add_argument("--lanes", type=int, default=d.lanes, help="parallel update lanes of the array")
    p.add_argument("--simulator", default=d.simulator, choices=SIMULATOR_CHOICES,
                   help="where the RTL runs ('golden' runs the model only)")
    p.add_argument("--checkpoints", type=int, default=d.checkpoints,
                   help="times the RTL state and counters are read back and compared")
    p.add_argument("--out", type=Path, default=Path("results"), help="folder for the JSON and PNG")
    p.add_argument("--name", default=None, help="file name stem of the outputs (default: from the problem)")
    p.add_argument("--waves", action="store_true", help="dump waveforms from the RTL simulator")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(handler=_cmd_anneal)
    return p


def _cmd_anneal(args):
    from .anneal import default_problem, run_anneal, write_result
    from .plots import plot_anneal
    from .progress import Progress

    settings = AnnealSettings(
        sweeps=args.sweeps, schedule=args.schedule, barrier_start_kt=args.barrier_start,
        barrier_end_kt=args.barrier_end, rate=args.rate, gain_kt=args.gain, seed=args.seed,
        lanes=args.lanes, checkpoints=args.checkpoints, simulator=args.simulator).validate()
    problem = load_gset(args.problem) if args.problem else default_problem()
    result = run_anneal(problem, settings, Progress(enabled=not args.quiet), waves=args.waves)
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
        f" -> {a['groups_used']} groups x {a['lanes']} lanes ({a['colours']} colours)",
        f"schedule   {r['schedule']}",
    ]
    if "cut" in r:
        lines.append(f"cut        {r['cut']}   (objective {r['objective']['start']} -> {r['objective']['final']})")
    else:
        lines.append(f"objective  {r['objective']['start']} -> {r['objective']['final']}")
    lines.append(f"energy     {'wall':<14}{'kT':>12}{'joules':>12}   (T = {e['temperature_k']:g} K)")
    for wall in ("read", "update", "consolidation", "total"):
        lines.append(f"           {wall:<14}{e[wall + '_kt']:>12.4g}{e[wall + '_j']:>12.4g}")
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


def build_parser():
    parser = argparse.ArgumentParser(
        prog="lim", formatter_class=_Formatter,
        description="Learning-in-memory array emulator: anneal on the simulated RTL, count the energy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _anneal_parser(sub)
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
    except Exception as exc:  # tool failures (simulator missing, build failed) without a traceback
        from ..sim.cosim.runner import CosimError
        from ..sim.cosim.tools import SimulatorMissing
        if isinstance(exc, (CosimError, SimulatorMissing)):
            print(f"lim: error: {exc}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
