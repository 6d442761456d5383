"""Data-parallel training under torchrun: process group set-up and the model's shared training state.

Gradients are averaged by DDP. CARAT also keeps per-replica buffers (prototypes and the contrastive
queue) that the step moves without gradient. We keep them identical on every replica: each step
all-gathers the batch latents, labels and contrast vectors of all replicas (in rank order) and applies
the same update everywhere, exactly as one process would with the concatenated global batch. So
"replicas hold identical weights" holds for buffers too, and DDP's buffer broadcast is switched off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from carat_model import Carat, CaratLoss, CaratOutput, update_training_state


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    started_here: bool = False  # we created the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.started_here and dist.is_initialized():
            dist.destroy_process_group()


def start_distributed(device_type: str) -> DistributedContext:
    """Join the process group torchrun describes (WORLD_SIZE > 1); a single process otherwise.
    gloo on CPU, NCCL on GPUs."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    started = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
        started = True
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank, started_here=started)


def _gather_rows(tensor: torch.Tensor, world_size: int) -> torch.Tensor:
    """All replicas' tensors concatenated along dim 0 in rank order; row counts may differ."""
    count = torch.tensor([tensor.shape[0]], device=tensor.device)
    counts = [torch.zeros_like(count) for _ in range(world_size)]
    dist.all_gather(counts, count)
    largest = int(max(c.item() for c in counts))
    padded = tensor.new_zeros((largest, *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    gathered = [torch.zeros_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded.contiguous())
    return torch.cat([g[: int(c.item())] for g, c in zip(gathered, counts)])


@torch.no_grad()
def update_shared_training_state(
    model: Carat, output: CaratOutput, labels: torch.Tensor, loss: CaratLoss, context: DistributedContext
) -> None:
    """update_training_state, with every replica applying the whole global batch's update."""
    if not context.active:
        update_training_state(model, output, labels, loss)
        return
    world = context.world_size
    latent = _gather_rows(output.latent.detach().float(), world)
    all_labels = _gather_rows(labels.float(), world)
    present = _gather_rows(output.present.to(torch.uint8), world).bool()
    vectors = _gather_rows(loss.contrast_vectors.float(), world)
    classes = _gather_rows(loss.contrast_classes.float(), world)
    model.update_prototypes(latent, all_labels, present)
    model.enqueue(vectors, classes)
