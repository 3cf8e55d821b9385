"""Starts an IPython kernel whose stdout and stderr go to $FWBENCH_KERNEL_LOG, so framework chatter is kept with the job, not on the console."""

import os

_log = os.environ.get("FWBENCH_KERNEL_LOG")
if _log:
    # fd-level redirect: TensorFlow and XLA write from C++, past Python's sys.stderr; PyTorch's legacy ONNX exporter
    # prints a whole TorchScript graph to fd 1 when it fails, and ipykernel echoes what it captures from fd 1 to the
    # kernel's own stdout, which is the runner's terminal. The kernel speaks to papermill over ZeroMQ, never fd 1.
    _fd = os.open(_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(_fd, 1)
    os.dup2(_fd, 2)
    os.close(_fd)

if __name__ == "__main__":
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
