"""Starts an IPython kernel whose stderr goes to $FWBENCH_KERNEL_LOG, so framework chatter is kept with the job, not on the console."""

import os

_log = os.environ.get("FWBENCH_KERNEL_LOG")
if _log:
    # fd-level redirect: TensorFlow and XLA write from C++, past Python's sys.stderr.
    _fd = os.open(_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(_fd, 2)
    os.close(_fd)

if __name__ == "__main__":
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
