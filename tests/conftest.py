import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("HDLIMITS_NO_PROGRESS", "1")
