"""Our checkpoint format, and import of the authors' state dicts."""

import pickle

import pytest
import torch

from carat_model import (
    Carat,
    CheckpointError,
    import_authors_checkpoint,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)
from tests.malicious import touches

from .conftest import random_inputs, small_config


def trained_looking_model(config=None) -> Carat:
    model = Carat(config or small_config())
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator))
        model.queue_ptr.fill_(17)
    model.set_label_thresholds([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    return model


def test_round_trip_is_bit_exact_with_config_spec_and_extra(tmp_path):
    model = trained_looking_model()
    spec = {"version": 1, "visual": {"dim": 7}}
    path = save_checkpoint(
        tmp_path / "model.safetensors", model, feature_spec=spec, extra={"trained_modalities": ["text"]}
    )
    loaded, info = load_checkpoint(path)
    assert info.config == model.config
    assert info.feature_spec == spec and info.extra == {"trained_modalities": ["text"]}
    assert "torch" in info.versions
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for name in original:
        assert original[name].dtype == restored[name].dtype
        assert torch.equal(original[name], restored[name]), name
    assert torch.equal(loaded.label_thresholds, model.label_thresholds)
    inputs = random_inputs(model.config)
    with torch.no_grad():
        assert torch.equal(model.eval()(inputs).scores, loaded.eval()(inputs).scores)


def test_half_precision_checkpoint_is_half_the_size_and_close(tmp_path):
    model = trained_looking_model()
    full = save_checkpoint(tmp_path / "full.safetensors", model)
    half = save_checkpoint(tmp_path / "half.safetensors", model, dtype=torch.float16)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_checkpoint(half)
    assert loaded.queue_ptr.dtype == torch.long and int(loaded.queue_ptr) == 17
    torch.testing.assert_close(loaded.classifier, model.classifier, atol=1e-2, rtol=1e-3)


def test_checkpoint_for_other_feature_sizes_is_refused_naming_both_sizes(tmp_path):
    path = save_checkpoint(tmp_path / "model.safetensors", Carat(small_config(visual_dim=7)))
    with pytest.raises(CheckpointError, match=r"visual features of size 7 but the extractors in use give 48"):
        load_checkpoint(path, expected=small_config(visual_dim=48))


def test_tensor_shapes_that_disagree_with_the_header_name_both_shapes(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = save_checkpoint(tmp_path / "model.safetensors", Carat(small_config()))
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    tensors["encoders.visual.embed.weight"] = torch.zeros(16, 9)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(
        CheckpointError, match=r"encoders\.visual\.embed\.weight has shape \(16, 9\) but this model expects \(16, 7\)"
    ):
        load_checkpoint(path)


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "model.safetensors", Carat(small_config()))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("{not json", "not JSON"),
        ('["a", "list"]', "not an object"),
        ('{"format": "carat-live-checkpoint", "format_version": 1}', "no model 'config'"),
        ('{"format": "carat-live-checkpoint", "format_version": 1, "config": {"layers": 2}}', "unusable"),
    ],
)
def test_damaged_checkpoint_header_names_the_file_and_what_to_do(tmp_path, header, says):
    from safetensors.torch import save_file

    path = tmp_path / "damaged.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"carat": header})
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert str(path) in message and says in message and "main.py train" in message
    assert "\n" not in message


def test_safetensors_file_without_our_header_says_what_to_use_instead(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(1)}, str(path))
    with pytest.raises(CheckpointError, match=r"other\.safetensors .*not a CARAT Live checkpoint.*main\.py train"):
        read_checkpoint_info(path)


def test_missing_checkpoint_says_how_to_get_one(tmp_path):
    with pytest.raises(CheckpointError, match="main.py train"):
        read_checkpoint_info(tmp_path / "nowhere.safetensors")


def test_authors_bin_file_imports_with_the_same_outputs(reference, tmp_path):
    path = tmp_path / "pytorch_model_3.bin"
    torch.save(reference["state_dict"], path)
    model = import_authors_checkpoint(path).eval()
    from carat_model.reference_check import reference_inputs

    inputs, _ = reference_inputs(reference)
    with torch.no_grad():
        scores = model(inputs).scores
    torch.testing.assert_close(scores, reference["eval"]["scores"], atol=1e-5, rtol=0)
    # ... and survives our own format.
    reloaded, _ = load_checkpoint(save_checkpoint(tmp_path / "imported.safetensors", model))
    with torch.no_grad():
        assert torch.equal(reloaded.eval()(inputs).scores, scores)


def test_malicious_pickle_in_a_bin_file_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "pytorch_model_1.bin"
    torch.save({"text_clf_weight": torch.zeros(6, 256), "payload": touches(marker)}, path)
    with pytest.raises(CheckpointError, match="refusing to load .* Python objects other than tensors"):
        import_authors_checkpoint(path)
    assert not marker.exists()


def test_plain_pickle_disguised_as_a_bin_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "pytorch_model_2.bin"
    path.write_bytes(pickle.dumps(touches(marker)))
    with pytest.raises(CheckpointError):
        import_authors_checkpoint(path)
    assert not marker.exists()
