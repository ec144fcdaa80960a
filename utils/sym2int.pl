#!/usr/bin/env python3
# Kaldi's utils/sym2int.pl (same options and output); the code is hybrid/lang/symfilter.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from hybrid.lang.symfilter import sym2int_main  # noqa: E402

sys.exit(sym2int_main())
