# declares: env=WISEFLOW_DEBUG,NO_COLOR
import os

DEBUG = os.environ.get("WISEFLOW_DEBUG", "") == "1"
COLOR = "NO_COLOR" not in os.environ
