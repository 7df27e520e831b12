"""Makes writing one file fail, as a full disk would: on ``PYTHONPATH``, Python imports this at
start-up. ``FAIL_WRITING`` names the end of the path whose opening for writing raises OSError.

tests/test_interruptions.py sets both for a run whose train job is to die after fit.
"""

import builtins
import errno
import os

FAIL_WRITING = os.environ.get("FAIL_WRITING")
_open = builtins.open


def _open_or_fail(file, mode="r", *args, **kwargs):
    if FAIL_WRITING and "w" in mode and str(file).endswith(FAIL_WRITING):
        raise OSError(errno.ENOSPC, "No space left on device (the test's failing write)", str(file))
    return _open(file, mode, *args, **kwargs)


builtins.open = _open_or_fail
