"""Writes ont-label.pgm, the label fixture as a camera's luma plane (binary PGM), for the Swift
tests: Foundation on Linux has no PNG decoder, and a phone's camera hands over luma anyway.

Not run by the tests (the file is committed); rerun after bindings/tests/fixtures changes:
    python3 ios/Tests/JobpackTestSupport/Fixtures/make_luma.py
"""

import pathlib
import sys

here = pathlib.Path(__file__).resolve().parent
root = here.parents[3]
sys.path.insert(0, str(root / "bindings" / "python" / "tests"))
from label_png import read_luma  # noqa: E402

width, height, luma = read_luma(root / "bindings" / "tests" / "fixtures" / "ont-label.png")
(here / "ont-label.pgm").write_bytes(b"P5\n%d %d\n255\n" % (width, height) + bytes(luma))
