"""Generate synthetic camera frames of ONT labels for the QR benchmark.

Each frame is a photo-like view of a printed ONT label (a white sticker with a QR code
and some text on a grey casing): perspective tilt, rotation, defocus blur, low light,
glare, sensor noise, and JPEG loss at camera-like qualities. Each `NAME.jpg` comes with
`NAME.txt` holding the exact payload. Deterministic for a given --seed.

    python3 gen_frames.py OUT_DIR --count 30 --seed 7
writes OUT_DIR/frames-1280x720/ and OUT_DIR/frames-1920x1080/, and
OUT_DIR/no-code-1280x720/ (labels with the code blanked: nothing may be read).
"""
import argparse
import os
import random

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFilter

VENDORS = ["ALCL", "CXNK"]


def payload(rng):
    vendor = rng.choice(VENDORS)
    fsan = vendor + "".join(rng.choice("0123456789ABCDEF") for _ in range(8))
    mac = ":".join("%02X" % rng.randrange(256) for _ in range(6))
    serial = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(12))
    layout = rng.randrange(4)
    if layout == 0:
        return fsan
    if layout == 1:
        return f"GPON SN: {fsan}\nS/N: {serial}\nMAC: {mac}"
    if layout == 2:
        return f"fsan={fsan};sn={serial};mac={mac.replace(':', '')}"
    return '{"fsan":"%s","serial":"%s","mac":"%s"}' % (fsan, serial, mac)


def label(rng, text, with_code=True):
    qr = qrcode.QRCode(error_correction=rng.choice([qrcode.constants.ERROR_CORRECT_M,
                                                     qrcode.constants.ERROR_CORRECT_L]),
                       box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").convert("L")
    if not with_code:  # a label whose code is out of view or covered: blank, same size
        code = Image.new("L", code.size, 245)
    cw = code.size[0]
    lab = Image.new("L", (cw + 220, cw + 40), 250)
    lab.paste(code, (10, 20))
    d = ImageDraw.Draw(lab)
    for i, line in enumerate(text.split("\n")[:4] + ["ONT", "CE"]):
        d.text((cw + 20, 30 + i * 22), line[:24], fill=20)
    return lab


def perspective_coeffs(src, dst):
    # Solve for the 8 coefficients mapping dst -> src (PIL's convention).
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return np.linalg.solve(np.array(a, float), np.array(b, float)).tolist()


def frame(rng, w, h, text, with_code=True):
    lab = label(rng, text, with_code)
    # Code side in the frame: 18% to 55% of the frame height.
    target = rng.uniform(0.18, 0.55) * h
    scale = target / lab.size[1]
    lw, lh = lab.size[0] * scale, lab.size[1] * scale
    cx = rng.uniform(0.3, 0.7) * w
    cy = rng.uniform(0.35, 0.65) * h
    ang = np.radians(rng.uniform(-180, 180))
    tilt_x, tilt_y = rng.uniform(-0.25, 0.25), rng.uniform(-0.25, 0.25)
    corners = []
    for sx, sy in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
        x, y = sx * lw / 2, sy * lh / 2
        k = 1 + tilt_x * sx + tilt_y * sy  # crude perspective: far corners shrink
        x, y = x * k, y * k
        xr = x * np.cos(ang) - y * np.sin(ang) + cx
        yr = x * np.sin(ang) + y * np.cos(ang) + cy
        corners.append((xr, yr))
    src = [(0, 0), (lab.size[0], 0), (lab.size[0], lab.size[1]), (0, lab.size[1])]
    coeffs = perspective_coeffs(src, corners)
    bg_level = rng.randrange(60, 170)
    warped = lab.transform((w, h), Image.PERSPECTIVE, coeffs, Image.BILINEAR, fillcolor=0)
    mask = Image.new("L", lab.size, 255).transform((w, h), Image.PERSPECTIVE, coeffs,
                                                   Image.BILINEAR, fillcolor=0)
    bg = Image.new("L", (w, h), bg_level)
    img = Image.composite(warped, bg, mask)
    if rng.random() < 0.7:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.8)))
    a = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.4:  # low light
        a = a * rng.uniform(0.25, 0.6)
    if rng.random() < 0.4:  # glare: a bright soft blob
        gx, gy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.1, 0.3) * w
        yy, xx = np.mgrid[0:h, 0:w]
        a = a + rng.uniform(60, 140) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))
    # Vignetting and sensor noise.
    yy, xx = np.mgrid[0:h, 0:w]
    a = a * (1 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2)
    a = a + np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(2, 9), a.shape)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for w, h in [(1280, 720), (1920, 1080)]:
        d = os.path.join(args.out, f"frames-{w}x{h}")
        os.makedirs(d, exist_ok=True)
        for i in range(args.count):
            text = payload(rng)
            img = frame(rng, w, h, text)
            name = os.path.join(d, f"frame-{i:03d}")
            img.save(name + ".jpg", quality=rng.randrange(45, 90))
            with open(name + ".txt", "w", encoding="utf-8") as f:
                f.write(text)
    # What the camera mostly sees while the engineer aims: the label, no readable code.
    # Generated after the sets above so their frames do not change with this one.
    d = os.path.join(args.out, "no-code-1280x720")
    os.makedirs(d, exist_ok=True)
    for i in range(max(1, args.count // 3)):
        img = frame(rng, 1280, 720, payload(rng), with_code=False)
        name = os.path.join(d, f"frame-{i:03d}")
        img.save(name + ".jpg", quality=rng.randrange(45, 90))
        with open(name + ".txt", "w", encoding="utf-8") as f:
            f.write("")  # nothing to read: any decoded text is a false read


if __name__ == "__main__":
    main()
