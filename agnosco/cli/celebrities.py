"""``agnosco celebrities``: the public figures RecognizeCelebrities recognizes on this deployment.

* ``agnosco celebrities add NAME IMAGE... [--url URL ...] [--known-gender G]``: enrol a person
  from images that each show exactly their face (the descriptors are kept, never the images);
  the known gender only as the deployer states it (Rekognition's values), never inferred.
* ``agnosco celebrities list``: every celebrity, as JSON (Id, Name, Urls, KnownGender, Faces).
* ``agnosco celebrities remove ID``: forget a celebrity and every descriptor of them.

Each change is audited, as every configuration change made from the command line is (the
images by SHA-256, never their pixels).
"""

from __future__ import annotations

import argparse
import hashlib

from agnosco.cli.common import add_state, print_json, read_file
from agnosco.cli.governed import audit_cli, governance
from agnosco.storage.celebrities import KNOWN_GENDERS


def _add(args: argparse.Namespace) -> None:
    from agnosco.errors import ServiceError
    from agnosco.operations.celebrities import enrolment_descriptor
    from agnosco.operations.context import OperationContext
    from agnosco.storage.celebrities import CelebrityStore

    images = [(path, read_file(path)) for path in args.images]
    context = OperationContext()
    descriptors = []
    for path, data in images:  # every image analysed before anything is stored
        try:
            image = context.load_image({"Bytes": data})
            descriptors.append(enrolment_descriptor(image, context, path))
        except ServiceError as error:
            if str(path) in error.message:
                raise
            raise type(error)(f"{path}: {error.message}") from error
    with governance(args) as parts:
        store = CelebrityStore(parts.database)
        try:
            celebrity = store.add(
                args.name,
                descriptors,
                context.face_model.version,
                urls=args.url or [],
                known_gender=args.known_gender,
            )
            audit_cli(
                parts.audit,
                "agnosco:AddCelebrity",
                Id=celebrity.celebrity_id,
                Name=celebrity.name,
                Urls=list(celebrity.urls),
                KnownGender=celebrity.known_gender,
                images=[
                    {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                    for _, data in images
                ],
            )
        finally:
            store.close()
    print_json(celebrity.as_dict())


def _list(args: argparse.Namespace) -> None:
    from agnosco.storage.celebrities import CelebrityStore

    with governance(args) as parts:
        store = CelebrityStore(parts.database)
        try:
            print_json([c.as_dict() for c in store.all()])
        finally:
            store.close()


def _remove(args: argparse.Namespace) -> None:
    from agnosco.storage.celebrities import CelebrityStore

    with governance(args) as parts:
        store = CelebrityStore(parts.database)
        try:
            removed = store.remove(args.id)
            audit_cli(
                parts.audit,
                "agnosco:RemoveCelebrity",
                Id=removed.celebrity_id,
                Name=removed.name,
                faces=removed.faces,
            )
        finally:
            store.close()
    print(f"removed {removed.name} ({removed.celebrity_id}) and {removed.faces} face descriptor(s)")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "celebrities",
        help="the public figures RecognizeCelebrities recognizes (add, list, remove)",
        description="The deployment's own public-figures collection: RecognizeCelebrities "
        "recognizes only the people enrolled here (docs/analysis.md).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="enrol a person from images of their face",
        description="Enrol NAME from IMAGEs (JPEG or PNG) that each show exactly one face, "
        "theirs; their descriptors are stored, not the images.",
    )
    add.add_argument("name", metavar="NAME", help="the name RecognizeCelebrities returns")
    add.add_argument("images", metavar="IMAGE", nargs="+", help="JPEG or PNG files of one face")
    add.add_argument(
        "--url",
        action="append",
        metavar="URL",
        help="a page about them (Urls; repeatable)",
    )
    add.add_argument(
        "--known-gender",
        choices=KNOWN_GENDERS,
        default=None,
        help="their gender as you state it (KnownGender; omitted when not given; never inferred)",
    )
    add.set_defaults(run=_add)
    listing = actions.add_parser("list", help="list the celebrities as JSON")
    listing.set_defaults(run=_list)
    remove = actions.add_parser("remove", help="forget a celebrity and their face descriptors")
    remove.add_argument("id", metavar="ID", help="the celebrity's Id (from add or list)")
    remove.set_defaults(run=_remove)
    for action in (add, listing, remove):
        add_state(action)
