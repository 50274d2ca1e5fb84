"""What every command-line tool shares: the one-line error, progress lines on stderr, argument types and main()."""

import argparse
import sys
import time

_T0 = time.time()


class ToolError(Exception):
    """An error reported to the user as one clear line, exit status 2."""


def log(msg):
    sys.stderr.write("[%6.1fs] %s\n" % (time.time() - _T0, msg))
    sys.stderr.flush()


def positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % s)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1, got %d" % v)
    return v


def seed(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % s)
    if not 0 <= v < 2**31:
        raise argparse.ArgumentTypeError("seed must be in 0..2^31-1")
    return v


def run(args, prog):
    """Runs args.func(args): a ToolError becomes `PROG: error: ...` and status 2, Ctrl-C status 130."""
    try:
        return args.func(args)
    except ToolError as e:
        sys.stderr.write("%s: error: %s\n" % (prog, e))
        return 2
    except KeyboardInterrupt:
        return 130
