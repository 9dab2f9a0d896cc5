"""The command line shared by the importers (tools/import_tflite.py,
tools/import_onnx.py): the same arguments, the same messages, the same exit
status. It imports no third-party package: the importers import it first,
so that missing_package can report a missing one.

    ap = import_cli.parser(__doc__, "the .tflite file")
    ap.add_argument(...)            # the importer's own options
    return import_cli.main(ap, argv, "import_tflite", ImportError_,
                           lambda args, mean, std: import_model(...))
"""
import argparse
import sys


def missing_package(e):
    """A package the importer needs (an ImportError e) is not installed: exit 77."""
    print("error: %s (run tools/setup-python-tools.sh and use its python)" % e, file=sys.stderr)
    sys.exit(77)


def parse_floats(s, what):
    """Comma-separated numbers of option what; a usage error (exit 2) else."""
    try:
        return [float(v) for v in s.split(",")]
    except ValueError:
        raise SystemExit("error: %s: want comma-separated numbers, got %r" % (what, s))


def parser(doc, model_help):
    """The parser with the arguments every importer takes, in --help's order:
    the model, --out, --name, --input-mean, --input-std."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("model", help=model_help)
    ap.add_argument("--out", required=True, help="output directory (network.json + .npy)")
    ap.add_argument("--name", help="the network's name (default: the file's base name)")
    ap.add_argument("--input-mean", help="per-channel means for the affine input "
                    "quantization, comma-separated (default 0)")
    ap.add_argument("--input-std", help="per-channel standard deviations (default 1)")
    return ap


def main(ap, argv, tool, error_type, import_model):
    """Adds --quiet (the last option), parses argv and runs
    import_model(args, input_mean, input_std), which returns the manifest
    written or raises error_type. Prints the error (exit 1) or, unless
    --quiet, a one-line summary (exit 0)."""
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    mean = parse_floats(args.input_mean, "--input-mean") if args.input_mean else None
    std = parse_floats(args.input_std, "--input-std") if args.input_std else None
    try:
        manifest = import_model(args, mean, std)
    except error_type as e:
        print("%s: error: %s" % (tool, e), file=sys.stderr)
        return 1
    if not args.quiet:
        macs = [d["name"] for d in manifest["ops"] if d["op"] in ("conv2d", "fully_connected")]
        print("%s: %s -> %s: %d ops (%d MAC layers: %s), output '%s'"
              % (tool, args.model, args.out, len(manifest["ops"]), len(macs), ", ".join(macs),
                 manifest["output"]))
    return 0
