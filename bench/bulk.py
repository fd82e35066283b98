"""Bulk indexing throughput: ``agnosco index-folder`` with 1 and 2 worker processes and on a
local Ray instance, side by side, on the same images, each run into a fresh data directory.

Every configuration runs the real command in a subprocess, so the figures include what a user
waits for: interpreter start, worker start (spawn) and model loading, or ``ray.init``.  Two
rates are printed: images per second of wall time for the whole command, and of the run
itself as the command reports it (from the coordinator's start to its last write).  The images
are the shared deepface-pairs set (64 files, one a WebP that fails as Rekognition would), and
with ``--utkface N`` also N UTKFace chips (200 x 200 crops: little decoding, one face each);
``--repeat K`` links the set K times under different folders (distinct ExternalImageIds, so
every copy is indexed) to weigh start-up less.

    python bench/bulk.py [--repeat 1] [--utkface 0] [--configs w1 w2 ray] [--ray-cpus 2] [--rounds 1]

On a shared or loaded machine use ``--rounds 3``: configurations run interleaved and the table
shows medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CONFIGS = {
    "w0": ("in process (--workers 0)", ["--workers", "0"]),
    "w1": ("1 worker process", ["--workers", "1"]),
    "w2": ("2 worker processes", ["--workers", "2"]),
    "ray": ("Ray, local instance", ["--ray-address", "local"]),
}


def build_folder(root: Path, repeat: int, utkface: int) -> int:
    """Symbolic links to the images; returns how many."""
    sources = sorted((SHARED / "deepface-pairs" / "images").iterdir())
    if utkface:
        sources += sorted((SHARED / "demographics-utkface" / "images").iterdir())[:utkface]
    for copy in range(repeat):
        folder = root / f"copy{copy}"
        folder.mkdir(parents=True)
        for source in sources:
            (folder / f"{source.parent.parent.name}-{source.name}").symlink_to(source)
    return len(sources) * repeat


def run(images: Path, data_dir: Path, extra: list[str]) -> tuple[float, dict]:
    argv = [
        sys.executable,
        "-m",
        "agnosco.cli.main",
        "index-folder",
        str(images),
        "--collection",
        "bench",
        "--create-collection",
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(extra)} failed:\n{result.stderr[-3000:]}")
    return wall, json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--utkface", type=int, default=0, metavar="N")
    parser.add_argument(
        "--configs", nargs="+", default=["w1", "w2", "ray"], choices=sorted(CONFIGS)
    )
    parser.add_argument("--ray-cpus", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=1, help="run every configuration this many times (medians)"
    )
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is absent: this benchmark needs the shared data sets")

    cpus = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="agnosco-bench-bulk-") as tmp:
        root = Path(tmp)
        total = build_folder(root / "images", args.repeat, args.utkface)
        print(
            f"{total} files (deepface-pairs x{args.repeat}"
            f"{f' + {args.utkface} UTKFace chips' if args.utkface else ''}); {cpus} CPUs; "
            f"each configuration into a fresh data directory\n"
        )
        header = (
            f"{'configuration':<26} {'wall s':>7} {'img/s wall':>10} {'run s':>7} {'img/s run':>9} "
            f"{'indexed':>7} {'no face':>7} {'faces':>5} {'failed':>6}"
        )
        rows: dict[str, list[tuple[float, dict]]] = {name: [] for name in args.configs}
        for round_ in range(args.rounds):  # configurations interleaved, so each sees the same load
            for name in args.configs:
                extra = CONFIGS[name][1]
                if name == "ray":
                    extra = [*extra, "--workers", str(args.ray_cpus)]
                data_dir = root / f"data-{name}-{round_}"
                rows[name].append(run(root / "images", data_dir, extra))
                shutil.rmtree(data_dir)
        print(header)
        print("-" * len(header))
        for name, results in rows.items():
            wall = statistics.median(w for w, _ in results)
            seconds = statistics.median(s["Seconds"] for _, s in results)
            summary = results[0][1]
            analysed = (
                summary["ImagesIndexed"]
                + summary["ImagesWithoutIndexableFaces"]
                + sum(summary["ImagesFailed"].values())
            )
            print(
                f"{CONFIGS[name][0]:<26} {wall:7.1f} {analysed / wall:10.2f} {seconds:7.1f} "
                f"{analysed / seconds:9.2f} {summary['ImagesIndexed']:7d} {summary['ImagesWithoutIndexableFaces']:7d} "
                f"{summary['FacesIndexed']:5d} "
                f"{sum(summary['ImagesFailed'].values()):6d}"
            )
        if args.rounds > 1:
            print(f"\n(medians of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
