"""Frames that look like a phone camera in a loft, and aiming clips, for the QR benchmark.

Two outputs, deterministic for a given --seed:

* OUT/loft-<condition>/frame-NNN.jpg (+ .txt with the exact payload): one set per
  condition a loft throws at the camera, each frame dominated by that condition on top
  of mild sensor noise and JPEG: motion blur, defocus, glare on a glossy label, low light
  with noise, strong JPEG compression, a curved label seen in perspective, a small code in
  a large (1920x1080) frame, partial occlusion (a finger over part of the code), and a
  label carrying two codes (the ONT's and a Wi-Fi code: the ONT's is the one to read).
* OUT/clips/clip-NNN/fNN.jpg + clip.json: a short clip per label as the camera sees it
  while the engineer aims: the code approaches (grows), the hand shakes (offset, rotation,
  motion blur), and focus settles from blurred to sharp. clip.json holds the expected
  identity text.

    python3 gen_loft.py OUT_DIR --count 12 --clips 40 --seed 11
"""
import argparse
import json
import math
import os
import random

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFilter

from gen_frames import perspective_coeffs

CONDITIONS = ["motion", "defocus", "glare", "lowlight", "jpeg", "curved", "small",
              "occluded", "twocodes"]
HEX = "0123456789ABCDEF"
ALNUM = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def ont_payload(rng):
    """The ONT label layouts of docs/QR.md, Nokia and Calix."""
    vendor = rng.choice(["ALCL", "CXNK"])
    fsan = vendor + "".join(rng.choice(HEX) for _ in range(8))
    mac = ":".join("%02X" % rng.randrange(256) for _ in range(6))
    serial = ("FH" if vendor == "ALCL" else "26") + "".join(rng.choice(ALNUM) for _ in range(10))
    layout = rng.randrange(7)
    if layout == 0:
        return fsan
    if layout == 1:
        return f"SN={fsan};SERIAL={serial};MAC={mac};PN=3FE49568AA"
    if layout == 2:
        return f"{fsan},{serial},{mac}"
    if layout == 3:
        return f"GPON SN: {fsan}\nS/N: {serial}\nMAC: {mac}"
    if layout == 4:
        return '{"fsan":"%s","serial":"%s","mac":"%s"}' % (fsan, serial, mac)
    if layout == 5:
        return f"https://ont.example/p?sn={fsan}&serial={serial}&mac={mac.replace(':', '')}"
    return f"{fsan}\n{serial}\n{mac}"


def code_image(text, rng, box=8):
    qr = qrcode.QRCode(error_correction=rng.choice([qrcode.constants.ERROR_CORRECT_M,
                                                     qrcode.constants.ERROR_CORRECT_L]),
                       box_size=box, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").convert("L")


def label(rng, text, second=None):
    """A white sticker: the ONT's code, printed text, and optionally a second code."""
    code = code_image(text, rng)
    cw = code.size[0]
    extra = 0
    other = None
    if second is not None:
        other = code_image(second, rng)
        other = other.resize((cw, cw), Image.NEAREST)
        extra = cw + 20
    lab = Image.new("L", (cw + 220 + extra, cw + 40), 250)
    lab.paste(code, (10, 20))
    if other is not None:
        lab.paste(other, (cw + 230, 20))
    d = ImageDraw.Draw(lab)
    for i, line in enumerate(text.replace(";", "\n").replace(",", "\n").split("\n")[:4] + ["ONT"]):
        d.text((cw + 20, 30 + i * 22), line[:24], fill=20)
    return lab, cw


def bend(lab, amount):
    """A label on a curved casing: rows bow and the sides are foreshortened."""
    a = np.asarray(lab, dtype=np.float32)
    h, w = a.shape
    phimax = amount * math.pi / 2
    xs = np.arange(w)
    phi = (xs / (w - 1) * 2 - 1) * phimax
    src_x = (w - 1) / 2 * (1 + np.sin(phi) / math.sin(phimax))
    dy = amount * 0.12 * h * (1 - np.cos(phi)) / (1 - math.cos(phimax))
    ys = np.arange(h)[:, None]
    sy = np.clip(ys - dy[None, :], 0, h - 1).astype(int)
    sx = np.clip(src_x, 0, w - 1).astype(int)[None, :].repeat(h, 0)
    out = a[sy, sx]
    return Image.fromarray(out.astype(np.uint8))


def motion_blur(a, length, angle):
    if length < 2:
        return a
    out = np.zeros_like(a)
    for i in range(length):
        t = i - (length - 1) / 2
        dx, dy = int(round(t * math.cos(angle))), int(round(t * math.sin(angle)))
        out += np.roll(np.roll(a, dy, 0), dx, 1)
    return out / length


def place(rng, lab, w, h, code_frac, cx, cy, ang, tilt, bg_level):
    """The label warped into a w x h frame so its code spans code_frac of the height."""
    scale = code_frac * h / lab.size[1]
    lw, lh = lab.size[0] * scale, lab.size[1] * scale
    corners = []
    for sx, sy in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
        x, y = sx * lw / 2, sy * lh / 2
        k = 1 + tilt[0] * sx + tilt[1] * sy
        x, y = x * k, y * k
        corners.append((x * math.cos(ang) - y * math.sin(ang) + cx,
                        x * math.sin(ang) + y * math.cos(ang) + cy))
    src = [(0, 0), (lab.size[0], 0), (lab.size[0], lab.size[1]), (0, lab.size[1])]
    coeffs = perspective_coeffs(src, corners)
    warped = lab.transform((w, h), Image.PERSPECTIVE, coeffs, Image.BILINEAR, fillcolor=0)
    mask = Image.new("L", lab.size, 255).transform((w, h), Image.PERSPECTIVE, coeffs,
                                                   Image.BILINEAR, fillcolor=0)
    img = Image.composite(warped, Image.new("L", (w, h), bg_level), mask)
    return img, corners


def finish(rng, img, w, h, *, blur=0.0, motion=(0, 0.0), gain=1.0, noise=3.0,
           glare=None, occlusion=None):
    if blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if occlusion is not None:
        d = ImageDraw.Draw(img)
        d.ellipse(occlusion, fill=rng.randrange(90, 140))
    a = np.asarray(img, dtype=np.float32)
    a = motion_blur(a, *motion)
    a = a * gain
    if glare is not None:
        gx, gy, r, amp = glare
        yy, xx = np.mgrid[0:h, 0:w]
        a = a + amp * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))
    yy, xx = np.mgrid[0:h, 0:w]
    a = a * (1 - 0.5 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2))
    a = a + np.random.default_rng(rng.randrange(1 << 30)).normal(0, noise, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def loft_frame(rng, cond, text):
    w, h = (1920, 1080) if cond == "small" else (1280, 720)
    second = None
    if cond == "twocodes":
        second = "WIFI:S:ONT-%04X;T:WPA;P:%s;;" % (rng.randrange(1 << 16),
                                                   "".join(rng.choice(ALNUM) for _ in range(12)))
    lab, cw = label(rng, text, second)
    if cond == "curved":
        lab = bend(lab, rng.uniform(0.3, 0.6))
    frac = rng.uniform(0.07, 0.12) if cond == "small" else rng.uniform(0.22, 0.5)
    tilt = (rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)) if cond == "curved" else \
        (rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15))
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.35, 0.65) * h
    ang = math.radians(rng.uniform(-30, 30))
    img, corners = place(rng, lab, w, h, frac, cx, cy, ang, tilt, rng.randrange(50, 150))
    # Where the code sits in the frame (the code is the left cw + 20 px of the label).
    lx = [c[0] for c in corners]
    ly = [c[1] for c in corners]
    code_w = (max(lx) - min(lx)) * (cw + 20) / lab.size[0]
    code_cx, code_cy = min(lx) + code_w / 2, (min(ly) + max(ly)) / 2
    kw = {"noise": rng.uniform(2, 4), "blur": rng.uniform(0.0, 0.6)}
    quality = rng.randrange(60, 90)
    if cond == "motion":
        kw["motion"] = (rng.randrange(5, 12), rng.uniform(0, math.pi))
    elif cond == "defocus":
        kw["blur"] = rng.uniform(1.6, 2.6)
    elif cond == "glare":
        kw["glare"] = (code_cx + rng.uniform(-0.3, 0.3) * code_w,
                       code_cy + rng.uniform(-0.3, 0.3) * code_w,
                       rng.uniform(0.08, 0.2) * code_w, rng.uniform(120, 200))
    elif cond == "lowlight":
        kw["gain"], kw["noise"] = rng.uniform(0.12, 0.28), rng.uniform(4, 9)
    elif cond == "jpeg":
        quality = rng.randrange(12, 28)
    elif cond == "occluded":
        # A fingertip over one edge of the code, away from the finder corners.
        r = code_w * rng.uniform(0.12, 0.18)
        side = rng.randrange(2)
        ox = code_cx + (code_w / 2 if side == 0 else 0)
        oy = code_cy + (0 if side == 0 else code_w / 2)
        kw["occlusion"] = (ox - r, oy - r, ox + r * 1.4, oy + r)
    img = finish(rng, img, w, h, **kw)
    return img, quality


def clip(rng, text, frames=12):
    """Aiming at a label: approach, shake, focus settling."""
    w, h = 1280, 720
    lab, _ = label(rng, text)
    start, end = rng.uniform(0.08, 0.14), rng.uniform(0.3, 0.45)
    cx0, cy0 = rng.uniform(0.3, 0.7) * w, rng.uniform(0.35, 0.65) * h
    ang0 = rng.uniform(-25, 25)
    tilt = (rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15))
    bg = rng.randrange(50, 150)
    gain = rng.uniform(0.3, 1.0)
    out = []
    for i in range(frames):
        t = min(1.0, i / 5)  # approach over the first 5 frames
        frac = start + (end - start) * (1 - (1 - t) ** 2)
        shake = 1.0 if 2 <= i <= 7 else 0.3
        cx = cx0 + rng.gauss(0, 12 * shake)
        cy = cy0 + rng.gauss(0, 12 * shake)
        ang = math.radians(ang0 + rng.gauss(0, 3 * shake))
        img, _ = place(rng, lab, w, h, frac, cx, cy, ang, tilt, bg)
        blur = max(0.3, 3.0 * (1 - i / 8))  # focus settles by frame 8
        motion = (int(rng.uniform(2, 9) * shake), rng.uniform(0, math.pi))
        img = finish(rng, img, w, h, blur=blur, motion=motion, gain=gain,
                     noise=rng.uniform(2, 6))
        out.append(img)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=12, help="frames per condition")
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for cond in CONDITIONS:
        d = os.path.join(args.out, f"loft-{cond}")
        os.makedirs(d, exist_ok=True)
        for i in range(args.count):
            text = ont_payload(rng)
            img, q = loft_frame(rng, cond, text)
            name = os.path.join(d, f"frame-{i:03d}")
            img.save(name + ".jpg", quality=q)
            with open(name + ".txt", "w", encoding="utf-8") as f:
                f.write(text)
    for c in range(args.clips):
        d = os.path.join(args.out, "clips", f"clip-{c:03d}")
        os.makedirs(d, exist_ok=True)
        text = ont_payload(rng)
        for i, img in enumerate(clip(rng, text)):
            img.save(os.path.join(d, f"f{i:02d}.jpg"), quality=rng.randrange(70, 90))
        with open(os.path.join(d, "clip.json"), "w", encoding="utf-8") as f:
            json.dump({"payload": text}, f)


if __name__ == "__main__":
    main()
