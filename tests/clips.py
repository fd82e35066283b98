"""Short clips cut from the shared videos (whole clips are for the benchmarks)."""

from __future__ import annotations

from pathlib import Path

import av


def cut(source: Path, seconds: float, target: Path) -> Path:
    """The first ``seconds`` of ``source``'s video stream, remuxed without re-encoding."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.pts is None:
                continue
            if stream.time_base is not None and packet.pts * stream.time_base > seconds:
                break
            packet.stream = out
            dst.mux(packet)
    return target
