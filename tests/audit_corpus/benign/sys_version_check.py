# declares:
import sys
import warnings

if sys.version_info < (3, 11):
    warnings.warn("this plugin is tested on Python 3.11+", stacklevel=2)
