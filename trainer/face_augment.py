"""What a webcam does to a face that FER's stills never show, applied to aligned 48x48 training crops.

FER2013's faces are 48-pixel web photos, mostly frontal, evenly lit and sharp for their size. A face in a
live video is 100-300 pixels across, cut to the same 48x48 crop (visual.aligned_face_crop) after the
camera, the video codec and the person have had their say. Each batch of crops gets a random mix of:
- head pose: mirror, rotation up to 15 degrees, scale 0.9-1.1, shifts of 3 px, a little shear (a turned
  head foreshortens one side);
- resolution: a small face upscaled (cut at 28-44 px, then enlarged) or a soft lens (Gaussian blur);
- motion: a short line blur in any direction (a head moving during the exposure);
- light: gamma, contrast, and a gradient across the face (light from one side);
- sensor noise and JPEG/video compression at low quality (8x8 blocks, lost fine texture);
- occlusion: a patch of the face hidden (a hand, glasses, hair, the frame's edge).
Each effect is drawn per crop with its own probability (PROBABILITY), so many crops stay close to FER's.
Works on float crops in 0-255 (before each crop is standardised); everything is seeded by the caller's
torch.Generator and numpy Generator, so a training run can be reproduced.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

PROBABILITY = {"low_resolution": 0.25, "blur": 0.15, "motion": 0.15, "light": 0.6, "noise": 0.3,
               "compression": 0.3, "occlusion": 0.25}  # fmt: skip


def augment_crops(x: torch.Tensor, generator: torch.Generator, rng: np.random.Generator) -> torch.Tensor:
    """[B, 1, 48, 48] float crops in 0-255 -> the same crops as a webcam might give them, still in 0-255."""
    x = head_pose(x, generator)
    x = _some(x, PROBABILITY["low_resolution"], generator, low_resolution)
    x = _some(x, PROBABILITY["blur"], generator, gaussian_blur)
    x = _some(x, PROBABILITY["motion"], generator, motion_blur)
    x = _some(x, PROBABILITY["light"], generator, lighting)
    x = _some(x, PROBABILITY["noise"], generator, sensor_noise)
    x = x.clamp(0, 255)
    chosen = torch.rand(len(x), generator=generator) < PROBABILITY["compression"]
    if chosen.any():
        x[chosen] = jpeg(x[chosen], rng)
    return _some(x, PROBABILITY["occlusion"], generator, occlude)


def _some(x: torch.Tensor, probability: float, generator: torch.Generator, effect) -> torch.Tensor:
    """`effect` applied to a random share of the crops (each chosen with `probability`)."""
    chosen = torch.rand(len(x), generator=generator) < probability
    if not chosen.any():
        return x
    x = x.clone()
    x[chosen] = effect(x[chosen], generator)
    return x


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def head_pose(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror half the crops; rotate up to 15 degrees, scale 0.9-1.1, shift up to 3 px, shear up to 0.08."""
    n = len(x)
    angle = _uniform(n, -15, 15, generator) * math.pi / 180
    scale = _uniform(n, 0.9, 1.1, generator)
    shear = _uniform(n, -0.08, 0.08, generator)
    shift = _uniform(2 * n, -3 / 24, 3 / 24, generator).reshape(n, 2)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin + shear, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def low_resolution(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A face seen at 28-44 px, enlarged to the crop again (the blur of upscaling a small face)."""
    side = int(_uniform(1, 28, 44, generator).item())
    small = F.interpolate(x, size=(side, side), mode="area")
    return F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)


def _convolve(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Each crop [B, 1, H, W] with its own kernel [B, k, k] (normalised), borders replicated."""
    k = kernels.shape[-1]
    padded = F.pad(x, (k // 2,) * 4, mode="replicate")
    out = F.conv2d(padded.reshape(1, len(x), *padded.shape[-2:]), kernels[:, None], groups=len(x))
    return out.reshape(x.shape)


def gaussian_blur(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A soft lens or focus: Gaussian blur of sigma 0.4-1.0 px."""
    sigma = _uniform(len(x), 0.4, 1.0, generator)
    r = torch.arange(-3, 4, dtype=torch.float32)
    line = torch.exp(-(r[None] ** 2) / (2 * sigma[:, None] ** 2))
    kernels = line[:, :, None] * line[:, None, :]
    return _convolve(x, kernels / kernels.sum((1, 2), keepdim=True))


def motion_blur(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A head moving during the exposure: a line of 3-5 px at any angle."""
    n, size = len(x), 7
    length = _uniform(n, 3, 5, generator)
    angle = _uniform(n, 0, math.pi, generator)
    r = torch.arange(size, dtype=torch.float32) - size // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    # distance of each kernel pixel from the line through the centre, and how far along it
    across = (-torch.sin(angle)[:, None, None] * xx + torch.cos(angle)[:, None, None] * yy).abs()
    along = (torch.cos(angle)[:, None, None] * xx + torch.sin(angle)[:, None, None] * yy).abs()
    kernels = ((across < 0.5) & (along <= length[:, None, None] / 2)).float()
    return _convolve(x, kernels / kernels.sum((1, 2), keepdim=True))


def lighting(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gamma 0.6-1.6, contrast 0.6-1.3 about the mean, and light falling off across the face by up to 40%."""
    n = len(x)
    gamma = torch.exp(_uniform(n, math.log(0.6), math.log(1.6), generator))[:, None, None, None]
    x = 255.0 * (x / 255.0).clamp_min(0) ** gamma
    contrast = _uniform(n, 0.6, 1.3, generator)[:, None, None, None]
    mean = x.mean((2, 3), keepdim=True)
    x = mean + (x - mean) * contrast
    angle = _uniform(n, 0, 2 * math.pi, generator)
    strength = _uniform(n, 0, 0.4, generator)
    r = torch.linspace(-1, 1, x.shape[-1])
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    ramp = torch.cos(angle)[:, None, None] * xx + torch.sin(angle)[:, None, None] * yy  # -1.4 .. 1.4
    return x * (1 + strength[:, None, None] * ramp / 1.5)[:, None]


def sensor_noise(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise of 2-6 grey levels."""
    sigma = _uniform(len(x), 2, 6, generator)[:, None, None, None]
    return x + sigma * torch.randn(x.shape, generator=generator)


def jpeg(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """JPEG at quality 15-60 (a video codec at a webcam's bit rate loses the same fine texture)."""
    out = []
    for crop in x[:, 0].round().to(torch.uint8).numpy():
        ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 61))])
        out.append(cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if ok else crop)
    return torch.from_numpy(np.stack(out)).float()[:, None]


def occlude(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A rectangle of 8-20% of the crop hidden by a flat grey or noise (a hand, hair, glasses, the frame)."""
    n, side = len(x), x.shape[-1]
    x = x.clone()
    area = _uniform(n, 0.08, 0.20, generator) * side * side
    aspect = torch.exp(_uniform(n, math.log(0.5), math.log(2.0), generator))
    heights = (area * aspect).sqrt().clamp(4, side).long()
    widths = (area / aspect).sqrt().clamp(4, side).long()
    for i in range(n):
        h, w = int(heights[i]), int(widths[i])
        top = int(torch.randint(0, side - h + 1, (1,), generator=generator))
        left = int(torch.randint(0, side - w + 1, (1,), generator=generator))
        if torch.rand(1, generator=generator) < 0.5:
            x[i, :, top : top + h, left : left + w] = float(torch.randint(0, 256, (1,), generator=generator))
        else:
            x[i, :, top : top + h, left : left + w] = 255 * torch.rand((1, h, w), generator=generator)
    return x
