"""Where a bench keeps the gateway under test's data folder, and what creating a file there costs.

The gateway's filesystem object store creates a file for each large blob (a submit's package and attachment:
two per document). On ext4 without a journal, as this machine's root filesystem is, creating a file makes the
kernel step over every free inode of the folder's block group that was deleted recently (``recently_deleted`` in
``find_inode_bit``: the last 5 s, or 5 minutes while the inode table block is still dirty), one buffer-cache
lookup each. So the cost of a create depends on what was deleted near that folder just before: measured here
(2026-12-03), 0.017 ms of kernel CPU in a quiet block group, 0.4-0.9 ms in the group of ``/tmp`` after test runs
and the cleanup of an earlier bench run (thousands of blobs and a dropped database's files). Two creates per
document at 0.6 ms is about 10 % of the gateway's CPU per document: earlier benches here measured that churn as
much as the gateway.

A deployment keeps its data on its own volume, where nothing mass-deletes. To measure the gateway rather than the
last cleanup, the benches put each run's folder under ``<temp>/edoc-bench``, a parent folder marked with ext4's
``TOPDIR`` attribute (``chattr +T``): the kernel places each new folder below it in a block group of its own
choosing (the Orlov allocator, as for folders of the filesystem's root) instead of the parent's group, where the
previous run's folder was just deleted. Where the attribute is not supported (tmpfs, other filesystems) nothing is
marked and nothing changes. Either way :func:`file_create_ms` measures the cost in the folder actually used, and
the benches print it next to the machine calibration, so a run made in a churned group shows as one.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["bench_folder", "file_create_ms", "topdir_marked"]

# linux/fs.h: FS_IOC_GETFLAGS / FS_IOC_SETFLAGS (declared with long, read and written as int by ext2/3/4) and
# FS_TOPDIR_FL, the attribute chattr spells +T.
_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_TOPDIR_FL = 0x00020000


def _flags(fd: int) -> array.array[int]:
    """The inode attributes of the open file ``fd``, as a buffer FS_IOC_SETFLAGS takes back (OSError if none)."""
    flags = array.array("i", [0])
    fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)
    return flags


def topdir_marked(folder: Path) -> bool | None:
    """Whether ``folder`` carries the TOPDIR attribute; None where the filesystem has no inode attributes."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return bool(_flags(fd)[0] & _FS_TOPDIR_FL)
    except OSError:
        return None
    finally:
        os.close(fd)


def _mark_topdir(folder: Path) -> bool:
    """Set the TOPDIR attribute on ``folder``; False where the filesystem has no such attribute."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        flags = _flags(fd)
        if not flags[0] & _FS_TOPDIR_FL:
            flags[0] |= _FS_TOPDIR_FL
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, flags, True)
        return True
    except OSError:  # ENOTTY / EOPNOTSUPP: not ext2/3/4; EPERM: not the owner
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def bench_folder(prefix: str, workdir: Path | None = None) -> Iterator[Path]:
    """A new folder for one bench run, removed afterwards: under ``workdir`` if given (used as it is), else under
    ``<temp>/edoc-bench``, marked TOPDIR when the filesystem allows (see the module docstring)."""
    if workdir is None:
        workdir = Path(tempfile.gettempdir()) / "edoc-bench"
        workdir.mkdir(exist_ok=True)
        _mark_topdir(workdir)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=workdir) as folder:
        yield Path(folder)


def file_create_ms(folder: Path, count: int = 200) -> float:
    """CPU milliseconds (user + system, this process) to create one empty file in ``folder``: the median of
    ``count`` creates. The files stay in ``folder/.create-probe`` until the folder is removed: deleting them now
    would make the next creates there dearer, which is what this measures."""
    probe = folder / ".create-probe"
    probe.mkdir(exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    base = len(os.listdir(probe))
    times = []
    for n in range(base, base + count):
        started = time.process_time()
        os.close(os.open(probe / f"f{n}", flags, 0o600))
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000
