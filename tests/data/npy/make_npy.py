#!/usr/bin/python3
"""Writes the .npy files tests/test_npy.c reads, with NumPy itself (numpy.save and
numpy.lib.format.write_array): the reference for the format. The values are simple
enough that the test states them by hand. Run from this directory; the files are
committed, so the tests never need NumPy."""
import numpy as np
from numpy.lib import format as npf


def save(name, a, version=None):
    with open(name, "wb") as f:
        npf.write_array(f, a, version=version, allow_pickle=False)


save("f4_2x3.npy", np.arange(6, dtype="<f4").reshape(2, 3) / np.float32(4))
save("f8_be_3.npy", np.array([1.5, -2.25, 1e300], dtype=">f8"))
save("i4_scalar.npy", np.array(-7, dtype="<i4"))
save("i8_4.npy", np.array([0, 1, 9, -3], dtype="<i8"))
save("i8_big.npy", np.array([1, 2**40], dtype="<i8"))
save("b1_5.npy", np.array([True, False, True, True, False]))
save("fortran.npy", np.asfortranarray(np.ones((2, 3), dtype="<f4")))
save("u1.npy", np.array([1, 2, 3], dtype="u1"))
save("f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
save("f4_v2.npy", np.array([[1.0, -0.0]], dtype="<f4"), version=(2, 0))
save("f4_v3.npy", np.array([0.5], dtype="<f4"), version=(3, 0))
