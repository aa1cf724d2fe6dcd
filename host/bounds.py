"""Energy-to-solution bounds for workloads, evaluated without running anything."""
from ..sim.energy import TECHNOLOGIES, Retention, workload_bounds
from ..sim.workloads import AI_WORKLOADS, Workload

__all__ = ["evaluate", "evaluate_table", "format_table", "custom_workload"]


def evaluate(workload, retention, temperature_k=300.0, convergence_time_s=None):
    b = workload_bounds(workload.parameters, workload.update_ops, workload.bits,
                        convergence_time_s=convergence_time_s, retention=retention)
    d = b.to_dict(temperature_k)
    sram = TECHNOLOGIES["sram-dram"]
    # von Neumann technology: every update reads and writes the parameter, one copy to DRAM
    d["sram_dram_j"] = (workload.update_ops * workload.bits * (sram.read_j + sram.write_bit_j)
                        + workload.parameters * workload.bits * sram.copy_bit_j)
    fn = TECHNOLOGIES["fn-synapse"]
    d["fn_synapse_j"] = workload.update_ops * fn.update_j if workload.bits <= fn.max_bits else None
    d.update(name=workload.name, steps=workload.steps, source=workload.source)
    return d


def evaluate_table(retention=Retention(), temperature_k=300.0, workloads=AI_WORKLOADS):
    return [evaluate(w, retention, temperature_k) for w in workloads]


def format_table(rows):
    head = (f"{'workload':<22}{'params':>9}{'update ops':>11}{'bits':>5}{'Eb_ret kT':>10}"
            f"{'Landauer J':>12}{'LIM bound J':>12}{'conv. kT J':>12}{'SRAM/DRAM J':>12}{'conv/LIM':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['name']:<22}{r['parameters']:>9.3g}{r['update_ops']:>11.3g}{r['bits']:>5}"
                     f"{r['retention_barrier_kt']:>10.1f}{r['landauer_j']:>12.3g}{r['lim_bound_j']:>12.3g}"
                     f"{r['conventional_j']:>12.3g}{r['sram_dram_j']:>12.3g}{r['conventional_over_lim']:>10.3g}")
    return "\n".join(lines)


def custom_workload(parameters, update_ops, bits):
    if not parameters >= 1:
        raise ValueError(f"parameters must be at least 1, not {parameters:g}")
    if not update_ops >= parameters:
        raise ValueError(f"update operations ({update_ops:g}) must be at least the parameters ({parameters:g}):"
                         " every parameter is updated at least once")
    if not 1 <= bits <= 64:
        raise ValueError(f"bits must be from 1 to 64, not {bits}")
    return Workload("custom", parameters, update_ops / parameters, bits, "command line")

