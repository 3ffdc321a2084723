"""Side-by-side table of two benchmark runs (JSON lines from jobpack bench-qr and zxing_run.py)."""
import json
import math
import statistics
import sys


def load(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    by_set = {}
    for r in rows:
        if "clip" in r or "hostile" in r:
            continue  # aiming clips and hostile frames: summarised below
        by_set.setdefault(r["set"], []).append(r)
    return by_set


def clip_summary(path):
    """Frames until the scan session confirmed, per aiming clip, and the 95th percentile
    (a clip that never confirmed counts as more frames than it has)."""
    clips = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    clips = [c for c in clips if "clip" in c]
    if not clips:
        return
    frames = sorted((c["frames"] if c["frames"] is not None else c["of"] + 1) for c in clips)
    p95 = frames[min(len(frames) - 1, math.ceil(0.95 * len(frames)) - 1)]
    within = sum(1 for c in clips if c["frames"] is not None and c["frames"] <= 10)
    wrong = sum(1 for c in clips if c["wrong"])
    never = sum(1 for c in clips if c["frames"] is None)
    choose = sum(1 for c in clips if c["outcome"] == "choose_serial")
    per_frame = sorted(ms for c in clips for ms in c["ms"])
    print(f"\naiming clips: {len(clips)}; frames to confirm p95 {p95}, median "
          f"{statistics.median(frames)}; confirmed within 10 frames {within}/{len(clips)}; "
          f"never confirmed {never}; wrong identity confirmed {wrong}; "
          f"engineer asked to pick the serial {choose}")
    if per_frame:
        p90 = per_frame[min(len(per_frame) - 1, int(round(0.9 * (len(per_frame) - 1))))]
        print(f"clip frames: median {statistics.median(per_frame):.2f} ms, p90 {p90:.2f} ms, "
              f"max {per_frame[-1]:.2f} ms")
    print("frames per clip:", " ".join(str(c["frames"]) for c in clips))


def stats(rows):
    ms = sorted(r["ms"] for r in rows if r.get("ms") is not None)
    if not ms:
        return 0, len(rows), float("nan"), float("nan")
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return sum(1 for r in rows if r["ok"]), len(rows), statistics.median(ms), p90


def decode_floor(rows):
    """Median over the set of the time rqrr's grid decode alone took (0 where nothing
    was decoded): what the core's median cannot go below, however fast the locator."""
    if not any("decode_ms" in r for r in rows):
        return None
    return statistics.median((r.get("decode_ms") or 0.0) for r in rows)


def main():
    core, zx = load(sys.argv[1]), load(sys.argv[2])
    print(f"{'set':<20} {'engine':<10} {'decoded':>9} {'median ms':>10} {'p90 ms':>9}")
    for s in core:
        for name, data in (("core", core), ("zxing-cpp", zx)):
            ok, n, med, p90 = stats(data.get(s, []))
            if "no-code" in s:
                # Nothing to decode: the count that matters is of false reads.
                false = sum(1 for r in data.get(s, []) if r.get("decoded") is not None)
                print(f"{s:<20} {name:<10} {false:>4} read {med:>7.2f} {p90:>9.2f}")
                continue
            print(f"{s:<20} {name:<10} {ok:>4}/{n:<4} {med:>10.2f} {p90:>9.2f}")
        c, z = stats(core[s]), stats(zx.get(s, []))
        if z[2] and z[2] == z[2]:
            print(f"{'':<20} {'ratio':<10} {'':>9} {c[2] / z[2]:>9.1f}x")
            floor = decode_floor(core[s])
            if floor is not None and "no-code" not in s:
                print(f"{'':<20} {'rqrr only':<10} {'':>9} {floor:>10.2f} "
                      f"({floor / z[2]:.2f}x zxing-cpp)")
    clip_summary(sys.argv[1])
    hostile = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")
               if '"hostile"' in line]
    if hostile:
        print("\nhostile frames at a 60 ms budget (worst of 3 runs):")
        for h in hostile:
            print(f"  {h['hostile']:<28} {h['ms']:>8.1f} ms  over budget {h['over_budget_ms']:>6.1f} ms"
                  f"  rqrr detector runs {h['rqrr_detector_runs']}")
    only_zx = [r["file"] for s in core for r, q in zip(core[s], zx.get(s, [])) if q["ok"] and not r["ok"]]
    if only_zx:
        print("\ndecoded by zxing-cpp only:", len(only_zx))
        for f in only_zx:
            print("  ", f)


if __name__ == "__main__":
    main()
