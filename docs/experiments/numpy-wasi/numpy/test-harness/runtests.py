import os, sys
here = os.path.dirname(os.path.abspath(__file__))
ini = os.path.join(here, "pytest.ini")
import pytest
args = ["-c", ini, "--rootdir=" + here, "-q", "--capture=sys", "-p", "no:cacheprovider",
        "-p", "no:faulthandler", "-p", "no:logging", "-rN", "--continue-on-collection-errors"]
if sys.platform == "wasi":
    sys.path.insert(0, here)
    args += ["-p", "wasi_pytest_plugin"]
sys.exit(pytest.main(args + ["--pyargs"] + sys.argv[1:]))
