"""Built-in AI training workloads: parameters, training samples, batch, FLOPs, each from its paper.

Update operations are counted two ways:

- **per sample** (the default): a learning-in-memory array applies every sample's gradient in
  place, so each sample (image or token) updates every parameter once: OPS = N x samples. For a
  dense network that is FLOPs / 6 (2 forward, 4 backward FLOPs per parameter per sample); a
  convolution reuses every weight at each position, so a CNN does far more FLOPs per update
  (ResNet-50: about 890);
- **per step**: a digital optimizer averages a batch and writes once per step: OPS = N x steps.

The brain-scale row has no paper: its training data is an assumption (``assumed``), and no
comparison that depends on it is settled by it.
"""
from dataclasses import dataclass

__all__ = ["Workload", "AI_WORKLOADS", "COUNTINGS", "BRAIN_SCALE"]

COUNTINGS = ("per-sample", "per-step")


@dataclass(frozen=True)
class Workload:
    name: str
    parameters: float
    samples: float          # training samples (images or tokens) seen, epochs included
    batch: float            # samples per optimizer step
    bits: int
    source: str
    flops: float = None     # training FLOPs when the paper gives them (else 6 N samples)
    assumed: bool = False   # ``samples`` is an assumption, not a paper's figure

    @property
    def steps(self):
        return self.samples / self.batch

    def update_ops(self, counting="per-sample", samples=None):
        samples = self.samples if samples is None else samples
        if counting == "per-sample":
            return self.parameters * samples
        if counting == "per-step":
            return self.parameters * samples / self.batch
        raise ValueError(f"counting must be one of {', '.join(COUNTINGS)}, not {counting!r}")

    def training_flops(self, samples=None):
        if self.flops is not None and samples is None:
            return self.flops
        return 6 * self.parameters * (self.samples if samples is None else samples)


BRAIN_SCALE = Workload(
    "brain-scale", 1e15, 2e16, 3.2e6, 16,
    "1e15 synapses (human cortex order of magnitude). Assumed data: 20 tokens per parameter, the "
    "compute-optimal rule of Hoffmann et al. 2022 (2e16 tokens); batch as GPT-3. No paper trains at "
    "this scale: the data is an assumption", assumed=True)

AI_WORKLOADS = [
    Workload("LeNet-5 on MNIST", 6.0e4, 1.2e6, 1, 16,
             "LeCun et al., Proc. IEEE 1998: 60,000 parameters, 340,908 connections; 60,000 images "
             "presented 20 times, one update per image", flops=6 * 340_908 * 1.2e6),
    Workload("ResNet-50 on ImageNet", 2.56e7, 600e3 * 256, 256, 16,
             "He et al., CVPR 2016: 3.8e9 multiply-adds per image, 60e4 iterations at batch 256; "
             "25.6e6 parameters", flops=3 * 2 * 3.8e9 * 600e3 * 256),
    Workload("BERT-large", 3.4e8, 1e6 * 256 * (0.9 * 128 + 0.1 * 512), 256 * (0.9 * 128 + 0.1 * 512), 16,
             "Devlin et al., NAACL 2019: 340e6 parameters, 1e6 steps of 256 sequences, 90% of the steps "
             "at length 128 and 10% at 512 (their appendix A.2): 4.26e10 tokens"),
    Workload("GPT-3", 1.75e11, 3.0e11, 3.2e6, 16,
             "Brown et al., NeurIPS 2020: 175e9 parameters, 300e9 tokens, batch 3.2e6 tokens, "
             "3.14e23 training FLOPs (their Table D.1)", flops=3.14e23),
    Workload("Chinchilla", 7.0e10, 1.4e12, 3.0e6, 16,
             "Hoffmann et al., NeurIPS 2022: 70e9 parameters, 1.4e12 tokens, 5.76e23 FLOPs",
             flops=5.76e23),
    BRAIN_SCALE,
]
