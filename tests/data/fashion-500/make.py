#!/usr/bin/env python3
"""Writes a tiny Fashion-MNIST look-alike for the example's test (tests/CMakeLists.txt):
100 training and 500 test images in the IDX format, gzipped. 500 is not a multiple of
the example's evaluation batch (1000), the case that once read past the buffers.
Image i of class c = i % 10 is dark with a bright bar on rows 2c and 2c + 1."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(prefix, n):
    images = bytearray()
    for i in range(n):
        c = i % 10
        img = bytearray(28 * 28)
        for r in (2 * c, 2 * c + 1):
            img[r * 28 + 4:r * 28 + 24] = b"\xff" * 20
        images += img
    labels = bytes(i % 10 for i in range(n))
    # mtime=0: the same bytes on every run.
    with open(os.path.join(HERE, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as z:
            z.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(images))
    with open(os.path.join(HERE, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as z:
            z.write(struct.pack(">II", 0x801, n) + labels)


write("train", 100)
write("t10k", 500)
