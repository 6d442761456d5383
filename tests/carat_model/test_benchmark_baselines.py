"""The benchmark's baselines compute what the authors' code computed, so its speed-ups compare like with like."""

import torch

from benchmarks.authors_style import AuthorsStyleInference
from carat_model.reference_check import reference_inputs, reference_model


def test_authors_style_inference_reproduces_the_authors_eval_scores(reference):
    inputs, _ = reference_inputs(reference)
    baseline = AuthorsStyleInference(reference_model(reference).eval()).eval()
    with torch.no_grad():
        scores = baseline(inputs)
    torch.testing.assert_close(scores, reference["eval"]["scores"], atol=1e-5, rtol=0)
