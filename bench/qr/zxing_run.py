"""Decode the same image folders with zxing-cpp and print one JSON line per image.

Same rules as `jobpack bench-qr`: an image counts when a sibling NAME.txt holds its
expected text; only decoding is timed (the image is loaded and converted to luma
first), single thread, fastest of --repeat runs.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import zxingcpp
from PIL import Image


def luma(path):
    img = Image.open(path)
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    return np.asarray(img.convert("L"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for d in args.dirs:
        s = os.path.basename(os.path.normpath(d))
        files = []
        for root, _, names in os.walk(d):
            for n in names:
                if n.lower().rsplit(".", 1)[-1] in ("png", "jpg", "jpeg", "webp"):
                    files.append(os.path.join(root, n))
        for f in sorted(files):
            txt = os.path.splitext(f)[0] + ".txt"
            if not os.path.exists(txt):
                continue
            expected = open(txt, "rb").read()
            arr = luma(f)
            best, decoded = float("inf"), None
            for _ in range(max(1, args.repeat)):
                t = time.perf_counter()
                res = zxingcpp.read_barcodes(arr, formats=zxingcpp.BarcodeFormat.QRCode)
                best = min(best, (time.perf_counter() - t) * 1000)
                decoded = res[0].text if res else None
            ok = decoded is not None and (decoded.encode("utf-8") == expected
                                          or any(r.bytes == expected for r in res))
            print(json.dumps({"set": s, "file": f, "ok": ok, "decoded": decoded, "ms": best}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
