"""Image helpers shared by every tool: decoded pixels to uint8, mosaics and crisp enlarging,
labelled strips, GIFs, and reading an uploaded or drawn image the way MNIST's digits were
prepared. numpy and PIL only: no model, no UI.

    import images
    frames = images.to_uint8(model.decode(z))          # [N, 28, 28] uint8, white ink on black
    images.enlarge(images.mosaic(frames, 8), 4).save("grid.png")
    x = images.mnist_style(images.open_image("photo.png"))   # [28, 28] float in [0, 1]

Tested in tests/test_images.py.
"""

import ctypes
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError, _webp

MAX_SIDE, MAX_PIXELS = 4096, 16_000_000  # larger images are refused before their pixels decode
WORK_SIDE = 512  # an image is shrunk to this before any float copy (the digit ends up 20 px)
# What PIL raises on a malformed file, beside OSError: a broken PNG is a SyntaxError, an oversized
# text chunk or a truncated header a ValueError, a cut stream an EOFError, zlib or struct errors.
BROKEN = (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error)
# PIL refuses to open images over twice its limit (DecompressionBombError). Gradio's own image
# components decode uploads with PIL before any handler sees them (the Sketchpad does), so
# lowering the limit to ours bounds those decodes too: at most 32 MP, not PIL's default 179 MP.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
FRAME_MS = 80  # GIF frame time: 12.5 frames/s reads as motion without blurring the steps


class ImageError(ValueError):
    """An image that cannot be used (empty, unreadable, too large, no ink); the message says why."""


def to_uint8(x):
    """Pixel probabilities [N, 1, h, w] or [N, h, w] (array or CPU tensor) -> uint8 [N, h, w],
    white ink on black as in MNIST. Rounds half to even, as torch.round does."""
    x = np.asarray(x, np.float32)
    return np.round(x.reshape(len(x), *x.shape[-2:]) * 255).astype(np.uint8)


def mosaic(frames, cols, gap=0, fill=255):
    """Frames [N, h, w] -> one array, `cols` a row, `gap` pixels of `fill` between them (none after
    the last row and column); the cells a short last row lacks are `fill` too."""
    n, h, w = frames.shape
    frames = np.concatenate([frames, np.full((-n % cols, h, w), fill, frames.dtype)])
    cells = np.pad(frames, ((0, 0), (0, gap), (0, gap)), constant_values=fill)
    out = cells.reshape(-1, cols, h + gap, w + gap).transpose(0, 2, 1, 3)
    out = out.reshape(-1, cols * (w + gap))
    return out[:out.shape[0] - gap, :out.shape[1] - gap]


def enlarge(a, scale):
    """Nearest-neighbour upscaling of a uint8 array to a PIL image: each pixel a crisp
    scale x scale square, no blur."""
    return Image.fromarray(a).resize((a.shape[1] * scale, a.shape[0] * scale), Image.NEAREST)


def tile(frames, cols, scale=2, gap=2, fill=96):
    """Frames [N, h, w] -> one enlarged grid image, `cols` a row, grey gaps between them."""
    return enlarge(mosaic(frames, cols, gap, fill), scale)


def labelled_strip(frames, labels, scale, gap=2):
    """Frames [N, h, w] in a row on white, each with its label centred underneath (on two lines
    when one is wider than the frame, as 'centre Ankle boot' is)."""
    row = enlarge(mosaic(frames, len(frames), gap), scale)
    size = 10 + scale  # text height in pixels
    font = ImageFont.load_default(size=size)
    img = Image.new("L", (row.width, row.height + 2 * size + 10), 255)
    img.paste(row)
    draw = ImageDraw.Draw(img)
    w = frames.shape[2]
    for i, label in enumerate(labels):
        if draw.textlength(label, font=font) > w * scale:
            label = label.replace(" ", "\n", 1)
        x = (i * (w + gap) + w // 2) * scale  # the frame's centre
        draw.multiline_text((x, row.height + 4), label, fill=0, font=font, anchor="ma",
                            align="center")
    return img


def save_gif(frames, path, scale, frame_ms=FRAME_MS):
    """uint8 frames [N, h, w], each enlarged `scale` times, as a GIF that loops forever."""
    pictures = [enlarge(f, scale) for f in frames]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
    return path


# --- image input: checked before decoding, then prepared as MNIST was -------------------------

# Pillow decodes a WebP only at full size, through libwebp's animation decoder: a 16-megapixel
# upload held ~245 MB while it was read. libwebp itself scales while decoding (WebPDecode with
# use_scaling), so large WebPs are decoded by the libwebp Pillow already loaded, through its
# stable advanced API (decode.h; ABI major version 2, the same since libwebp 0.2).

class _RGBA(ctypes.Structure):
    _fields_ = [("rgba", ctypes.c_void_p), ("stride", ctypes.c_int), ("size", ctypes.c_size_t)]


class _YUVA(ctypes.Structure):  # unused, but it sets the union's size
    _fields_ = [("planes", ctypes.c_void_p * 4), ("strides", ctypes.c_int * 4),
                ("sizes", ctypes.c_size_t * 4)]


class _Buffer(ctypes.Union):
    _fields_ = [("RGBA", _RGBA), ("YUVA", _YUVA)]


class _WebPDecBuffer(ctypes.Structure):
    _fields_ = [("colorspace", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("is_external_memory", ctypes.c_int), ("u", _Buffer), ("pad", ctypes.c_uint32 * 4),
                ("private_memory", ctypes.c_void_p)]


class _WebPDecoderOptions(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int) for name in (
        "bypass_filtering", "no_fancy_upsampling", "use_cropping", "crop_left", "crop_top",
        "crop_width", "crop_height", "use_scaling", "scaled_width", "scaled_height", "use_threads",
        "dithering_strength", "flip", "alpha_dithering_strength")] + [("pad", ctypes.c_uint32 * 5)]


class _WebPDecoderConfig(ctypes.Structure):
    _fields_ = [("input", ctypes.c_uint32 * 10), ("output", _WebPDecBuffer),
                ("options", _WebPDecoderOptions)]


WEBP_ABI, WEBP_RGB, WEBP_RGBA = 0x0200, 0, 1


def libwebp():
    """The libwebp that Pillow's WebP module links, where its advanced decoder has ABI 2; else
    None, and large WebPs are decoded at full size as Pillow does."""
    try:
        lib = ctypes.CDLL(_webp.__file__)
        ok = lib.WebPInitDecoderConfigInternal(ctypes.byref(_WebPDecoderConfig()), WEBP_ABI)
    except (OSError, AttributeError):
        return None
    lib.WebPDecode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_WebPDecoderConfig)]
    return lib if ok else None


LIBWEBP = libwebp()


def open_image(image):
    """A file path, PIL image, array or Sketchpad value -> a loaded PIL image; empty, unreadable
    and oversized images (decompression bombs) are refused before their pixels are decoded. A
    JPEG or WebP file larger than WORK_SIDE is decoded small (JPEG's draft, libwebp's scaling)."""
    if isinstance(image, dict):  # Sketchpad/ImageEditor value
        image = image.get("composite")
    if image is None or (isinstance(image, str) and not image):
        raise ImageError("image is empty: draw a digit or upload an image")
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image.astype(np.uint8)) if image.ndim in (2, 3) and image.size else None
    elif isinstance(image, (str, os.PathLike)):
        try:
            image = Image.open(image)  # reads the header only
        except Image.DecompressionBombError:
            raise ImageError(f"image is too large: over {2 * MAX_PIXELS // 1_000_000} MP") from None
        except (UnidentifiedImageError, *BROKEN) as e:
            raise ImageError(f"image is not a readable image file ({type(e).__name__})") from None
    if not isinstance(image, Image.Image) or 0 in image.size:
        raise ImageError("image is empty or not an image")
    w, h = image.size
    if max(w, h) > MAX_SIDE or w * h > MAX_PIXELS:
        raise ImageError(f"image is too large ({w}x{h}); at most {MAX_SIDE}x{MAX_SIDE} and "
                         f"{MAX_PIXELS // 1_000_000} MP are accepted")
    try:
        if (image.format == "WEBP" and image.filename and LIBWEBP and max(w, h) > WORK_SIDE
                and image.n_frames == 1):
            with image:  # its file, closed once libwebp has read the pixels
                return webp_within(image, WORK_SIDE)
        image.draft(image.mode, (WORK_SIDE, WORK_SIDE))  # JPEG: decode at 1/2 to 1/8 size
        image.load()
    except (*BROKEN, Image.DecompressionBombError) as e:
        raise ImageError(f"image data is corrupt or truncated ({type(e).__name__})") from None
    return image


def webp_within(image, side):
    """A still WebP opened from a file (its header read), decoded by libwebp straight to fit
    side x side, its aspect kept, each output pixel the average of those it covers -> a loaded
    PIL image in the file's mode (RGB or RGBA). A lossless WebP still costs 4 bytes a pixel inside
    libwebp while it decodes (its back-references reach the whole image); a lossy one, some rows."""
    data = Path(image.filename).read_bytes()
    config = _WebPDecoderConfig()
    LIBWEBP.WebPInitDecoderConfigInternal(ctypes.byref(config), WEBP_ABI)
    w, h = image.size
    scale = side / max(w, h)
    width, height = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.empty((height, width, len(image.mode)), np.uint8)
    config.options.use_scaling, config.options.scaled_width, config.options.scaled_height = (
        1, width, height)
    config.output.colorspace = WEBP_RGBA if image.mode == "RGBA" else WEBP_RGB
    config.output.is_external_memory = 1  # decoded into `out`: nothing for libwebp to free
    config.output.u.RGBA = _RGBA(out.ctypes.data, out.strides[0], out.nbytes)
    status = LIBWEBP.WebPDecode(data, len(data), ctypes.byref(config))
    if status:
        raise OSError(f"libwebp status {status}")
    return Image.fromarray(out)  # [h, w, 3] is RGB, [h, w, 4] RGBA


def return_large_buffers(threshold=2**20):
    """Give a large image's memory back to the system when it is freed. By default Pillow
    allocates an image row by row (small mallocs) that glibc keeps for reuse. With Pillow's block
    allocator an image is a few 16 MB blocks, and with glibc's M_MMAP_THRESHOLD fixed (it
    otherwise rises after the first large free) each block is its own mapping, unmapped when
    freed. Measured on the server after 16 concurrent 16-megapixel uploads: 40 MB kept with
    this, 109 MB without (peaks 496 and 610 MB). Off glibc, only the first part applies."""
    Image.core.set_use_block_allocator(1)
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, threshold)  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def grey(image):
    """PIL image -> float [h, w] in [0, 1]. 16-bit grey is scaled by 65535; 32-bit integer and
    float images, which have no fixed white, by their own range (PIL's convert("L") would clip
    them to 255 and lose the digit)."""
    if image.mode.startswith("I;16"):
        return np.asarray(image, np.float32) / 65535
    if image.mode in ("I", "F"):
        a = np.nan_to_num(np.asarray(image, np.float64), nan=0, posinf=0, neginf=0)
        lo, hi = a.min(), a.max()
        return ((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)).astype(np.float32)
    try:
        return np.asarray(image.convert("L"), np.float32) / 255
    except ValueError:  # PIL converts most modes to grey, not all (LAB)
        raise ImageError(f"image mode {image.mode} is not supported: upload a grey, RGB or RGBA "
                         "image") from None


def on_white(image, side):
    """A transparent PIL image laid on white paper (its transparent parts are paper) -> grey "L",
    shrunk by the whole factor that keeps its longest side at least `side`. A strip of rows at a
    time: Pillow premultiplies alpha in a full-size copy when it shrinks RGBA, 64 MB at 16 MP."""
    w, h = image.size
    factor = max(1, max(w, h) // side)
    rows = 16 * factor
    out = Image.new("L", (-(-w // factor), -(-h // factor)))
    for top in range(0, h, rows):
        strip = image.crop((0, top, w, min(h, top + rows))).convert("RGBA")
        strip = Image.alpha_composite(Image.new("RGBA", strip.size, "white"), strip)
        out.paste(strip.convert("L").reduce(factor), (0, top // factor))
    return out


def mnist_style(image):
    """PIL image -> float [28, 28] in [0, 1] prepared as MNIST's digits were (LeCun et al. 1998):
    white ink on black, cropped to the ink, longest side scaled to 20 px keeping the aspect,
    placed in 28x28 with its centre of mass at the centre. A large image is first shrunk to
    WORK_SIDE, so no full-size float copy is ever made."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = on_white(image, WORK_SIDE)
    if max(image.size) > WORK_SIDE:
        try:
            image = image.copy() if image.readonly else image
            image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
        except BROKEN as e:
            raise ImageError(f"image mode {image.mode} cannot be read ({type(e).__name__})") from None
    g = grey(image)

    def paper(a):  # the median of the border
        return np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]))

    if paper(g) > 0.5:  # light paper: dark ink, so invert to white-on-black
        g = 1 - g
    g = np.clip(g - paper(g), 0, None)  # grey paper is not ink
    if g.max() < 0.1:
        raise ImageError("image is empty: no ink found (draw a digit, or upload one)")
    g = g / g.max()
    ys, xs = np.nonzero(g > 0.1)
    g = g[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = g.shape
    s = 20 / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = np.clip(np.asarray(Image.fromarray(g).resize(size, Image.LANCZOS)), 0, 1)
    cy, cx = (np.indices(small.shape) * small).reshape(2, -1).sum(1) / small.sum()
    top = int(np.clip(round(13.5 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(13.5 - cx), 0, 28 - small.shape[1]))
    out = np.zeros((28, 28), np.float32)
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return out
