"""tlslab MySQL probe: mysql-connector-python, use_pure=True (see ../mysql-python/connector_probe.py
and the "MySQL probes" section of ../README.md)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mysql-python"))
import connector_probe  # noqa: E402
import myprobe  # noqa: E402

if __name__ == "__main__":
    myprobe.main_guard("mysqlconnector-pure", lambda argv: connector_probe.main("mysqlconnector-pure", True, argv), sys.argv[1:])
