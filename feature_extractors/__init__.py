"""Pure functions of media: numpy in, numpy out; no threads, no Qt, nothing from the network.

- spec.py      FeatureSpec: each modality's feature names, size, rate and extractor version
- visual.py    FaceExtractor: video frame -> FaceObservation (geometry, blendshapes, CNN embedding; box, landmarks) or None
- expression_cnn.py  ExpressionCnn: aligned 48x48 face crop -> 64-d expression embedding (trained on FER+)
- face_geometry.py   face_features, face_vector: 478 landmarks -> the 17 geometry features; the whole face vector
- face_crop.py       aligned_face_crop: the 48x48 grey crop, eyes level, that the expression CNN reads
- landmarker_outputs.py  FastDetect: FaceLandmarker's outputs read straight into numpy
- acoustic.py  AcousticExtractor / AcousticStream: 16 kHz mono float32 -> eGeMAPS frames at 100 per second
- voice.py     VoiceExtractor: 16 kHz audio -> Whisper-encoder voice rows, 20 a second, only where speech is
- speech.py    SpeechRecognizer / StreamingTranscriber: audio -> Words with start and end times
- text.py      TextEncoder: Words -> one 384-d MiniLM vector per word, times kept
- windows.py   TimedRows, build_window: the three streams -> one CARAT input (aligned or unaligned)
- utterances.py  current_utterance: the words the text stream scores (the current sentence, whole)
- media.py        reading media files (PyAV): probe, decode frames, MediaError
- extract.py      all of the above over an image, audio file or video (`main.py extract MEDIA`)

Heavy libraries (mediapipe, opensmile, faster-whisper, transformers) are imported only when an extractor
is built, so importing this package or reading a FeatureSpec is cheap.
"""
