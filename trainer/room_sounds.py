"""Sounds of the rooms people use the app in, made from a seed, and the channel of a webcam microphone.

Used three ways: as the room around training clips and as noise-only training windows (the voice must
learn that these carry no emotion), by `benchmarks/voice_false_alarms.py` (no speech at all: the voice must
decide nothing) and by `benchmarks/voice_robustness.py` (a clip and its webcam-like copy must score alike).
Every sound is 16 kHz mono float32 at a stated RMS level in dBFS (0 dBFS: a full-scale sine's RMS is -3).
"""

from __future__ import annotations

import io

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE

NOISE_KINDS = ("room", "hum", "music", "keyboard")


def at_level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """The samples scaled to an RMS of `dbfs`."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) or 1.0
    return (samples * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def room_noise(length: int, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """Air conditioning and distant traffic: noise falling 3 dB an octave (pink), with a slow swell."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.fft.rfftfreq(length, 1 / SAMPLE_RATE)
    spectrum /= np.sqrt(np.maximum(frequencies, 20.0))
    pink = np.fft.irfft(spectrum, length)
    swell = 1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * np.arange(length) / SAMPLE_RATE)
    return at_level(pink * swell, dbfs)


def fan_hum(length: int, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """A desk fan or a computer: mains hum with its harmonics, a blade tone and broadband air noise."""
    t = np.arange(length) / SAMPLE_RATE
    mains = rng.choice([50.0, 60.0])
    hum = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3)) for k in (1, 2, 3, 4))
    blade = 0.3 * np.sin(2 * np.pi * rng.uniform(80, 200) * t) * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(2, 8) * t))
    air = room_noise(length, -20, rng) / 10 ** (-20 / 20) * 0.3
    return at_level(hum + blade + air, dbfs)


def music(length: int, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """Instrumental music: chords of harmonic notes with plucked envelopes, a bass line and a drum beat."""
    t = np.arange(length) / SAMPLE_RATE
    out = np.zeros(length)
    beat = rng.uniform(0.4, 0.7)  # seconds per beat (86-150 bpm)
    root = 220.0 * 2 ** (rng.integers(-5, 5) / 12)
    for start in np.arange(0, length / SAMPLE_RATE, beat):
        first, last = int(start * SAMPLE_RATE), min(length, int((start + 2 * beat) * SAMPLE_RATE))
        local = t[first:last] - start
        envelope = np.exp(-local * rng.uniform(2, 6))
        chord = rng.choice([[0, 4, 7], [0, 3, 7], [0, 5, 9], [2, 5, 9], [-1, 2, 7]])
        for step in chord:
            pitch = root * 2 ** (step / 12)
            for harmonic in (1, 2, 3):
                out[first:last] += 0.3 / harmonic * envelope * np.sin(2 * np.pi * pitch * harmonic * local)
        out[first:last] += 0.5 * envelope * np.sin(2 * np.pi * root / 2 * local)  # bass
        kick = min(length - first, int(0.08 * SAMPLE_RATE))
        out[first : first + kick] += (
            0.8 * np.exp(-np.arange(kick) / 300) * np.sin(2 * np.pi * 60 * np.arange(kick) / SAMPLE_RATE)
        )
    return at_level(out, dbfs)


def keyboard(length: int, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """Typing: short clicks (a few ms of filtered noise with a fast decay), 4-9 a second, in bursts."""
    out = np.zeros(length)
    time = rng.uniform(0, 0.2)
    while time < length / SAMPLE_RATE:
        first = int(time * SAMPLE_RATE)
        size = min(length - first, int(rng.uniform(0.008, 0.02) * SAMPLE_RATE))
        click = np.diff(rng.standard_normal(size + 1)) * np.exp(-np.arange(size) / rng.uniform(30, 90))
        out[first : first + size] += rng.uniform(0.3, 1.0) * click
        time += rng.exponential(1 / rng.uniform(4, 9)) + (rng.uniform(0.5, 1.5) if rng.random() < 0.1 else 0.0)
    return at_level(out + 0.01 * rng.standard_normal(length), dbfs)


MAKERS = {"room": room_noise, "hum": fan_hum, "music": music, "keyboard": keyboard}


def noise(kind: str, length: int, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    if kind not in MAKERS:
        raise ValueError(f"unknown noise {kind!r}; the kinds are {NOISE_KINDS}")
    return MAKERS[kind](length, dbfs, rng)


def rms_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples, dtype=np.float64))) + 1e-12))


def webcam_channel(samples: np.ndarray, rng: np.random.Generator, snr_db: float = 20.0) -> np.ndarray:
    """What a webcam's microphone makes of a clip: band-limited to 150-6000 Hz (small capsule, cheap
    converter), through Opus at 16 kbit/s (a call's codec at a low rate) and with room noise 20 dB below the
    speech (the speech's level measured over its loud half, so the pauses do not lower it)."""
    from scipy.signal import butter, sosfiltfilt

    band = butter(4, [150, 6000], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    out = sosfiltfilt(band, samples).astype(np.float32)
    out = opus_round_trip(out, bitrate=16000)
    frames = out[: len(out) // 320 * 320].reshape(-1, 320)
    loud = np.sort(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)))[len(frames) // 2 :]
    speech_dbfs = float(20 * np.log10(np.sqrt(np.mean(loud**2)) + 1e-12)) if len(loud) else rms_dbfs(out)
    out = out + room_noise(len(out), speech_dbfs - snr_db, rng)
    return np.clip(out, -1, 1).astype(np.float32)


def opus_round_trip(samples: np.ndarray, bitrate: int) -> np.ndarray:
    """The samples encoded with Opus (PyAV's libopus) at `bitrate` and decoded again, at 16 kHz."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    decoded = []
    with av.open(buffer) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                decoded.append(out.to_ndarray().reshape(-1))
    result = np.concatenate(decoded) if decoded else np.zeros(0, np.float32)
    result = result[: len(samples)]
    return np.pad(result, (0, len(samples) - len(result))).astype(np.float32)
