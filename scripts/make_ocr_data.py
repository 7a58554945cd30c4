#!/usr/bin/env python3
"""Seeded rendered-text inputs for the PP-OCR models, preprocessed as rapidocr does.

  det: pages of text lines (DejaVu fonts when installed, else Pillow's bundled font; several
       sizes, colors, light and dark backgrounds, noise, slight rotation), H x W, normalized
       (x/255 - 0.5) / 0.5 -> det.npy [N, 3, H, W]
  cls: single text-line crops resized to height 48 (width <= 192, zero padded), half of them
       rotated by 180 degrees, normalized the same way -> cls.npy [N, 3, 48, 192] and
       cls_labels.npy [N] (0: upright, 1: rotated)

Usage: make_ocr_data.py OUT_DIR [--n 200] [--seed 0] [--det-size 320]
Needs numpy and Pillow.
"""
import argparse, glob, os
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageFilter

WORDS = ("the quick brown fox jumps over lazy dog invoice total amount date page chapter "
         "receipt order number price tax customer address street city phone email model edge "
         "device runtime quantization accuracy latency memory table figure section result "
         "Monday January Paris London Tokyo Berlin USD EUR No. Tel. Qty Item Subtotal").split()


def fonts():
    found = sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True))
    return [f for f in found if "DejaVu" in f or "Liberation" in f] or found


def font(paths, size, rng):
    if paths:
        return ImageFont.truetype(paths[int(rng.integers(len(paths)))], size)
    return ImageFont.load_default(size)


def text(rng, lo=1, hi=6):
    n = int(rng.integers(lo, hi + 1))
    parts = []
    for _ in range(n):
        r = rng.random()
        if r < 0.2:
            parts.append(str(int(rng.integers(0, 100000))))
        elif r < 0.3:
            parts.append(f"{rng.uniform(0, 999):.2f}")
        else:
            w = WORDS[int(rng.integers(len(WORDS)))]
            parts.append(w.upper() if rng.random() < 0.15 else w)
    return " ".join(parts)


def background(rng, h, w, dark):
    base = rng.uniform(10, 70) if dark else rng.uniform(170, 255)
    tint = rng.uniform(-20, 20, 3)
    img = np.full((h, w, 3), base, np.float32) + tint
    gy, gx = np.mgrid[0:h, 0:w]
    img += (rng.uniform(-25, 25) * gy / h + rng.uniform(-25, 25) * gx / w)[..., None]
    img += rng.normal(0, rng.uniform(1, 8), (h, w, 3))
    return img


def ink(rng, dark):
    return tuple(int(v) for v in (rng.uniform(190, 255, 3) if dark else rng.uniform(0, 90, 3)))


def det_page(rng, paths, size):
    dark = rng.random() < 0.2
    img = Image.fromarray(np.clip(background(rng, size, size, dark), 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    y = int(rng.integers(0, size // 10 + 1))
    while y < size - 10:
        fs = int(rng.integers(10, 36))
        x = int(rng.integers(0, size // 4))
        d.text((x, y), text(rng, 1, 8), font=font(paths, fs, rng), fill=ink(rng, dark))
        y += int(fs * rng.uniform(1.2, 2.5))
    if rng.random() < 0.3:
        img = img.rotate(rng.uniform(-5, 5), fillcolor=img.getpixel((0, 0)))
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return np.asarray(img, np.float32)


def cls_crop(rng, paths, rotate):
    dark = rng.random() < 0.15
    f = font(paths, int(rng.integers(20, 44)), rng)
    t = text(rng, 1, 4)
    l, tp, r, b = f.getbbox(t)
    pad = int(rng.integers(2, 8))
    w, h = r - l + 2 * pad, b - tp + 2 * pad
    img = Image.fromarray(np.clip(background(rng, h, w, dark), 0, 255).astype(np.uint8))
    ImageDraw.Draw(img).text((pad - l, pad - tp), t, font=f, fill=ink(rng, dark))
    if rotate:
        img = img.rotate(180)
    nw = min(192, max(1, int(np.ceil(48 * w / h))))
    img = img.resize((nw, 48), Image.BILINEAR)
    out = np.zeros((48, 192, 3), np.float32)
    out[:, :nw] = (np.asarray(img, np.float32) / 255 - 0.5) / 0.5
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--det-size", type=int, default=320)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    paths = fonts()
    det = np.stack([det_page(rng, paths, a.det_size) for _ in range(a.n)])
    det = ((det / 255 - 0.5) / 0.5).transpose(0, 3, 1, 2).astype(np.float32)
    labels = (np.arange(a.n) % 2).astype(np.int64)
    cls = np.stack([cls_crop(rng, paths, bool(l)) for l in labels]).transpose(0, 3, 1, 2)
    np.save(os.path.join(a.out, "det.npy"), np.ascontiguousarray(det))
    np.save(os.path.join(a.out, "cls.npy"), np.ascontiguousarray(cls.astype(np.float32)))
    np.save(os.path.join(a.out, "cls_labels.npy"), labels)
    print(f"{a.out}: det {det.shape}, cls {cls.shape}, {len(paths)} fonts")


if __name__ == "__main__":
    main()
