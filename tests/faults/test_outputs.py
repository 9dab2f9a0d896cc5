"""Fault injection on accsim's OUTPUT side: where results are written, how
failures to write are reported, report directories, interrupts and gnuplot.

Every test asserts the exit status, the message and the exact state of the
file system afterwards. Device tests use private nodes made with mknod (root
only; skipped otherwise), never the system's /dev entries.

    python3 test_outputs.py build/accsim /path/to/cifar10 [MODEL_DIR] [unittest args]
"""

import json
import os
import signal
import stat
import subprocess
import time
import unittest

import faultlib
from faultlib import FaultTest, common_args, finish, run, start

RUN_SMALL = 20      # images for runs whose output is what is tested
HIST_SMALL = 100    # images for hist reports (a few seconds)
STUDY_SMALL = 200   # images per split for a complete study


def run_json(path, *extra, **kw):
    return run(["run"] + common_args(RUN_SMALL) + ["--json", path] + list(extra), **kw)


def check_json(testcase, text):
    doc = json.loads(text)
    testcase.assertIn("accuracy", json.dumps(doc))
    return doc


class OutputTargets(FaultTest):
    """Regular files are replaced atomically at their real location; anything
    else is written in place and keeps what it is."""

    def test_new_file_mode_follows_umask(self):
        out = self.path("r.json")
        self.assertOk(run_json(out, umask=0o027))
        st = os.lstat(out)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        with open(out) as f:
            check_json(self, f.read())
        self.assertNoTemps()

    def test_replaced_file_keeps_mode(self):
        out = self.path("r.json")
        with open(out, "w") as f:
            f.write("old\n")
        os.chmod(out, 0o604)
        self.assertOk(run_json(out))
        self.assertEqual(stat.S_IMODE(os.lstat(out).st_mode), 0o604)
        with open(out) as f:
            check_json(self, f.read())
        self.assertNoTemps()

    def test_symlink_kept_target_updated(self):
        os.mkdir(self.path("real"))
        target = self.path("real", "r.json")
        with open(target, "w") as f:
            f.write("old\n")
        os.chmod(target, 0o640)
        link = faultlib.make_symlink("real/r.json", self.path("link.json"))
        self.assertOk(run_json(link))
        self.assertTrue(os.path.islink(link))
        self.assertEqual(os.readlink(link), "real/r.json")
        self.assertEqual(stat.S_IMODE(os.lstat(target).st_mode), 0o640)
        with open(target) as f:
            check_json(self, f.read())
        self.assertNoTemps()

    def test_symlink_chain_and_absolute_target(self):
        target = self.path("r.json")
        with open(target, "w") as f:
            f.write("old\n")
        faultlib.make_symlink(target, self.path("l1"))      # absolute
        faultlib.make_symlink("l1", self.path("l2"))        # relative, to a link
        self.assertOk(run_json(self.path("l2")))
        self.assertEqual(os.readlink(self.path("l2")), "l1")
        self.assertEqual(os.readlink(self.path("l1")), target)
        with open(target) as f:
            check_json(self, f.read())
        self.assertNoTemps()

    def test_dangling_symlink_creates_target(self):
        os.mkdir(self.path("sub"))
        link = faultlib.make_symlink("sub/new.json", self.path("link.json"))
        self.assertOk(run_json(link, umask=0o022))
        self.assertEqual(os.readlink(link), "sub/new.json")
        st = os.lstat(self.path("sub", "new.json"))
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        self.assertNoTemps()

    def test_dangling_symlink_into_missing_directory_fails(self):
        link = faultlib.make_symlink("nowhere/new.json", self.path("link.json"))
        p = run_json(link)
        self.assertFailedWith(p, "link.json", "nowhere")
        self.assertEqual(os.listdir(self.tmp), ["link.json"])

    def test_fifo_written_in_place(self):
        fifo = faultlib.make_fifo(self.path("fifo"))
        reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
        p = run_json(fifo)
        data, _ = reader.communicate(timeout=30)
        self.assertOk(p)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        check_json(self, data.decode())
        self.assertEqual(os.listdir(self.tmp), ["fifo"])

    def test_null_device_stays_a_device(self):
        dev = faultlib.make_device_copy(self.path("null"), "/dev/null")
        before = os.lstat(dev)
        for args in (["run"] + common_args(RUN_SMALL) + ["--json", dev],
                     ["run"] + common_args(RUN_SMALL) + ["--dump-outputs", dev, "--json", dev],
                     ["sweep"] + common_args(RUN_SMALL) + ["--from", "14", "--to", "13", "--csv", dev,
                                                           "--json", dev]):
            self.assertOk(run(args))
            st = os.lstat(dev)
            self.assertTrue(stat.S_ISCHR(st.st_mode))
            self.assertEqual((st.st_rdev, st.st_ino), (before.st_rdev, before.st_ino))
        self.assertEqual(os.listdir(self.tmp), ["null"])

    def _full_device(self):
        """A private /dev/full as root; otherwise the system's, which a
        non-root accsim could not replace even if it tried."""
        if faultlib.is_root():
            return faultlib.make_device_copy(self.path("full"), "/dev/full")
        return "/dev/full"

    def test_json_to_full_device_fails(self):
        dev = self._full_device()
        before = os.lstat(dev)
        p = run_json(dev)
        self.assertFailedWith(p, dev, "write error", "No space left on device", status=1)
        st = os.lstat(dev)
        self.assertTrue(stat.S_ISCHR(st.st_mode))
        self.assertEqual((st.st_rdev, st.st_ino), (before.st_rdev, before.st_ino))
        self.assertNoTemps()

    def test_dump_outputs_to_full_device_fails(self):
        dev = self._full_device()
        p = run(["run"] + common_args(RUN_SMALL) + ["--dump-outputs", dev, "--json", "-"])
        self.assertFailedWith(p, dev, "No space left on device", status=1)
        self.assertTrue(stat.S_ISCHR(os.lstat(dev).st_mode))

    def test_stdout_to_full_device_fails(self):
        dev = self._full_device()
        commands = [
            ["run"] + common_args(RUN_SMALL),
            ["run"] + common_args(RUN_SMALL) + ["--json", "-"],
            ["sweep"] + common_args(RUN_SMALL) + ["--from", "16", "--to", "14"],
            ["energy", "--bits", "17"],
            ["energy", "--bits", "17", "--json", "-"],
            ["devices"],
        ]
        for args in commands:
            with self.subTest(command=" ".join(args[:1])):
                with open(dev, "w") as out:
                    p = run(args, stdout=out)
                if args[0] == "devices" and "standard output" not in p.stderr:
                    # no OpenCL platform: devices fails for that reason first
                    self.assertNotEqual(p.returncode, 0)
                    continue
                self.assertFailedWith(p, "standard output", "No space left on device", status=1)
        self.assertTrue(stat.S_ISCHR(os.lstat(dev).st_mode))

    def test_descriptor_path_written_in_place(self):
        """/dev/stdout (non-root) or /proc/self/fd/1 (root: a regression that
        renamed over it would fail instead of replacing a system entry) with
        stdout a regular file: the file the shell opened gets the result."""
        alias = "/proc/self/fd/1" if faultlib.is_root() else "/dev/stdout"
        out = self.path("out.json")
        with open(out, "w") as f:
            ino = os.fstat(f.fileno()).st_ino
            self.assertOk(run_json(alias, stdout=f))
        self.assertEqual(os.lstat(out).st_ino, ino)
        with open(out) as f:
            check_json(self, f.read())
        self.assertNoTemps()

    def test_dash_is_stdout(self):
        p = run_json("-")
        self.assertOk(p)
        check_json(self, p.stdout)
        self.assertEqual(os.listdir(self.tmp), [])

    def test_directory_as_output_file_fails_before_work(self):
        os.mkdir(self.path("d"))
        before = faultlib.snapshot(self.tmp)
        # the whole training split: doing the work first would time out
        for cmd, opt in (("run", "--json"), ("run", "--dump-outputs"), ("hist", "--csv")):
            with self.subTest(opt=opt):
                p = run([cmd, "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--split", "both",
                         opt, self.path("d")], timeout=60)
                self.assertFailedWith(p, self.path("d"), "is a directory", status=1)
        self.assertEqual(faultlib.snapshot(self.tmp), before)

    def test_missing_parent_fails_before_work(self):
        p = run(["run", "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--split", "both",
                 "--json", self.path("nodir", "r.json")], timeout=60)
        self.assertFailedWith(p, "nodir", "No such file or directory", status=1)
        self.assertEqual(os.listdir(self.tmp), [])

    def test_parent_is_a_file_fails(self):
        with open(self.path("f"), "w") as f:
            f.write("x")
        p = run_json(self.path("f", "r.json"), timeout=60)
        self.assertFailedWith(p, self.path("f", "r.json"), status=1)
        self.assertEqual(os.listdir(self.tmp), ["f"])

    def test_read_only_directory_fails_before_work(self):
        if faultlib.is_root():
            self.skipTest("root writes into read-only directories")
        ro = faultlib.make_readonly_dir(self.path("ro"))
        p = run(["run", "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--split", "both",
                 "--json", os.path.join(ro, "r.json")], timeout=60)
        self.assertFailedWith(p, "ro", "Permission denied", status=1)
        self.assertEqual(os.listdir(ro), [])


class FullDisk(FaultTest):
    """A real file system that fills up (a private 64 KiB tmpfs, root only):
    the earlier result stays, no temporary file is left, the exit status
    says so."""

    def setUp(self):
        super().setUp()
        self.disk = faultlib.mount_small_tmpfs(self, self.path("disk"))

    def test_file_on_full_disk_keeps_old_result(self):
        out = os.path.join(self.disk, "outputs.csv")
        with open(out, "w") as f:
            f.write("old dump\n")
        before = faultlib.snapshot(self.disk)
        # 2000 rows of outputs: far more than the disk holds
        p = run(["run"] + common_args(2000) + ["--dump-outputs", out, "--json", "-"])
        self.assertFailedWith(p, out, "write error", "No space left on device", status=1)
        self.assertEqual(faultlib.snapshot(self.disk), before)
        self.assertNoTemps(self.disk)

    def test_stdout_to_full_disk_fails(self):
        faultlib.fill_filesystem(self.disk)
        for args in (["run"] + common_args(RUN_SMALL),
                     ["sweep"] + common_args(RUN_SMALL) + ["--from", "16", "--to", "14"],
                     ["energy", "--bits", "17"]):
            with self.subTest(command=args[0]):
                with open(os.path.join(self.disk, "table.txt"), "w") as f:
                    p = run(args, stdout=f)
                self.assertFailedWith(p, "standard output", "No space left on device", status=1)

    def test_report_on_full_disk_keeps_earlier_report(self):
        out = os.path.join(self.disk, "h")
        os.mkdir(out)
        for name, text in ((".accsim-report", "old\n"), ("plots.gp", "old\n")):
            with open(os.path.join(out, name), "w") as f:
                f.write(text)
        faultlib.fill_filesystem(self.disk)
        before = faultlib.snapshot(self.disk)
        p = run(["hist"] + common_args(HIST_SMALL) + ["--out", out], stdout=subprocess.DEVNULL)
        self.assertFailedWith(p, "No space left on device", status=1)
        self.assertEqual(faultlib.snapshot(self.disk), before)
        self.assertNoTemps(self.disk)


class ReportDirectories(FaultTest):
    """study --out / hist --out: a report directory appears whole or not at
    all; only an earlier report (or an empty directory) is ever replaced."""

    def hist(self, out, env=None, **kw):
        return run(["hist"] + common_args(HIST_SMALL) + ["--out", out], env=env, stdout=subprocess.DEVNULL,
                   **kw)

    def test_hist_report_new(self):
        out = self.path("h")
        self.assertOk(self.hist(out))
        names = os.listdir(out)
        for n in (".accsim-report", "plots.gp", "hist_ranges.csv", "hist_bits.json"):
            self.assertIn(n, names)
        self.assertEqual(stat.S_IMODE(os.lstat(out).st_mode), 0o755)  # 0777 & ~022
        self.assertEqual(sorted(os.listdir(self.tmp)), ["h"])
        self.assertNoTemps()

    def test_hist_replaces_earlier_report_whole(self):
        out = self.path("h")
        self.assertOk(self.hist(out))
        with open(os.path.join(out, "stale.txt"), "w") as f:
            f.write("from the earlier report\n")
        os.chmod(out, 0o750)
        self.assertOk(self.hist(out))
        self.assertNotIn("stale.txt", os.listdir(out))
        self.assertIn(".accsim-report", os.listdir(out))
        self.assertEqual(stat.S_IMODE(os.lstat(out).st_mode), 0o750)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["h"])
        self.assertNoTemps()

    def test_hist_into_empty_directory(self):
        os.mkdir(self.path("h"))
        self.assertOk(self.hist(self.path("h")))
        self.assertIn(".accsim-report", os.listdir(self.path("h")))
        self.assertNoTemps()

    def test_report_from_before_the_marker_is_replaced(self):
        """A study report written before accsim added .accsim-report (it has
        summary.md and plots.gp) counts as an earlier report."""
        out = self.path("h")
        os.mkdir(out)
        for name in ("summary.md", "plots.gp", "sweep.csv"):
            with open(os.path.join(out, name), "w") as f:
                f.write("old\n")
        self.assertOk(self.hist(out))
        names = os.listdir(out)
        self.assertIn(".accsim-report", names)
        self.assertNotIn("summary.md", names)
        self.assertNoTemps()

    def test_report_through_symlink_keeps_link(self):
        os.mkdir(self.path("real"))
        link = faultlib.make_symlink("real", self.path("link"))
        self.assertOk(self.hist(link))
        self.assertTrue(os.path.islink(link))
        self.assertIn(".accsim-report", os.listdir(self.path("real")))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["link", "real"])
        self.assertNoTemps()

    def test_parent_directories_created(self):
        self.assertOk(self.hist(self.path("a", "b", "h")))
        self.assertIn("plots.gp", os.listdir(self.path("a", "b", "h")))
        self.assertNoTemps()

    def test_foreign_directory_refused_before_work(self):
        mine = self.path("mine")
        os.mkdir(mine)
        with open(os.path.join(mine, "notes.txt"), "w") as f:
            f.write("precious\n")
        with open(os.path.join(mine, "summary.md"), "w") as f:
            f.write("my own summary, not a report\n")
        before = faultlib.snapshot(self.tmp)
        for cmd in ("study", "hist"):
            with self.subTest(command=cmd):
                # no --limit: a study that did the work first would time out
                p = run([cmd, "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--out", mine],
                        timeout=60, stdout=subprocess.DEVNULL)
                self.assertFailedWith(p, mine, "not an accsim report", "refusing", status=1)
                self.assertEqual(faultlib.snapshot(self.tmp), before)

    def test_out_is_a_file_refused_before_work(self):
        f = self.path("report")
        with open(f, "w") as fp:
            fp.write("a file\n")
        before = faultlib.snapshot(self.tmp)
        for cmd in ("study", "hist"):
            with self.subTest(command=cmd):
                p = run([cmd, "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--out", f],
                        timeout=60, stdout=subprocess.DEVNULL)
                self.assertFailedWith(p, f, "not a directory", status=1)
                self.assertEqual(faultlib.snapshot(self.tmp), before)

    def test_read_only_parent_refused_before_work(self):
        if faultlib.is_root():
            self.skipTest("root writes into read-only directories")
        ro = faultlib.make_readonly_dir(self.path("ro"))
        p = run(["study", "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--out",
                 os.path.join(ro, "st")], timeout=60)
        self.assertFailedWith(p, "ro", "Permission denied", status=1)
        self.assertEqual(os.listdir(ro), [])

    def test_study_complete_replaces_earlier_report(self):
        """A complete study replaces an earlier report in full (its extra
        files gone) and leaves nothing else in the parent."""
        out = self.path("st")
        os.mkdir(out)
        for name, text in ((".accsim-report", "old\n"), ("summary.md", "OLD SUMMARY\n"),
                           ("stale_from_old_version.csv", "x\n")):
            with open(os.path.join(out, name), "w") as f:
                f.write(text)
        p = run(["study"] + common_args(STUDY_SMALL) + ["--no-prove", "--out", out], timeout=900)
        self.assertOk(p)
        names = os.listdir(out)
        self.assertNotIn("stale_from_old_version.csv", names)
        for n in (".accsim-report", "summary.md", "sweep.csv", "pareto.json", "timing.json", "plots.gp"):
            self.assertIn(n, names)
        with open(os.path.join(out, "summary.md")) as f:
            self.assertIn("Accumulator-width study", f.read())
        self.assertEqual(os.listdir(self.tmp), ["st"])
        self.assertNoTemps()


class Interrupts(FaultTest):
    """SIGINT and SIGTERM stop accsim cleanly: 130 / 143, one line on stderr,
    no temporary file or directory left, an earlier result untouched."""

    def earlier_report(self, out):
        os.mkdir(out)
        for name, text in ((".accsim-report", "old\n"), ("summary.md", "OLD SUMMARY\n"),
                           ("sweep.csv", "old,table\n")):
            with open(os.path.join(out, name), "w") as f:
                f.write(text)
        return faultlib.snapshot(out)

    def tmpdir_appeared(self):
        return any(".tmp." in n for n in os.listdir(self.tmp))

    def interrupt_study(self, sig, status, out, group=False):
        p = start(["study"] + common_args(2000) + ["--no-prove", "--out", out])
        sent = faultlib.signal_when(p, sig, self.tmpdir_appeared, delay=1.0, group=group)
        rc, err = finish(p)
        self.assertTrue(sent, "study ended before the signal: %s" % err)
        self.assertEqual(rc, status, err)
        self.assertIn("accsim: interrupted", err)
        self.assertEqual(err.count("interrupted"), 1)
        self.assertNoTemps()

    def test_sigint_during_study_leaves_nothing(self):
        out = self.path("st")
        self.interrupt_study(signal.SIGINT, 130, out)
        self.assertEqual(os.listdir(self.tmp), [])

    def test_sigterm_during_study_keeps_earlier_report(self):
        out = self.path("st")
        before = self.earlier_report(out)
        self.interrupt_study(signal.SIGTERM, 143, out)
        self.assertEqual(faultlib.snapshot(out), before)
        self.assertEqual(os.listdir(self.tmp), ["st"])

    def test_ctrl_c_to_process_group_during_study(self):
        out = self.path("st")
        before = self.earlier_report(out)
        self.interrupt_study(signal.SIGINT, 130, out, group=True)
        self.assertEqual(faultlib.snapshot(out), before)

    def interrupt_dump(self, sig, status):
        out = self.path("outputs.csv")
        with open(out, "w") as f:
            f.write("old dump\n")
        before = faultlib.snapshot(self.tmp)
        # both splits: 60000 images, far longer than the delay
        p = start(["run", "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--split", "both",
                   "--dump-outputs", out, "--json", self.path("r.json")])
        sent = faultlib.signal_when(p, sig, delay=1.5)
        rc, err = finish(p)
        self.assertTrue(sent, "run ended before the signal: %s" % err)
        self.assertEqual(rc, status, err)
        self.assertIn("accsim: interrupted", err)
        self.assertEqual(faultlib.snapshot(self.tmp), before)
        self.assertNoTemps()

    def test_sigint_during_dump_outputs(self):
        self.interrupt_dump(signal.SIGINT, 130)

    def test_sigterm_during_dump_outputs(self):
        self.interrupt_dump(signal.SIGTERM, 143)

    def test_ignored_sigint_stays_ignored(self):
        """Started with SIGINT ignored (nohup, a script's background job),
        accsim keeps ignoring it; SIGTERM still stops it cleanly."""
        out = self.path("outputs.csv")
        p = start(["run", "--data", faultlib.DATA, "--engine", "cpu", "--quiet", "--split", "both",
                   "--dump-outputs", out], ignore=(signal.SIGINT,))
        self.assertTrue(faultlib.signal_when(p, signal.SIGINT, delay=1.0))
        time.sleep(0.5)
        self.assertIsNone(p.poll(), "SIGINT was not ignored")
        self.assertTrue(faultlib.signal_when(p, signal.SIGTERM))
        rc, err = finish(p)
        self.assertEqual(rc, 143, err)
        self.assertEqual(os.listdir(self.tmp), [])


class Gnuplot(FaultTest):
    """gnuplot runs as a child process: interrupts reach it, and its real
    outcome is reported. A fake gnuplot first on PATH plays each part."""

    def hist(self, out, env, **kw):
        return run(["hist"] + common_args(HIST_SMALL) + ["--out", out], env=env, stdout=subprocess.DEVNULL,
                   **kw)

    def fake(self, script):
        bindir = self.path("bin")
        faultlib.fake_program(bindir, "gnuplot", script)
        return faultlib.env_with_path_first(bindir)

    def test_gnuplot_failing_is_reported(self):
        env = self.fake("exit 3")
        out = self.path("h")
        p = self.hist(out, env)
        self.assertFailedWith(p, "gnuplot exited with status 3", status=1)
        self.assertFalse(os.path.lexists(out))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["bin"])
        self.assertNoTemps()

    def test_gnuplot_failing_keeps_earlier_report(self):
        out = self.path("h")
        self.assertOk(self.hist(out, None))
        before = faultlib.snapshot(out)
        p = self.hist(out, self.fake("exit 3"))
        self.assertFailedWith(p, "gnuplot exited with status 3", status=1)
        self.assertEqual(faultlib.snapshot(out), before)
        self.assertNoTemps()

    def test_gnuplot_killed_is_reported(self):
        env = self.fake("kill -KILL $$")
        p = self.hist(self.path("h"), env)
        self.assertFailedWith(p, "gnuplot was killed by signal 9", status=1)
        self.assertFalse(os.path.lexists(self.path("h")))
        self.assertNoTemps()

    def test_gnuplot_missing_skips_plots(self):
        empty = self.path("emptybin")
        os.mkdir(empty)
        env = dict(os.environ, PATH=empty)
        out = self.path("h")
        p = self.hist(out, env)
        self.assertOk(p)
        self.assertIn("gnuplot not found", p.stderr)
        names = os.listdir(out)
        self.assertIn("plots.gp", names)
        self.assertFalse([n for n in names if n.endswith(".png")])
        self.assertNoTemps()

    def test_gnuplot_not_executable_is_not_missing(self):
        bindir = self.path("bin")
        os.mkdir(bindir)
        with open(os.path.join(bindir, "gnuplot"), "w") as f:
            f.write("not a program\n")
        os.chmod(os.path.join(bindir, "gnuplot"), 0o644)
        env = dict(os.environ, PATH=bindir)
        p = self.hist(self.path("h"), env)
        self.assertFailedWith(p, "gnuplot", "Permission denied", status=1)
        self.assertNotIn("not found", p.stderr)
        self.assertFalse(os.path.lexists(self.path("h")))

    def interrupt_gnuplot(self, sig, status, group, earlier=False):
        pidfile = self.path("gnuplot.pid")
        out = self.path("h")
        before = None
        if earlier:
            self.assertOk(self.hist(out, None))
            before = faultlib.snapshot(out)
        env = self.fake('echo $$ > "%s"\nexec sleep 60' % pidfile)
        p = start(["hist"] + common_args(HIST_SMALL) + ["--out", out], env=env)
        sent = faultlib.signal_when(p, sig, lambda: os.path.exists(pidfile) and os.path.getsize(pidfile) > 0,
                                    delay=0.3, group=group, timeout=60)
        rc, err = finish(p)
        self.assertTrue(sent, "hist ended before the signal: %s" % err)
        self.assertEqual(rc, status, err)
        self.assertIn("accsim: interrupted", err)
        self.assertNotIn("gnuplot failed", err)
        self.assertNotIn("not found", err)
        with open(pidfile) as f:
            child = int(f.read())
        # accsim stopped and reaped its child before exiting
        self.assertFalse(os.path.exists("/proc/%d" % child), "gnuplot (sleep) still there")
        # the half-written report (tables, plots.gp) is gone; an earlier one is as it was
        self.assertEqual(faultlib.snapshot(out), before)
        self.assertNoTemps()

    def test_sigterm_to_accsim_stops_gnuplot(self):
        self.interrupt_gnuplot(signal.SIGTERM, 143, group=False, earlier=True)

    def test_sigint_to_accsim_alone_stops_gnuplot(self):
        self.interrupt_gnuplot(signal.SIGINT, 130, group=False)

    def test_ctrl_c_while_gnuplot_runs(self):
        self.interrupt_gnuplot(signal.SIGINT, 130, group=True)


if __name__ == "__main__":
    faultlib.main()
