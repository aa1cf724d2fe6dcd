"""Built-in AI training workloads for the energy bounds: parameters, update operations, precision.

Update operations = parameters x optimizer steps (every step updates every parameter once).
Each figure's source is given with it.
"""
from dataclasses import dataclass

__all__ = ["Workload", "AI_WORKLOADS"]


@dataclass(frozen=True)
class Workload:
    name: str
    parameters: float
    steps: float
    bits: int
    source: str

    @property
    def update_ops(self):
        return self.parameters * self.steps


AI_WORKLOADS = [
    Workload("MLP on MNIST", 1.0e6, 9.4e3, 16,
             "1e6 parameters; 20 epochs x 469 steps (60,000 images, batch 128)"),
    Workload("ResNet-50 on ImageNet", 2.56e7, 4.5e5, 16,
             "He et al. 2016: 25.6e6 parameters; 90 epochs x 5,005 steps (batch 256)"),
    Workload("BERT-large", 3.4e8, 1.0e6, 16,
             "Devlin et al. 2019: 340e6 parameters; 1e6 steps (batch 256)"),
    Workload("GPT-3", 1.75e11, 9.4e4, 16,
             "Brown et al. 2020: 175e9 parameters; 300e9 tokens / 3.2e6 tokens per batch"),
    Workload("brain-scale", 1.0e15, 1.0e6, 16,
             "1e15 synapses (human cortex order of magnitude); 1e6 steps assumed, as for BERT-large"),
]
