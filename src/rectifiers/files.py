"""Where the repository's folders are, and state files written whole and read with suspicion:
a reader never sees half a file, and an unreadable one is moved aside and named instead of
being trusted or blocking every rerun."""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("rectifiers")

ROOT = Path(__file__).resolve().parents[2]  # the repository (an editable install of src/)
CONF = ROOT / "conf"                          # Hydra's config tree
RESULTS = ROOT / "results"                    # committed results, one folder per profile


def write_atomic(path: Path, text: str | None = None, *, write=None) -> None:
    """Write `text` (or call `write(tmp_path)`) to a temporary file beside `path`, then rename
    it over `path`: a crash leaves the old file or the new one, never a torn one."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{path.suffix}")  # keeps the suffix: np.savez, savefig
    try:
        tmp.write_text(text) if write is None else write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def set_aside(path: Path, why) -> Path:
    """Move an unreadable state file (a data cache, summary.json, checkpoint.pt) to
    <name>.corrupt and say so: what it held is computed again."""
    corrupt = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, corrupt)
    except FileNotFoundError:
        pass  # another job set it aside first
    why = why if isinstance(why, str) else f"{type(why).__name__}: {why}"
    log.warning("%s is unreadable (%s): moved aside to %s; computing it again", path, why, corrupt.name)
    return corrupt
