"""Writes every op test case (tests/ops/cases_*.py) into OUTDIR, one directory per case.

usage: gen_cases.py OUTDIR [SEED]
Each cases_<family>.py module defines cases(rng) -> iterable of opcase.Case. The seed is
printed so a failing case can be regenerated.
"""
import glob
import importlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20261126
    print(f"op cases: seed {seed}")
    n = 0
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "cases_*.py"))):
        mod = importlib.import_module(os.path.basename(path)[:-3])
        rng = np.random.default_rng(seed)
        for case in mod.cases(rng):
            case.write(out)
            n += 1
    print(f"op cases: wrote {n} cases to {out}")


if __name__ == "__main__":
    main()
