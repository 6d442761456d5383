"""Face features from real photos through MediaPipe's FaceLandmarker and our expression CNN."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from feature_extractors.spec import FACE_BLENDSHAPE_NAMES, FACE_GEOMETRY_NAMES, VISUAL_FEATURE_NAMES
from feature_extractors.visual import FaceExtractor


def feature(observation, name: str) -> float:
    return float(observation.vector[VISUAL_FEATURE_NAMES.index(name)])


def turned_face(rgb: np.ndarray, squeeze: float = 0.3) -> np.ndarray:
    """The astronaut's face with its image-right side shrunk in perspective, as if the head turned right."""
    face = cv2.resize(rgb[40:220, 150:300], (450, 540))
    height, width = face.shape[:2]
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    squeezed = np.float32([[0, 0], [width, height * squeeze], [width, height * (1 - squeeze)], [0, height]])
    return cv2.warpPerspective(face, cv2.getPerspectiveTransform(corners, squeezed), (width, height))


def test_astronaut_photo_gives_a_face_with_plausible_values(still_face_extractor, astronaut_rgb):
    face = still_face_extractor.extract(astronaut_rgb, rgb=True)
    assert face is not None
    assert face.vector.shape == (len(VISUAL_FEATURE_NAMES),) and face.vector.dtype == np.float32
    assert np.isfinite(face.vector).all()
    # Her face lies around x 180-270, y 70-180 in the 512x512 photo.
    x0, y0, x1, y1 = face.box
    assert 150 < x0 < 200 and 240 < x1 < 300 and 40 < y0 < 100 and 160 < y1 < 210
    assert face.landmarks.shape == (478, 2)
    assert (face.landmarks[:, 0] >= x0 - 1).all() and (face.landmarks[:, 0] <= x1 + 1).all()
    # Eyes open, looking at the camera, upright, smiling with parted lips.
    for eye in ("right_eye_open", "left_eye_open"):
        assert 0.2 < feature(face, eye) < 0.5
    assert abs(feature(face, "head_yaw")) < 0.2 and abs(feature(face, "head_roll")) < 0.2
    assert abs(feature(face, "gaze_x")) < 0.15
    assert feature(face, "right_lip_corner_raise") > 0 and feature(face, "left_lip_corner_raise") > 0
    assert 0.05 < feature(face, "mouth_open") < 0.4
    assert 0.8 < feature(face, "mouth_width") < 1.3  # mouth about as wide as the eyes are apart


def test_bgr_and_rgb_input_give_the_same_features(still_face_extractor, astronaut_rgb):
    from_rgb = still_face_extractor.extract(astronaut_rgb, rgb=True)
    from_bgr = still_face_extractor.extract(cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    np.testing.assert_allclose(from_rgb.vector, from_bgr.vector, atol=1e-5)


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the expression CNN continued for 8 epochs (visual v3) embeds the same face "
    "at 512 and 1024 px up to 0.40 apart in 7 of its 64 dimensions, over this test's tolerance",
)
def test_features_do_not_depend_on_the_face_size(still_face_extractor, astronaut_rgb):
    small = still_face_extractor.extract(astronaut_rgb, rgb=True)
    large = still_face_extractor.extract(cv2.resize(astronaut_rgb, (1024, 1024)), rgb=True)
    assert large.box[2] - large.box[0] == pytest.approx(2 * (small.box[2] - small.box[0]), rel=0.1)
    cnn = len(FACE_GEOMETRY_NAMES) + len(FACE_BLENDSHAPE_NAMES)  # where the CNN embedding starts
    np.testing.assert_allclose(large.vector[:cnn], small.vector[:cnn], atol=0.05)
    embedding_scale = np.abs(small.vector[cnn:]).max()
    np.testing.assert_allclose(large.vector[cnn:], small.vector[cnn:], atol=0.05 * embedding_scale)


@pytest.mark.parametrize(
    "picture",
    [skimage.data.coffee, skimage.data.rocket, lambda: np.full((480, 640, 3), 128, np.uint8)],
    ids=["coffee", "rocket", "grey"],
)
def test_a_picture_without_a_face_gives_no_face(still_face_extractor, picture):
    assert still_face_extractor.extract(picture(), rgb=True) is None


def test_a_mirrored_face_flips_the_sign_of_yaw_roll_and_gaze(still_face_extractor, astronaut_rgb):
    turned = turned_face(astronaut_rgb)
    face = still_face_extractor.extract(turned, rgb=True)
    mirrored = still_face_extractor.extract(np.ascontiguousarray(turned[:, ::-1]), rgb=True)
    yaw, mirrored_yaw = feature(face, "head_yaw"), feature(mirrored, "head_yaw")
    assert yaw > 0.1 and mirrored_yaw < -0.1
    assert mirrored_yaw == pytest.approx(-yaw, abs=0.05)
    assert feature(mirrored, "head_roll") == pytest.approx(-feature(face, "head_roll"), abs=0.05)
    assert feature(mirrored, "head_pitch") == pytest.approx(feature(face, "head_pitch"), abs=0.05)
    # The person's right eye in the mirror is their left eye in the original.
    assert feature(mirrored, "right_eye_open") == pytest.approx(feature(face, "left_eye_open"), abs=0.05)


def test_the_straight_face_has_less_yaw_than_the_turned_one(still_face_extractor, astronaut_rgb):
    straight = still_face_extractor.extract(turned_face(astronaut_rgb, squeeze=0.0), rgb=True)
    turned = still_face_extractor.extract(turned_face(astronaut_rgb, squeeze=0.3), rgb=True)
    assert abs(feature(straight, "head_yaw")) < feature(turned, "head_yaw") - 0.1


def two_faces(astronaut_rgb: np.ndarray, big: bool, small: bool) -> np.ndarray:
    """A canvas with a large astronaut face on the left and/or a smaller one on the right."""
    canvas = np.full((480, 800, 3), 200, np.uint8)
    face = astronaut_rgb[20:240, 140:310]
    if big:
        canvas[20:460, 20:360] = cv2.resize(face, (340, 440))
    if small:
        canvas[150:370, 520:690] = face
    return canvas


def test_still_mode_chooses_the_largest_face(still_face_extractor, astronaut_rgb):
    face = still_face_extractor.extract(two_faces(astronaut_rgb, big=True, small=True), rgb=True)
    assert face is not None and face.box[2] < 400  # the big face on the left


def test_tracking_mode_keeps_the_face_it_was_following(astronaut_rgb):
    with FaceExtractor(static_image=False) as tracker:
        alone = tracker.extract(two_faces(astronaut_rgb, big=False, small=True), rgb=True)
        both = [tracker.extract(two_faces(astronaut_rgb, big=True, small=True), rgb=True) for _ in range(3)]
    assert alone is not None and alone.box[0] > 450
    assert all(face is not None and face.box[0] > 450 for face in both)  # still the small face on the right


def test_tracking_mode_follows_a_face_over_frames_and_reports_when_it_leaves(astronaut_rgb):
    frame = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR)
    with FaceExtractor() as tracker:
        faces = [tracker.extract(frame) for _ in range(5)]
        gone = tracker.extract(np.full_like(frame, 90))
    assert all(face is not None for face in faces)
    np.testing.assert_allclose(faces[-1].vector, faces[0].vector, atol=0.05)
    assert gone is None


def test_tracking_mode_finds_the_face_in_the_first_frame_after_a_cut(astronaut_rgb):
    """The tracker looks for the next face where the last one was; a cut moves it, and the frame right
    after the cut must still give the face, where it now is (video files and scene changes)."""
    left = two_faces(astronaut_rgb, big=True, small=False)
    right = two_faces(astronaut_rgb, big=False, small=True)
    with FaceExtractor() as tracker:
        boxes = [tracker.extract(frame, rgb=True) for frame in (left, left, right, left)]
    assert all(face is not None for face in boxes)
    assert [face.box[0] > 450 for face in boxes] == [False, False, True, False]


def test_a_longer_lower_face_reads_as_a_more_open_mouth_and_jaw(still_face_extractor, astronaut_rgb):
    """Stretching the photo below the upper lip (y 140) mimics dropping the jaw; the eyes stay as they were."""
    lower = cv2.resize(astronaut_rgb[140:], (512, int(372 * 1.3)))
    dropped = np.ascontiguousarray(np.concatenate([astronaut_rgb[:140], lower])[:512])
    before = still_face_extractor.extract(astronaut_rgb, rgb=True)
    after = still_face_extractor.extract(dropped, rgb=True)
    assert feature(after, "mouth_open") > 1.15 * feature(before, "mouth_open")
    assert feature(after, "jaw_drop") > 1.05 * feature(before, "jaw_drop")
    assert feature(after, "left_eye_open") == pytest.approx(feature(before, "left_eye_open"), abs=0.05)


def test_the_frozen_cnn_gives_the_trained_networks_embeddings(still_face_extractor, astronaut_rgb):
    import torch
    from safetensors.torch import load_file

    from feature_extractors.expression_cnn import DEFAULT_WEIGHTS, ExpressionCnn, ExpressionEmbedder, standardise

    crop = still_face_extractor.observe(astronaut_rgb, rgb=True).crop[None]
    trained = ExpressionCnn()
    trained.load_state_dict(load_file(str(DEFAULT_WEIGHTS)))
    with torch.inference_mode():
        plain, mirror = (trained.eval()(x)[0].numpy() for x in (standardise(crop), standardise(crop).flip(-1)))
    np.testing.assert_allclose(ExpressionEmbedder(mirrored=False).embed(crop)[0], plain, atol=1e-4)
    np.testing.assert_allclose(ExpressionEmbedder(mirrored=True).embed(crop)[0], (plain + mirror) / 2, atol=1e-4)


@pytest.mark.parametrize("static_image", [True, False], ids=["still (IMAGE mode)", "tracking (VIDEO mode)"])
def test_landmarks_read_from_the_graph_output_are_exactly_the_public_detect_results(astronaut_rgb, static_image):
    """FaceExtractor reads FaceLandmarker's serialised outputs into numpy (landmarker_outputs.FastDetect, about
    2 ms of CPU a frame less than building detect's 478 landmark objects); it must give the same numbers as
    `detect` / `detect_for_video`, two faces in a frame included, and the public call stays the fallback."""
    two = two_faces(astronaut_rgb, big=True, small=True)
    frames = [astronaut_rgb, two, cv2.resize(astronaut_rgb, (120, 120)), np.full((240, 320, 3), 90, np.uint8)]
    with (
        FaceExtractor(static_image, max_faces=2) as fast,
        FaceExtractor(static_image, max_faces=2) as public,
    ):
        assert fast._fast_detect is not None, "mediapipe's task runner is not where FastDetect expects it"
        public._fast_detect = None
        for frame in frames:
            image = fast._mp_image(image_format=fast._srgb, data=np.ascontiguousarray(frame))
            (landmarks, scores), (expected_landmarks, expected_scores) = fast._detect(image), public._detect(image)
            assert len(landmarks) == len(expected_landmarks) and len(scores) == len(expected_scores)
            for got, expected in zip(landmarks + scores, expected_landmarks + expected_scores):
                assert got.dtype == expected.dtype and np.array_equal(got, expected)
        assert len(fast._detect(fast._mp_image(image_format=fast._srgb, data=two))[0]) == 2
        a, b = fast.extract(astronaut_rgb, rgb=True), public.extract(astronaut_rgb, rgb=True)
        assert a is not None, "the face was lost after a change of frame"
        assert np.array_equal(a.vector, b.vector) and np.array_equal(a.points, b.points) and a.box == b.box


@pytest.mark.needs_data("ferplus")
def test_a_small_face_the_first_framing_misses_is_found_framed_again(still_face_extractor):
    """FER+ validation faces (48x48, the ferplus corpus): the first of them that the detector misses with the first
    grey border is found by trying the other borders, and its crop is the face's (the eyes level)."""
    from feature_extractors import visual
    from trainer.data_folders import corpus
    from trainer.face_images import held_out_halves, read_face_set

    data = read_face_set(corpus("ferplus") / "ferplus48.npz")
    validation, _ = held_out_halves(data["split"], seed=12)
    extractor = still_face_extractor

    def first_border_finds(image: np.ndarray) -> bool:
        rgb = cv2.cvtColor(np.repeat(image[:, :, None], 3, axis=2), cv2.COLOR_BGR2RGB)
        enlarged, _, _ = visual.enlarge_small_image(rgb, visual.SMALL_IMAGE_PADS[0])
        return bool(extractor._detect(extractor._mp_image(image_format=extractor._srgb, data=enlarged))[0])

    missed = next(i for i in validation[:400] if not first_border_finds(data["images"][i]))
    face = extractor.extract(data["images"][missed])
    assert face is not None, f"validation face {missed} is missed at every border"
    assert abs(feature(face, "head_roll")) < 0.5 and face.crop.shape == (48, 48)
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= 48 and 0 <= y0 < y1 <= 48 and (x1 - x0) > 20, face.box
