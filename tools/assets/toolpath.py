"""Puts tools/ on the import path, so the asset scripts (run from tools/assets) find the cavrpy package."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
