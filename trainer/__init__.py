"""Training CARAT on benchmark files, prepared datasets and single-stream corpora.

- loop.py            `fit` (the training loop and its epochs), TrainSettings; `predict_scores`
- step.py            one optimiser step, mixed precision, the words for a loss that is not finite
- settings.py        TrainSettings (what a run is asked) and TrainResult (what it gives back)
- batching.py        split arrays -> model inputs (`make_batch`); modalities hidden or dropped
- evaluation.py      scores on a split, validation, the end of a run (thresholds tuned, model.safetensors)
- finetune.py        training a checkpoint further on a user's data (`--from`): its start, frozen streams
- data_checks.py     a user's data before training: streams, samples per label, whether a checkpoint reads it
- model_card.py      a trained checkpoint's card (beside the one it started from) and the refusal of a
                     model that predicts every label or none
- resume.py          the training state `--resume` continues from
- run_logs.py        metrics.jsonl / metrics.csv, TensorBoard scalars, learning curves
- metrics.py         multi-label metrics (scikit-learn) and threshold tuning
- optim.py, distributed.py, mixing.py   optimisers and schedules; torchrun; several sources in one batch
- feature_data.py    FeatureSplit/FeatureDataset, the arrays every reader returns
- datasets.py        prepared datasets, `load_dataset` for every kind
- official_files.py  the official CMU-MOSEI / M3ED files; safe_pickle.py reads their pickles safely
- prepare.py         labelled media or text -> a prepared dataset (chunks, parts, merge)
- sample_lists.py    the samples to prepare (CSV, text corpus, label folders) and their splits
- sample_windows.py  one sample -> one CARAT input window, through the live extractors
- presets.py, face_images.py, words_corpora.py, words_baseline.py   the stream checkpoints' data
- emodb.py, voice_corpora.py, synthetic_speech.py   the voice corpora (EmoDB, RAVDESS, calm espeak-ng voices)
- live_clips.py, voice_windows.py   a clip as a microphone hears it, cut into live windows; prepared
- voice_scoring.py, voice_training.py   scoring voice windows by clip; a voice CARAT's config, data, splits
- data_folders.py    where the corpora and reference tensors are (CARAT_DATA, CARAT_REFERENCE)
- face_augment.py, face_video.py   webcam-like jitter of training faces; faces rendered into video
- room_sounds.py     rooms and a webcam's channel laid over clean voice clips
- balancing.py       class weights and balanced sampling for thin labels
- fusion_material.py, fusion_plan.py, fusion_segments.py, fusion_reading.py   the fusion benchmark's held-out
                     material, its scenarios, the video they make, and reading a replay of it back
- spoken_media.py    espeak-ng speech and still faces written into media files (tests, benchmarks, samples)
- untrained.py       an untrained checkpoint of the live shape (tests and benchmarks)
- recipes/           the shipped checkpoints' training recipes (face, words, voice and its folds, default),
                     each with frozen settings, and cards/, the one writer of their model cards
- synthetic.py       synthetic data in the official layout (tests and benchmarks)
"""
