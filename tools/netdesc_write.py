"""Writes an accsim network description (network.json + .npy tensors) atomically;
shared by tools/import_tflite.py and tools/import_onnx.py.

The directory is built in a temporary sibling (.DIR.tmp-*) and renamed into
place, so a failed import never leaves a half-written DIR. An existing DIR is
replaced only when it is empty or holds a previous network.json.
"""
import json
import os
import shutil
import tempfile

import numpy as np


class WriteError(Exception):
    """The output directory cannot be written; the message says why."""


def check_target(out_dir):
    """Refuses an output directory that is not ours to replace (before any work)."""
    out_dir = os.path.abspath(out_dir)
    if os.path.lexists(out_dir):
        if not os.path.isdir(out_dir) or os.path.islink(out_dir):
            raise WriteError("%s exists and is not a directory" % out_dir)
        entries = os.listdir(out_dir)
        if entries and "network.json" not in entries:
            raise WriteError("%s is not empty and holds no network.json: refusing to "
                             "overwrite it" % out_dir)
    parent = os.path.dirname(out_dir)
    if not os.path.isdir(parent):
        raise WriteError("%s: no such directory" % parent)


def write_atomic(out_dir, manifest, files):
    """Writes manifest (a dict) as network.json and files (name -> numpy array)."""
    check_target(out_dir)
    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    base = os.path.basename(out_dir)
    tmp = tempfile.mkdtemp(prefix="." + base + ".tmp-", dir=parent)
    try:
        for fname, arr in sorted(files.items()):
            np.save(os.path.join(tmp, fname), arr, allow_pickle=False)
        with open(os.path.join(tmp, "network.json"), "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        for fname in os.listdir(tmp):
            fd = os.open(os.path.join(tmp, fname), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.chmod(tmp, 0o755)
        if os.path.isdir(out_dir):
            if not os.listdir(out_dir):
                os.rmdir(out_dir)
                os.rename(tmp, out_dir)
            else:
                old = tempfile.mkdtemp(prefix="." + base + ".old-", dir=parent)
                os.rmdir(old)
                os.rename(out_dir, old)
                try:
                    os.rename(tmp, out_dir)
                except OSError:
                    os.rename(old, out_dir)
                    raise
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
