#!/usr/bin/env python3
"""Prints a ZPL file as a Zebra printer would, with zplkit (a ZPL II renderer): one PNG per label.

Usage: zpl_render.py FILE.zpl DPI OUT_DIR  (writes OUT_DIR/label-001.png, …; prints the count)

zplkit's resident font 0 holds captured glyphs only (no "€", no "É"); a glyph it lacks is printed as "?" so the
rest of the label can still be read. Real printers' font 0 has them.
"""
import os
import re
import sys

import zplkit
import zplkit.rendering

MISSING_GLYPH = re.compile(r"unsupported embedded font glyph '(.)'")


def render(text, dpi):
    while True:
        try:
            # A whole 600 dpi tag as one graphic field is larger than zplkit's default limits.
            limits = zplkit.rendering.Limits(graphic_bytes=64 << 20, field_bytes=64 << 20, input_bytes=256 << 20)
            return zplkit.render(text, zplkit.Options(dpi=dpi), limits=limits)
        except zplkit.rendering.RenderError as error:
            missing = MISSING_GLYPH.search(str(error))
            if not missing:
                raise
            text = text.replace(missing.group(1), "?")


def main():
    path, dpi, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, encoding="utf-8") as file:
        document = render(file.read(), dpi)
    os.makedirs(out, exist_ok=True)
    for number, label in enumerate(document.labels, start=1):
        with open(os.path.join(out, f"label-{number:03}.png"), "wb") as file:
            file.write(label.png())
    print(len(document.labels))


if __name__ == "__main__":
    main()
