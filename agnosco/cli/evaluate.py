"""``agnosco evaluate`` and ``agnosco calibrate``: measure error rates, fit Similarity.

    agnosco evaluate DATASET [--pairs PAIRS.csv] [--groups COL ...] [--distinct]
                     [--threshold 80] [--ratio-limit 2] [--endpoint URL [--profile P]] [--output DIR]
    agnosco evaluate --list
    agnosco calibrate DATASET [--pairs PAIRS.csv] [--distinct] [--output FILE]

DATASET is a folder of identity folders or a CSV ``file,identity[,<group columns>...]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from agnosco.cli.common import CliError, add_data_dir, print_json
from agnosco.storage.data_dir import prepare_data_dir

if TYPE_CHECKING:  # the evaluation modules import numpy: only when a command runs
    from agnosco.evaluation.metrics import Rate
    from agnosco.evaluation.report import EvaluationReport


def _dataset(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from agnosco.evaluation.datasets import load_dataset

    try:
        return load_dataset(
            args.dataset, pairs_csv=args.pairs, group_columns=args.groups, distinct=args.distinct
        )
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc


def _evaluate(args: argparse.Namespace) -> None:
    from agnosco.evaluation.records import list_evaluations

    if args.list:
        print_json(
            [
                {
                    "Id": r.record_id,
                    "Created": r.created,
                    "Source": r.source,
                    "Fingerprint": r.fingerprint[:12],
                    "FaceModelVersion": r.face_model_version,
                    "CalibrationVersion": r.calibration_version,
                    "Samples": r.samples,
                    "Flags": len(r.flags),
                    "Path": str(r.path),
                }
                for r in list_evaluations(args.settings.data_dir)
            ]
        )
        return
    if args.dataset is None:
        raise CliError("evaluate needs a DATASET (or --list)")
    from agnosco.deployment import load_calibration
    from agnosco.evaluation.describe import describe_in_process, describe_via_endpoint
    from agnosco.evaluation.evaluate import evaluate
    from agnosco.evaluation.records import save_evaluation
    from agnosco.evaluation.report_html import render_html

    dataset = _dataset(args)
    prepare_data_dir(args.settings.data_dir)  # a file or an unwritable one: refused before the work
    calibration = load_calibration(args.settings.data_dir)
    progress = None if not args.no_progress else False
    if args.endpoint:
        import boto3

        def client():  # type: ignore[no-untyped-def]
            # Credentials as every AWS tool finds them (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
            # or a profile of ~/.aws/credentials): never a secret in the process's arguments.
            session = boto3.Session(profile_name=args.profile)
            return session.client(
                "rekognition", endpoint_url=args.endpoint, region_name=args.endpoint_region
            )

        scores = describe_via_endpoint(dataset, client, progress=progress)
        mode = f"server {args.endpoint}"
    else:
        scores = describe_in_process(
            dataset,
            calibration,
            cache_dir=args.settings.data_dir / "evaluations" / "cache",
            progress=progress,
        )
        mode = "in-process"
    evaluation = evaluate(
        dataset,
        scores,
        calibration,
        deployed_threshold=args.threshold,
        ratio_limit=args.ratio_limit,
        mode=mode,
    )
    html = render_html(evaluation)
    folder = save_evaluation(args.settings.data_dir, evaluation.report, html)
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        for name in ("report.json", "report.html"):
            shutil.copy(folder / name, args.output / name)
    _print_summary(evaluation.report, folder)


def _print_summary(report: EvaluationReport, folder: Path) -> None:
    v = report.verification
    print(
        f"evaluated {report.dataset.samples} images "
        f"({report.enrolment.overall.errors} failed to enrol); "
        f"{v.genuine_pairs} genuine and {v.impostor_pairs} impostor pairs"
    )
    for point in v.at_similarity:
        print(f"  Similarity {point.threshold:g}: FMR {_pct(point.fmr)}  FNMR {_pct(point.fnmr)}")
    for flag in report.flags:
        print(f"  ! {flag}")
    print(f"report: {folder / 'report.html'}")


def _pct(rate: Rate) -> str:
    if rate.rate is None:
        return "not measured"
    return f"{100 * rate.rate:.3g}% [{100 * rate.low:.3g}, {100 * rate.high:.3g}] of {rate.trials}"


def _calibrate(args: argparse.Namespace) -> None:
    from agnosco.deployment import CALIBRATION, load_calibration
    from agnosco.evaluation.calibrate import fit_calibration, write_calibration
    from agnosco.evaluation.describe import describe_in_process
    from agnosco.evaluation.evaluate import pair_scores

    dataset = _dataset(args)
    prepare_data_dir(args.settings.data_dir)  # a file or an unwritable one: refused before the work
    scores = describe_in_process(
        dataset,
        load_calibration(args.settings.data_dir),
        cache_dir=args.settings.data_dir / "evaluations" / "cache",
        progress=None if not args.no_progress else False,
    )
    assert scores.distances is not None
    pairs = pair_scores(dataset, scores, matrix=scores.distances)
    fingerprint = dataset.fingerprint()
    version = f"{dt.date.today().isoformat()}-{fingerprint[:12]}"
    try:
        document = fit_calibration(
            pairs.impostor,
            version=version,
            fitted_on=f"{dataset.source}: {len(pairs.impostor)} impostor pairs",
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    target = args.output or args.settings.data_dir / CALIBRATION
    write_calibration(document, target)
    print(f"wrote calibration {version} to {target}")
    for anchor in document["fmr_anchors"]:
        print(
            f"  Similarity {anchor['similarity']:g} = FMR {anchor['fmr']:g} at distance "
            f"{anchor['distance']:.4f} ({anchor['how']})"
        )
    if target == args.settings.data_dir / CALIBRATION:
        print("restart `agnosco serve` to use it; re-run `agnosco evaluate` for this calibration")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def dataset_args(p: argparse.ArgumentParser, required: bool) -> None:
        p.add_argument(
            "dataset",
            type=Path,
            nargs=None if required else "?",
            help="a folder of <identity>/<image> or a CSV file,identity[,groups...]",
        )
        p.add_argument("--pairs", type=Path, help="CSV file_a,file_b,same[,fold] of labelled pairs")
        p.add_argument(
            "--groups",
            nargs="+",
            help="group columns of the CSV (default: those with <= 20 values)",
        )
        p.add_argument(
            "--distinct",
            action="store_true",
            help="every image without an identity is a different person (impostor pairs)",
        )
        p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        add_data_dir(p)

    e = commands.add_parser("evaluate", help="measure error rates, per group, into an HTML report")
    dataset_args(e, required=False)
    e.add_argument("--list", action="store_true", help="list stored evaluations")
    e.add_argument(
        "--threshold",
        type=float,
        default=80.0,
        help="the deployed Similarity threshold (default 80)",
    )
    e.add_argument(
        "--ratio-limit",
        type=float,
        default=2.0,
        help="flag a max/min error-rate ratio across groups above this (default 2)",
    )
    e.add_argument("--endpoint", help="evaluate through a running server instead of in-process")
    e.add_argument(
        "--profile",
        help="with --endpoint: the AWS profile whose Agnosco key signs the calls "
        "(default: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as the AWS CLI)",
    )
    e.add_argument(
        "--region",
        dest="endpoint_region",
        default="us-east-1",
        help="with --endpoint: the server's region",
    )
    e.add_argument("--output", type=Path, help="also copy report.json and report.html here")
    e.set_defaults(run=_evaluate)

    c = commands.add_parser(
        "calibrate", help="fit the distance -> Similarity mapping on your own data"
    )
    dataset_args(c, required=True)
    c.add_argument(
        "--output", type=Path, help="where to write it (default: DATA_DIR/calibration.json)"
    )
    c.set_defaults(run=_calibrate)
