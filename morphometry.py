"""Digit morphometry as Morpho-MNIST defines it (Castro et al. 2019, "Morpho-MNIST: quantitative
assessment and diagnostics for representation learning", section 2.1): the area, length,
thickness, slant, width and height of the stroke in a digit image.

    from morphometry import measure
    measure(image)        # [28, 28] in [0, 1] (or uint8) -> {"area": 98.6, "length": 21.4, ...}
    measure_many(images)  # [N, 28, 28] -> array [N, 6], columns in ATTRIBUTES order

How, per the paper: the image is upsampled SCALE times (bicubic, scikit-image's pyramid_expand)
and binarised at half its intensity range. area: the ink's pixel count. length: the skeleton's,
a diagonal step counting sqrt 2. thickness: twice the mean distance-transform value (scipy's
exact Euclidean transform) along the skeleton. slant: arctan(-mu11 / mu02) of the upsampled
image's second-order central moments, in radians (positive leans right, as italics do). width
and height: those of the parallelogram sheared by the slant that holds all but TRIM of the ink
(half of it left out on each side). Every figure is in pixels of the original image (area in
px^2). One departure: the skeleton is scikit-image's skeletonize, not the paper's medial axis,
which forks at a stroke's ends and so overstates its length (docs/semantic_directions.md).
An image with no stroke is refused (BlankImage) rather than measured as NaN.
"""

import numpy as np
from scipy import ndimage
from skimage import morphology, transform

# name -> unit, in the order of measure_many's columns
ATTRIBUTES = {"area": "px²", "length": "px", "thickness": "px", "slant": "rad", "width": "px",
              "height": "px"}
SCALE = 4  # upsampling before binarising: the paper's choice, so thin strokes keep a skeleton
TRIM = 0.02  # the share of ink left outside the bounding parallelogram (outliers, stray ink)


class BlankImage(ValueError):
    """An image with no stroke: nothing to measure."""


def as_grey(image):
    """A 2-D image as floats in [0, 1] (uint8 is divided by 255)."""
    x = np.squeeze(np.asarray(image))  # [1, 28, 28] as the model's tensors hold it
    if x.ndim != 2:
        raise ValueError(f"an image must be 2-D (height x width), not of shape {x.shape}")
    return x / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def measure(image, scale=SCALE, trim=TRIM):
    """The six attributes of a digit image -> {name: value}, see the module's docstring."""
    grey = as_grey(image)
    if not np.isfinite(grey).all():
        raise ValueError("the image holds NaN or infinite pixels")
    if grey.max() - grey.min() < 1e-3:
        raise BlankImage("the image is blank: it has no stroke to measure")
    big = transform.pyramid_expand(grey, upscale=scale, order=3)
    ink = big >= big.min() + 0.5 * (big.max() - big.min())
    skeleton = morphology.skeletonize(ink)
    distance = ndimage.distance_transform_edt(ink)
    shear, centre_row = horizontal_shear(big)
    width, height = parallelogram(ink, shear, centre_row, trim)
    return {"area": ink.sum() / scale**2,
            "length": skeleton_length(skeleton) / scale,
            "thickness": 2 * distance[skeleton].mean() / scale,
            "slant": float(np.arctan(-shear)),
            "width": width / scale,
            "height": height / scale}


def measure_many(images, scale=SCALE, trim=TRIM, blank=None):
    """[N, H, W] images -> [N, 6] float array, columns in ATTRIBUTES order. A blank image raises
    BlankImage, or, with `blank` given (e.g. NaN), gets a row of that value."""
    rows = []
    for x in images:
        try:
            rows.append(list(measure(x, scale, trim).values()))
        except BlankImage:
            if blank is None:
                raise
            rows.append([blank] * len(ATTRIBUTES))
    return np.array(rows, np.float64).reshape(-1, len(ATTRIBUTES))


def horizontal_shear(image):
    """-> (mu11 / mu02, the centroid's row) of the image's intensity: how far x moves per row."""
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    r, c = (rows * image).sum() / mass, (cols * image).sum() / mass
    mu11 = ((rows - r) * (cols - c) * image).sum() / mass
    mu02 = ((rows - r) ** 2 * image).sum() / mass
    return mu11 / mu02, r


def skeleton_length(skeleton):
    """Length of a one-pixel-wide skeleton: each link between 8-neighbours counts 1 (sideways or
    up and down) or sqrt 2 (diagonal), as the paper counts it."""
    s = skeleton.astype(bool)
    straight = (s[:, :-1] & s[:, 1:]).sum() + (s[:-1] & s[1:]).sum()
    diagonal = (s[:-1, :-1] & s[1:, 1:]).sum() + (s[:-1, 1:] & s[1:, :-1]).sum()
    return straight + np.sqrt(2) * diagonal


def parallelogram(ink, shear, centre_row, trim):
    """-> (width, height) of the parallelogram with sides sheared by `shear` that holds all but
    `trim` of the ink: the spread of the unsheared column, and of the row, between the trim/2
    and 1 - trim/2 quantiles of the ink."""
    rows, cols = np.indices(ink.shape)
    unsheared = cols - shear * (rows - centre_row)
    lo, hi = trim / 2, 1 - trim / 2
    return (np.subtract(*weighted_quantiles(unsheared, ink, (hi, lo))),
            np.subtract(*weighted_quantiles(rows, ink, (hi, lo))))


def weighted_quantiles(values, weights, qs):
    """Quantiles of `values` weighted by `weights` (arrays of one shape), each value's weight
    spread evenly over the unit interval about it (a pixel's width)."""
    v, inverse = np.unique(values, return_inverse=True)
    w = np.bincount(inverse.ravel(), weights.ravel().astype(np.float64))
    share = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    return np.interp(qs, share, np.concatenate([[v[0] - 0.5], v + 0.5]))
