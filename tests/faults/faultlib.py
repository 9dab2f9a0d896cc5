"""Shared helpers for the fault-injection suite (tests/faults/test_*.py).

Python 3 standard library only. Each test file ends with::

    if __name__ == "__main__":
        faultlib.main()

and is run as ``python3 test_x.py ACCSIM CIFAR_DIR MODEL_DIR [unittest args]``
(tests/faults.cmake does this for every tests/faults/test_*.py). Without the
CIFAR-10 batches in CIFAR_DIR the file prints SKIP and exits 77, which CTest
reports as skipped.

What is here:
  run / start         run accsim with a timeout (start: in its own session, for signals)
  common_args         --data, --engine cpu, --quiet (and --limit)
  FaultTest           a TestCase with a fresh self.tmp, removed afterwards
  make_fifo, make_symlink, make_readonly_dir, make_device_copy, fake_program
  mount_small_tmpfs, fill_filesystem   a disk that is full
  snapshot            the exact state of a tree (types, modes, contents, link targets)
  temp_leftovers      every *.tmp* / .*.tmp.* / .*.old.* name left under a directory
  wait_for, signal_when
"""

import argparse
import hashlib
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

ACCSIM = os.environ.get("ACCSIM_BIN", "")
DATA = os.environ.get("ACCSIM_DATA", "")
MODEL = ""  # a model directory, for tests that need one (default: accsim's own)
SKIP = 77


def is_root():
    return os.geteuid() == 0


def common_args(limit=None, engine="cpu"):
    """Options every data-using command takes: the data, the CPU engine (no
    OpenCL compile time), no progress output."""
    args = ["--data", DATA, "--engine", engine, "--quiet"]
    if limit is not None:
        args += ["--limit", str(limit)]
    return args


def default_signals(ignore=()):
    """A preexec_fn: SIGINT, SIGTERM and SIGHUP at their default action in the
    child (a test run from a background job of a script would otherwise pass
    SIGINT on ignored, and accsim keeps an ignored signal ignored), except
    the signals in IGNORE, which are ignored."""
    def reset():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN if sig in ignore else signal.SIG_DFL)
    return reset


def run(args, timeout=120, env=None, cwd=None, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        umask=-1):
    """Runs accsim ARGS to the end; returns CompletedProcess with text
    stdout/stderr (stdout None when redirected). A run past timeout fails the
    test (subprocess.TimeoutExpired) after killing accsim."""
    return subprocess.run([ACCSIM] + list(args), timeout=timeout, env=env, cwd=cwd, stdin=stdin,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, umask=umask,
                          preexec_fn=default_signals())


def start(args, env=None, cwd=None, stdout=subprocess.DEVNULL, ignore=()):
    """Starts accsim ARGS in a new session (its own process group, so that
    os.killpg reaches it and its children like a terminal's Ctrl-C would),
    with the signals in IGNORE ignored and the others at their defaults."""
    return subprocess.Popen([ACCSIM] + list(args), env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=default_signals(ignore))


def finish(proc, timeout=60):
    """Waits for a started accsim; returns (status, stderr)."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, err


def wait_for(predicate, timeout=30.0, step=0.02):
    """Polls predicate() until true; returns whether it became true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def signal_when(proc, sig, predicate=None, delay=0.0, group=False, timeout=30.0):
    """Once predicate() holds (or at once) and then delay seconds later, sends
    SIG to the process (or, group=True, to its whole process group, as a
    terminal does). Returns False when accsim had already exited."""
    if predicate is not None:
        wait_for(lambda: predicate() or proc.poll() is not None, timeout)
    if delay:
        time.sleep(delay)
    if proc.poll() is not None:
        return False
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    return True


def make_fifo(path):
    os.mkfifo(path)
    return path


def make_symlink(target, link):
    os.symlink(target, link)
    return link


def make_readonly_dir(path):
    """A directory nobody but root may write into (root passes permission
    checks: callers skip such tests as root)."""
    os.mkdir(path)
    os.chmod(path, 0o555)
    return path


def make_device_copy(path, original):
    """A private character device with the major/minor of ORIGINAL (e.g.
    /dev/null, /dev/full), made with os.mknod: tests never write to the
    system's own nodes. Raises unittest.SkipTest when not root."""
    if not is_root():
        raise unittest.SkipTest("making a device node needs root")
    rdev = os.stat(original).st_rdev
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, rdev)
    except PermissionError as e:
        raise unittest.SkipTest("mknod not permitted here: %s" % e)
    return path


def mount_small_tmpfs(testcase, path, size="64k"):
    """A private tmpfs of SIZE at PATH (made here), unmounted when the test
    ends: a disk that can be filled. Root only; skips the test where mounting
    is not allowed (unprivileged containers)."""
    if not is_root():
        raise unittest.SkipTest("mounting a small tmpfs needs root")
    os.makedirs(path, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise unittest.SkipTest("cannot mount a tmpfs here: %s" % p.stdout.strip())
    testcase.addCleanup(subprocess.run, ["umount", "-l", path], check=False)
    return path


def fill_filesystem(directory, name="filler"):
    """Writes DIRECTORY/NAME until the file system is full (ENOSPC)."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    chunk = b"\0" * 4096
    try:
        while True:
            os.write(fd, chunk)
    except OSError as e:
        if e.errno != 28:  # ENOSPC
            raise
    try:
        while True:
            os.write(fd, b"\0")
    except OSError as e:
        if e.errno != 28:
            raise
    finally:
        os.close(fd)
    return path


def fake_program(bindir, name, script):
    """BINDIR/NAME, an executable shell script; put BINDIR first on PATH."""
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + script + "\n")
    os.chmod(path, 0o755)
    return path


def env_with_path_first(bindir):
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def snapshot(root):
    """The exact state of the tree under ROOT (ROOT itself included, hidden
    names too): {relative path: (kind, mode, content digest, size or link
    target or device number)}. Links are not followed."""
    state = {}

    def entry(path):
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            return ("link", None, None, os.readlink(path))
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            return ("file", mode, digest, st.st_size)
        if stat.S_ISDIR(st.st_mode):
            return ("dir", mode, None, None)
        if stat.S_ISFIFO(st.st_mode):
            return ("fifo", mode, None, None)
        if stat.S_ISCHR(st.st_mode):
            return ("chr", mode, None, st.st_rdev)
        return ("other", mode, None, None)

    if not os.path.lexists(root):
        return None
    state["."] = entry(root)
    if state["."][0] == "dir":
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                state[os.path.relpath(full, root)] = entry(full)
    return state


def temp_leftovers(root):
    """Names under ROOT that look like temporary files or directories of an
    atomic write: NAME.tmp.XXXXXX, .NAME.tmp.XXXXXX, .NAME.old.XXXXXX, and the
    NAME.tmp.PID of older accsim versions."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if ".tmp" in name or (name.startswith(".") and ".old." in name):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


class FaultTest(unittest.TestCase):
    """A test case with a fresh temporary directory self.tmp (removed after
    the test, read-only subdirectories included)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="accsim-faults-")
        self.addCleanup(self._remove_tmp)

    def _remove_tmp(self):
        for dirpath, dirnames, _ in os.walk(self.tmp):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o755)
        subprocess.run(["rm", "-rf", "--", self.tmp], check=False)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def assertNoTemps(self, root=None):
        left = temp_leftovers(root or self.tmp)
        self.assertEqual(left, [], "temporary files left behind: %s" % left)

    def assertFailedWith(self, proc, *needles, status=None):
        """accsim failed (non-zero, or exactly STATUS) and its stderr names
        every needle."""
        if status is None:
            self.assertNotEqual(proc.returncode, 0, "expected a failure; stderr: %s" % proc.stderr)
        else:
            self.assertEqual(proc.returncode, status, "stderr: %s" % proc.stderr)
        for n in needles:
            self.assertIn(n, proc.stderr)

    def assertOk(self, proc):
        self.assertEqual(proc.returncode, 0, "accsim failed: %s" % proc.stderr)


def main():
    """Reads where accsim and the data are, skips (exit 77) without the data,
    then runs the calling file's tests with unittest. Arguments, as
    tests/faults.cmake passes them to every test file:

        test_x.py ACCSIM CIFAR_DIR [MODEL_DIR] [unittest arguments]

    (--accsim BIN, --data DIR and --model DIR work too)."""
    global ACCSIM, DATA, MODEL
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--accsim", default=ACCSIM)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--model", default=MODEL)
    args, rest = ap.parse_known_args()
    positional = []
    while rest and not rest[0].startswith("-") and len(positional) < 3 and (
            len(positional) < 2 or os.path.isdir(rest[0])):
        positional.append(rest.pop(0))
    accsim, data, model = (positional + [None] * 3)[:3]
    ACCSIM = os.path.abspath(accsim or args.accsim)
    DATA = os.path.abspath(data or args.data) if (data or args.data) else ""
    MODEL = os.path.abspath(model or args.model) if (model or args.model) else ""
    os.environ["ACCSIM_BIN"], os.environ["ACCSIM_DATA"] = ACCSIM, DATA
    if not os.access(ACCSIM, os.X_OK):
        print("accsim binary not found: %r" % ACCSIM, file=sys.stderr)
        sys.exit(2)
    if not DATA or not os.path.isfile(os.path.join(DATA, "test_batch.bin")):
        print("SKIP: CIFAR-10 binary batches not found in %r" % DATA)
        sys.exit(SKIP)
    unittest.main(module="__main__", argv=[sys.argv[0]] + rest, verbosity=2)
