"""The Ray driver process of a long video's analysis (:mod:`agnosco.operations.video_analysis`):
``python -m agnosco.operations.video_driver FD PARENT_PID``, the work pickled on stdin, messages
sent on the pipe ``FD``.  Its own module, which the package does not import, so that running it
as ``__main__`` leaves the functions Ray ships to its tasks in their importable module."""

from __future__ import annotations

import pickle
import sys
from multiprocessing.connection import Connection

from agnosco.operations.video_analysis import drive


def main() -> None:
    address, work = pickle.loads(sys.stdin.buffer.read())
    conn = Connection(int(sys.argv[1]), readable=False)
    try:
        drive(address, work, conn, int(sys.argv[2]))
    finally:
        conn.close()


if __name__ == "__main__":
    main()
