"""``agnosco index-folder`` and ``agnosco index-s3``: index every image of a folder or an S3 prefix.

    agnosco index-folder DIR --collection C [--workers N | --ray-address ADDR]
        [--max-faces N] [--quality-filter AUTO] [--create-collection] [--data-dir D]
    agnosco index-s3 s3://bucket/prefix --collection C [--s3-endpoint-url URL] [...the same]

Each image is indexed as one IndexFaces call would index it (into the data directory's store, or
``--store``, e.g. the PostgreSQL several servers share), with an ExternalImageId made from
its path (``people/ann.jpg`` -> ``people:ann.jpg``; :mod:`agnosco.bulk.external_id`).  A run
can be stopped and started again: images already indexed are skipped before any model runs.
The summary (JSON on stdout) counts files seen, images indexed, skipped, without indexable
faces and failed (by error code), faces indexed, and unindexed faces by Reason; a progress bar
with rate and ETA goes to stderr when it is a terminal.

Bulk indexing changes what a collection can identify, so it is audited like the governance
commands: the audit log gets an ``agnosco:IndexFolder`` record when the run starts, one per
batch of written images (every 1000 images or 60 seconds: that batch's counts) and one when it
ends (the totals, or how it stopped), all with the same RunId, principal ``cli:<user>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from agnosco.cli.common import CliError, add_state, opening_state, print_json, saying_if_new

OPERATION = "agnosco:IndexFolder"
QUALITY_FILTERS = ["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"]


def _default_workers() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def _runner(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from agnosco.bulk.runners import InProcessRunner, ProcessPoolRunner

    if args.ray_address:
        import importlib.util

        from agnosco.bulk.ray_runner import RayRunner

        if importlib.util.find_spec("ray") is None:
            raise CliError("--ray-address needs Ray: pip install 'agnosco[ray]'")

        return RayRunner(args.ray_address, num_cpus=args.workers)
    workers = _default_workers() if args.workers is None else args.workers
    if workers < 0:
        raise CliError("--workers must be 0 (in process) or more")
    return InProcessRunner() if workers == 0 else ProcessPoolRunner(workers)


def _ensure_collection(context: Any, collection_id: str, create: bool) -> bool:
    """True when the collection was created here."""
    from agnosco.errors import ResourceNotFoundException
    from agnosco.operations import invoke

    try:
        context.require_store().get_collection(collection_id)
        return False
    except ResourceNotFoundException:
        if not create:
            raise
    invoke("CreateCollection", {"CollectionId": collection_id}, context)
    return True


def _open_service(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from agnosco.deployment import open_deployment

    with opening_state():
        return open_deployment(args.settings)


def _index(args: argparse.Namespace, source: Any) -> None:
    from agnosco.bulk.indexer import IndexingOptions

    runner = _runner(args)
    options = IndexingOptions(args.collection, args.quality_filter, args.max_faces)
    service = _open_service(args)
    with saying_if_new(args.settings, service.new):  # never a fresh deployment unsaid
        _index_into(args, source, runner, options, service)


def _index_into(
    args: argparse.Namespace, source: Any, runner: Any, options: Any, service: Any
) -> None:
    from agnosco.bulk.indexer import BulkIndexingError, Coordinator, Counts
    from agnosco.cli.governed import audit_cli
    from agnosco.errors import ServiceError

    run_id = str(uuid.uuid4())
    common = {"RunId": run_id, "CollectionId": args.collection, "Source": source.description}

    def audit(phase: str, **details: Any) -> None:
        audit_cli(service.audit, OPERATION, Phase=phase, **common, **details)

    def report(batch: Counts) -> None:
        audit("batch", **batch.as_json())

    service.context.consent_reference = args.consent_ref
    try:
        coordinator = Coordinator(
            service.context, args.settings.data_dir, options, progress=args.progress, report=report
        )
        created = _ensure_collection(service.context, args.collection, args.create_collection)
        audit(
            "started",
            Runner=runner.description,
            QualityFilter=options.quality_filter,
            MaxFaces=options.max_faces,
            ConsentReference=args.consent_ref,
            CreatedCollection=created,
        )
        try:
            summary = coordinator.run(source, runner)
        except KeyboardInterrupt:
            audit("interrupted")
            raise CliError("interrupted; run the same command again to resume") from None
        except BulkIndexingError as exc:
            audit("refused", Reason=str(exc))
            raise CliError(str(exc)) from None
        except Exception as exc:
            audit(
                "failed",
                Error=str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}",
            )
            raise
        audit("finished", **summary.counts.as_json(), Seconds=round(summary.seconds, 3))
    finally:
        service.close()
    print_json(summary.as_json())
    print(summary.message(), file=sys.stderr)


def _index_folder(args: argparse.Namespace) -> None:
    from agnosco.bulk.sources import FolderSource

    try:
        source = FolderSource(args.folder)
    except NotADirectoryError as exc:
        raise CliError(str(exc)) from None
    _index(args, source)


def _index_s3(args: argparse.Namespace) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from agnosco.bulk.sources import S3Source

    try:
        source = S3Source(args.url, endpoint_url=args.s3_endpoint_url)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        _index(args, source)
    except (ClientError, BotoCoreError) as exc:
        raise CliError(f"cannot list {source.description}: {exc}") from exc


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", required=True, metavar="C", help="the collection to index into")
    p.add_argument(
        "--create-collection",
        action="store_true",
        help="create the collection if it does not exist",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes for the model work (default: one per CPU; 0: in this process); "
        "with --ray-address local, the CPUs of the local Ray instance",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="run the model work on Ray: 'local' starts a local instance, or a cluster address "
        "('auto', 'ray://head:10001'); results are written here",
    )
    p.add_argument(
        "--max-faces", type=int, metavar="N", help="index at most the N largest faces per image"
    )
    p.add_argument(
        "--quality-filter",
        default="AUTO",
        choices=QUALITY_FILTERS,
        help="IndexFaces' QualityFilter (default AUTO)",
    )
    p.add_argument(
        "--consent-ref",
        metavar="REF",
        help="the consent these enrolments rest on, stored with every face (as the server's "
        "x-agnosco-consent-ref header)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    add_state(p)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    folder = commands.add_parser(
        "index-folder",
        help="index every JPEG/PNG of a folder (recursively); resumable",
        description="Index every image of a folder and its sub-folders into a collection, as IndexFaces "
        "would, with ExternalImageIds from the paths. Re-running skips what is indexed.",
    )
    folder.add_argument("folder", metavar="DIR", type=Path)
    _add_common(folder)
    folder.set_defaults(run=_index_folder)

    s3 = commands.add_parser(
        "index-s3",
        help="index every JPEG/PNG under an S3 prefix; resumable",
        description="Index every image under s3://bucket/prefix into a collection, as IndexFaces would, "
        "with ExternalImageIds from the keys below the prefix. Re-running skips what is indexed.",
    )
    s3.add_argument("url", metavar="s3://bucket/prefix")
    s3.add_argument(
        "--s3-endpoint-url", metavar="URL", help="an S3-compatible endpoint (default: AWS)"
    )
    _add_common(s3)
    s3.set_defaults(run=_index_s3)
