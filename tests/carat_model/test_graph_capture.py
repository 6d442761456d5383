"""The forward pass prepared for graph capture (CUDA graphs, torch.compile fullgraph): one graph, no host
reads, same scores. Checked on the CPU: dynamo refuses fullgraph=True at the first graph break, which is
exactly what a read back to the host or a data-dependent branch would cause under CUDA graph capture."""

import pytest
import torch

from carat_model import Carat

from .conftest import random_inputs, small_config


@pytest.mark.parametrize("aligned", [True, False], ids=["aligned", "unaligned"])
def test_prepared_forward_traces_as_one_graph_and_gives_the_same_scores(aligned):
    torch.manual_seed(0)
    config = small_config(aligned=aligned, unaligned_steps=10)
    reference = Carat(config).eval()
    captured = Carat(config).eval()
    captured.load_state_dict(reference.state_dict())
    inputs = random_inputs(config, batch=3, steps=10)
    inputs.visual_mask[1] = 0  # a sample with no face: the missing-modality repair must be in the graph
    torch._dynamo.reset()
    graph = torch.compile(captured.prepare_for_graph_capture(), fullgraph=True, backend="eager")
    # Dynamo declines to trace an LSTM (the unaligned soft aligner) unless asked; CUDA graphs hold one.
    with torch.no_grad(), torch._dynamo.config.patch(allow_rnn=True):
        expected, got = reference(inputs), graph(inputs)
    torch.testing.assert_close(got.scores, expected.scores, atol=1e-6, rtol=0)
    assert torch.equal(got.deciding_modality, expected.deciding_modality)
    assert torch.equal(got.present, expected.present)
