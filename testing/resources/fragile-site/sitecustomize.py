"""Put on PYTHONPATH, this makes dqguard's workers fail to start, as a broken site hook does.

`FRAGILE_WORKERS=hang` makes every worker hang before it is ready; `exit` makes it exit with
status 3 once the file named by `FRAGILE_MARKER` exists. The dqguard process itself is untouched.
"""

import os
import sys
import time

if "dqguard.worker" in sys.orig_argv:
    if os.environ.get("FRAGILE_WORKERS") == "hang":
        time.sleep(3600)
    elif os.environ.get("FRAGILE_WORKERS") == "exit" and os.path.exists(os.environ["FRAGILE_MARKER"]):
        sys.stderr.write("site hook: refusing to start\n")
        sys.stderr.flush()
        os._exit(3)
