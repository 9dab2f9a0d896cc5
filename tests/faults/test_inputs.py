"""Fault injection, input side (issue 13): bad, hostile and special input files
and option values. Each case asserts the exit status, the message (naming the
file, field or option) and that nothing was written. Run by CTest through
tests/faults.cmake: python3 test_inputs.py ACCSIM_BINARY CIFAR_DIR MODEL_DIR."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ACCSIM = DATA = MODEL = None
TIMEOUT = 60  # a hang is a failure, not a stuck CI run


def run(*args, env=None, cwd=None):
    """Runs accsim; returns (status, stdout, stderr). A hang fails the test."""
    full_env = dict(os.environ)
    full_env.pop("ACCSIM_DEVICE", None)
    full_env.update(env or {})
    try:
        p = subprocess.run([ACCSIM, *args], capture_output=True, text=True, errors="replace",
                           timeout=TIMEOUT, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"accsim {' '.join(args)} hung for {TIMEOUT} s")
    return p.returncode, p.stdout, p.stderr


class InputCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="accsim-inputs-")
        self.model = os.path.join(self.tmp, "model")
        shutil.copytree(MODEL, self.model)
        self.data = os.path.join(self.tmp, "data")
        os.mkdir(self.data)
        # The test batch by symlink (30 MB); cases that break it replace the link.
        os.symlink(os.path.join(DATA, "test_batch.bin"), os.path.join(self.data, "test_batch.bin"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def listing(self):
        return sorted(os.listdir(self.tmp))

    def run_model(self, *extra, env=None):
        return run("run", "--model", self.model, "--data", self.data, "--limit", "20",
                   "--engine", "cpu", "--quiet", *extra, env=env, cwd=self.tmp)

    def expect_error(self, result, *needles, status=None):
        code, out, err = result
        self.assertNotEqual(code, 0, f"accepted: {err}")
        if status is not None:
            self.assertEqual(code, status, err)
        for n in needles:
            self.assertIn(n, err)
        self.assertEqual(err.count("\n"), 1, f"expected one line: {err!r}")

    def replace(self, name, make):
        path = os.path.join(self.model, name)
        os.remove(path)
        make(path)
        return path


class SpecialFiles(InputCase):
    """Nothing hangs on a FIFO or loops on /dev/zero; each says what the file is."""

    def test_fifo_as_weight_csv(self):
        self.replace("fc2.weight.csv", os.mkfifo)
        self.expect_error(self.run_model(), "fc2.weight.csv", "is a FIFO, expected a regular file")

    def test_fifo_as_scale_json(self):
        self.replace("scale.json", os.mkfifo)
        self.expect_error(self.run_model(), "scale.json", "is a FIFO")

    def test_fifo_as_cifar_batch(self):
        path = os.path.join(self.data, "test_batch.bin")
        os.remove(path)
        os.mkfifo(path)
        self.expect_error(self.run_model(), "test_batch.bin", "is a FIFO")

    def test_dev_zero_as_csv(self):
        self.replace("conv1.weight.csv", lambda p: os.symlink("/dev/zero", p))
        self.expect_error(self.run_model(), "conv1.weight.csv", "is a character device")

    def test_dev_zero_as_scale_json(self):
        self.replace("scale.json", lambda p: os.symlink("/dev/zero", p))
        self.expect_error(self.run_model(), "scale.json", "is a character device")

    def test_directory_as_batch(self):
        path = os.path.join(self.data, "test_batch.bin")
        os.remove(path)
        os.mkdir(path)
        self.expect_error(self.run_model(), "test_batch.bin", "is a directory")

    def test_truncated_batch(self):
        path = os.path.join(self.data, "test_batch.bin")
        os.remove(path)
        with open(os.path.join(DATA, "test_batch.bin"), "rb") as src, open(path, "wb") as dst:
            dst.write(src.read(3073 * 100))
        self.expect_error(self.run_model(), "test_batch.bin", "307300 bytes, expected 30730000",
                          "truncated")

    def test_huge_csv_is_refused_by_size(self):
        path = os.path.join(self.model, "fc3.bias.csv")
        with open(path, "wb") as f:
            f.truncate(65 << 20)  # sparse: 65 MiB of NUL bytes
        self.expect_error(self.run_model(), "fc3.bias.csv", "more than the")


class StrictNumbers(InputCase):
    def bias_lines(self):
        with open(os.path.join(self.model, "fc3.bias.csv")) as f:
            return f.read().splitlines()

    def write_bias(self, lines, raw=None):
        with open(os.path.join(self.model, "fc3.bias.csv"), "wb") as f:
            f.write(raw if raw is not None else ("\n".join(lines) + "\n").encode())

    def test_hex_weight(self):
        lines = self.bias_lines()
        lines[2] = "0x10"
        self.write_bias(lines)
        self.expect_error(self.run_model(), "fc3.bias.csv", "line 3", "'0x10' is not a decimal number")

    def test_nul_inside_a_line(self):
        lines = self.bias_lines()
        raw = ("\n".join(lines[:4]) + "\n7\0junk\n" + "\n".join(lines[5:]) + "\n").encode()
        self.write_bias(None, raw)
        self.expect_error(self.run_model(), "fc3.bias.csv", "line 5", "NUL byte")

    def test_inf_and_nan(self):
        for word in ("inf", "nan", "1e999"):
            lines = self.bias_lines()
            lines[0] = word
            self.write_bias(lines)
            self.expect_error(self.run_model(), "fc3.bias.csv", "line 1")

    def test_long_line_is_one_value(self):
        """A 400-character number is one value, not two (it was split at 255)."""
        code, ref, err = self.run_model("--json", "-")
        self.assertEqual(code, 0, err)
        lines = self.bias_lines()
        lines[0] = " " * 200 + lines[0] + " " * 200
        self.write_bias(lines)
        code, out, err = self.run_model("--json", "-")
        self.assertEqual(code, 0, err)
        strip = lambda s: {k: v for k, v in json.loads(s).items() if k not in ("seconds", "model")}
        self.assertEqual(strip(out), strip(ref))

    def test_too_many_values(self):
        self.write_bias(self.bias_lines() + ["1"])
        self.expect_error(self.run_model(), "fc3.bias.csv", "more than the 10 values expected")


class StrictJson(InputCase):
    def write_scales(self, text):
        with open(os.path.join(self.model, "scale.json"), "w") as f:
            f.write(text)

    def scales(self):
        with open(os.path.join(MODEL, "scale.json")) as f:
            return json.load(f)

    def test_trailing_comma(self):
        text = json.dumps(self.scales(), indent=2)
        self.write_scales(text[:-2] + ",\n}")
        self.expect_error(self.run_model(), "scale.json", "trailing comma")

    def test_trailing_junk(self):
        self.write_scales(json.dumps(self.scales()) + " junk")
        self.expect_error(self.run_model(), "scale.json", "unexpected text after the JSON value")

    def test_comment(self):
        self.write_scales("// scales\n" + json.dumps(self.scales()))
        self.expect_error(self.run_model(), "scale.json", "line 1", "comments are not allowed")

    def test_duplicate_key(self):
        text = json.dumps(self.scales(), indent=1)
        self.write_scales(text.replace("{", '{\n "fc1_output_scale": 1,', 1))
        self.expect_error(self.run_model(), "scale.json", "duplicate key \"fc1_output_scale\"")

    def test_empty_and_null(self):
        self.write_scales("")
        self.expect_error(self.run_model(), "scale.json", "empty file")
        self.write_scales("null\n")
        self.expect_error(self.run_model(), "scale.json", "expected a JSON object", "found null")

    def test_unknown_key(self):
        s = self.scales()
        s["fc4_output_scale"] = 1.0
        self.write_scales(json.dumps(s))
        self.expect_error(self.run_model(), "scale.json", "unknown key \"fc4_output_scale\"")


class StrictOptions(InputCase):
    def test_empty_width_fields(self):
        for bits in ("18,,16,17,16,17", ",18", "18,", "18,16,17,16,"):
            self.expect_error(self.run_model("--bits", bits), "--bits", status=2)

    def test_wrong_width_count_for_the_course_model(self):
        self.expect_error(self.run_model("--bits", "18,16"), "--bits", "five", status=2)

    def test_value_that_looks_like_an_option(self):
        self.expect_error(self.run_model("--json", "--bits", "12"), "--json", "not another option",
                          status=2)
        self.assertNotIn("--bits", self.listing())

    def test_option_the_command_does_not_use(self):
        self.expect_error(self.run_model("--csv", "x.csv"), "--csv is not an option of this command",
                          status=2)
        self.assertNotIn("x.csv", self.listing())

    def test_option_given_twice(self):
        self.expect_error(self.run_model("--engine", "opencl"), "--engine: given twice", status=2)

    def test_empty_model(self):
        self.expect_error(run("run", "--model", ""), "--model", "empty", status=2)

    def test_numbers_are_decimal(self):
        for opt, value in (("--limit", " 5"), ("--limit", "+5"), ("--limit", "0x10"),
                           ("--images", "1,,2"), ("--images", "1, 2"), ("--images", ",1")):
            code, out, err = self.run_model(opt, value)
            self.assertNotEqual(code, 0, f"{opt} {value!r} accepted")
            self.assertIn(opt, err)

    def test_device_error_names_its_source(self):
        code, out, err = run("devices")
        if code != 0 or "[0]" not in out:
            self.skipTest("no OpenCL platform here")
        code, out, err = run("run", "--model", self.model, "--data", self.data, "--limit", "5",
                             "--engine", "opencl", env={"ACCSIM_DEVICE": "no-such-device"})
        self.assertNotEqual(code, 0)
        self.assertIn("ACCSIM_DEVICE", err)
        self.assertNotIn("--device", err)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit("usage: test_inputs.py ACCSIM CIFAR_DIR MODEL_DIR")
    ACCSIM, DATA, MODEL = (os.path.abspath(a) for a in sys.argv[1:4])
    if not os.path.isfile(os.path.join(DATA, "test_batch.bin")):
        print(f"SKIP: CIFAR-10 not found in {DATA}")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0], *sys.argv[4:]], verbosity=2)
