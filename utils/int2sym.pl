#!/usr/bin/env python3
# Kaldi's utils/int2sym.pl (same options and output); the code is hybrid/lang/symfilter.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from hybrid.lang.symfilter import int2sym_main  # noqa: E402

sys.exit(int2sym_main())
