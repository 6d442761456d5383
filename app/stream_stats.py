"""The engine's counters and recent timings, for the health panel, tests and benchmarks."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field


@dataclass
class EngineStats:
    """Counters and recent timings, for the health panel, tests and benchmarks."""

    frames_captured: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    faces_found: int = 0
    audio_packets: int = 0
    events: int = 0
    windows_skipped: int = 0
    words: int = 0
    visual_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    preview_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    word_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    # The last word of each batch of words -> the batch published (benchmarks/pipeline_bench.py measures
    # end of speech -> its words in an event from the events themselves).
    utterance_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    predict_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
