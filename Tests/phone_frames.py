#!/usr/bin/env python3
"""Reads each tag's QR code as a shopper's phone would see it on the shelf.

Usage: phone_frames.py MANIFEST.json DIR DPI PX_PER_MM [--seed N] [--keep DIR]

For every tag in a render manifest (JSON), the tag's PNG is turned into a simulated camera frame: resampled to
PX_PER_MM pixels per millimetre, rotated a few degrees, tilted in perspective, blurred, given sensor noise and
JPEG-compressed. zbar (zbarimg) and OpenCV's QRCodeDetector each try to read it; a read counts only when it gives
the tag's URL. Prints one JSON object: per decoder, the tags it read and those it missed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from xml.etree import ElementTree

import cv2
import numpy as np


def phone_frame(tag, dpi, px_per_mm, rng):
    """The tag as a phone camera sees it at arm's length in store light."""
    scale = px_per_mm * 25.4 / dpi
    small = cv2.resize(tag, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # A margin of shelf around the tag, so rotation and tilt keep it whole.
    pad = int(8 * px_per_mm)
    shelf = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=235)
    h, w = shelf.shape
    angle = rng.uniform(-6, 6)
    rotation = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    shelf = cv2.warpAffine(shelf, rotation, (w, h), flags=cv2.INTER_LINEAR, borderValue=235)
    # Perspective: the camera a little below and to one side of the tag (up to 8% foreshortening).
    tilt = 0.08
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dx, dy = tilt * w * rng.uniform(0.5, 1), tilt * h * rng.uniform(0.5, 1)
    dst = np.float32([[dx, 0], [w - dx, dy * 0.3], [w, h], [0, h - dy * 0.3]])
    shelf = cv2.warpPerspective(shelf, cv2.getPerspectiveTransform(src, dst), (w, h), flags=cv2.INTER_LINEAR, borderValue=235)
    # Optics and store light: a light blur, less contrast, sensor noise, then the camera's JPEG.
    shelf = cv2.GaussianBlur(shelf, (0, 0), sigmaX=0.6)
    shelf = shelf.astype(np.float32) * 0.8 + 30
    shelf += rng.normal(0, 4, shelf.shape)
    shelf = np.clip(shelf, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", shelf, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE), jpeg


def read_with_zbar(paths):
    """What zbar reads in each file, by path: one zbarimg run for all of them."""
    result = subprocess.run(["zbarimg", "--quiet", "--xml", "-Sdisable", "-Sqrcode.enable"] + paths, capture_output=True, text=True)
    texts = {path: [] for path in paths}
    for source in ElementTree.fromstring(result.stdout).iter("{http://zbar.sourceforge.net/2008/barcode}source"):
        texts[source.get("href")] = [data.text for data in source.iter("{http://zbar.sourceforge.net/2008/barcode}data")]
    return texts


def read_with_opencv(frame):
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(frame)
    return [text] if text else []



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest")
    parser.add_argument("directory", help="the folder the manifest's file paths are relative to")
    parser.add_argument("dpi", type=int, help="the resolution the tags were rendered at")
    parser.add_argument("px_per_mm", type=float)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="write each simulated frame here")
    args = parser.parse_args()
    # One thread: the other test suites run meanwhile, some of them timing a server.
    cv2.setNumThreads(1)
    with open(args.manifest) as file:
        tags = json.load(file)["tags"]
    rng = np.random.default_rng(args.seed)
    read = {"zbar": [], "opencv": []}
    missed = {"zbar": [], "opencv": []}
    with tempfile.TemporaryDirectory() as scratch:
        frames = {}
        for tag in tags:
            image = cv2.imread(os.path.join(args.directory, tag["file"]), cv2.IMREAD_GRAYSCALE)
            if image is None:
                sys.exit(f"cannot read {tag['file']}")
            frame, jpeg = phone_frame(image, args.dpi, args.px_per_mm, rng)
            path = os.path.join(args.keep or scratch, tag["gtin"] + ".jpg")
            with open(path, "wb") as file:
                file.write(jpeg.tobytes())
            frames[path] = tag
            (read if tag["url"] in read_with_opencv(frame) else missed)["opencv"].append(tag["gtin"])
        for path, texts in read_with_zbar(list(frames)).items():
            tag = frames[path]
            (read if tag["url"] in texts else missed)["zbar"].append(tag["gtin"])
    print(json.dumps({"tags": len(tags), "px_per_mm": args.px_per_mm, "read": read, "missed": missed}))


if __name__ == "__main__":
    main()
