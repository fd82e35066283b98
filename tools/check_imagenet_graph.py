"""Check Agnosco's ONNX MobileNetV2 (``agnosco/vision/imagenet.py``) against torch, and write the
reference fixture the tests compare with (``tests/vision/data/imagenet-reference.json``).

Agnosco never imports torch: it reads torchvision's weights itself and writes the network as an
ONNX graph.  This script defines torchvision's MobileNetV2 in plain torch (torchvision does not
work here; the definition follows torchvision's ``models/mobilenetv2.py``: ConvBNReLU6 blocks,
inverted residuals, dropout and a linear classifier), loads the same ``.pth`` with
``torch.load``, and runs both networks on the same preprocessed input for a few shared images.
It prints the largest logit difference and whether the top-5 classes agree, and with ``--write``
writes, per image, torch's top-5 class indices and logits (the fixture is torch's answer, not
the ONNX graph's).

torch is not a dependency of Agnosco: run this in a throwaway virtualenv that sees the shared
packages (torch 2.13.0 CPU installs offline here):

    python -m venv --system-site-packages /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0
    PYTHONPATH=. /tmp/torchvenv/bin/python tools/check_imagenet_graph.py [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agnosco.vision import imagenet
from tests.conftest import SHARED_DATA

FIXTURE = ROOT / "tests" / "vision" / "data" / "imagenet-reference.json"
#: Shared images with one obvious object, a person, and a group (paths under ../shared/data).
IMAGES = [
    "no-faces/images/coffee.png",
    "no-faces/images/motorcycle_left.png",
    "no-faces/images/toy_dinosaurs.jpg",
    "no-faces/images/horse.png",
    "deepface-pairs/images/img1.jpg",
    "crowds/volleyball-team.jpg",
]


def torch_mobilenet_v2() -> object:
    import torch
    from torch import nn

    class ConvBNReLU(nn.Sequential):
        def __init__(self, inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1):
            super().__init__(
                nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU6(inplace=True),
            )

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, out: int, stride: int, expand: int):
            super().__init__()
            hidden = inp * expand
            self.use_res_connect = stride == 1 and inp == out
            layers: list[nn.Module] = []
            if expand != 1:
                layers.append(ConvBNReLU(inp, hidden, kernel=1))
            layers += [
                ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
                nn.Conv2d(hidden, out, 1, 1, 0, bias=False),
                nn.BatchNorm2d(out),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            features: list[nn.Module] = [ConvBNReLU(3, imagenet.FIRST_CHANNELS, stride=2)]
            channels = imagenet.FIRST_CHANNELS
            for t, c, n, s in imagenet.INVERTED_RESIDUAL_SETTING:
                for i in range(n):
                    features.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
                    channels = c
            features.append(ConvBNReLU(channels, imagenet.LAST_CHANNELS, kernel=1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(
                nn.Dropout(0.2), nn.Linear(imagenet.LAST_CHANNELS, imagenet.CLASSES)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.features(x)
            x = nn.functional.adaptive_avg_pool2d(x, 1).reshape(x.shape[0], -1)
            return self.classifier(x)

    net = MobileNetV2()
    net.load_state_dict(torch.load(imagenet.weights_path(), map_location="cpu", weights_only=True))
    return net.eval()


def torchvision_input(pixels: np.ndarray) -> np.ndarray:
    """torchvision's Resize(256) + CenterCrop(224) on a PIL image, step by step (the reference
    for ``imagenet.preprocess``, which takes the crop in one resize)."""
    image = Image.fromarray(pixels)
    w, h = image.size
    size = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = round((size[0] - 224) / 2.0), round((size[1] - 224) / 2.0)
    image = image.crop((left, top, left + 224, top + 224))
    x = (np.asarray(image, dtype=np.float32) / 255.0 - imagenet.MEAN) / imagenet.STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {FIXTURE.relative_to(ROOT)}")
    args = parser.parse_args()
    import torch

    net = torch_mobilenet_v2()
    ours = imagenet.session(
        imagenet.build_graph(imagenet.read_torch_weights(imagenet.weights_path()))
    )
    table = imagenet.taxonomy() if imagenet.TABLE.is_file() else None
    fixture = []
    worst = 0.0
    for name in IMAGES:
        pixels = np.asarray(Image.open(SHARED_DATA / name).convert("RGB"))
        x = imagenet.preprocess(pixels)
        x_ref = torchvision_input(pixels)
        with torch.no_grad():
            ref = net(torch.from_numpy(x)).numpy()[0]
            ref_tv = net(torch.from_numpy(x_ref)).numpy()[0]
        got = ours.run(["logits"], {"pixels": x})[0][0]
        diff = float(np.max(np.abs(got - ref)))
        worst = max(worst, diff)
        top = np.argsort(-ref)[:5]
        same = list(np.argsort(-got)[:5]) == list(top)
        print(
            f"{name:40} max |logit diff| {diff:.2e}  top-5 agree {same}  "
            f"input vs resize+crop max {float(np.max(np.abs(x - x_ref))):.3f} "
            f"(top-1 {int(np.argmax(ref_tv))} vs {int(top[0])})  "
            f"top-1 {table.names[int(top[0])] if table else int(top[0])}"
        )
        fixture.append(
            {"image": name, "top5": [int(i) for i in top], "logits": [float(ref[i]) for i in top]}
        )
    print(f"largest logit difference {worst:.2e}")
    if args.write:
        FIXTURE.write_text(
            json.dumps(
                {
                    "about": "torch 2.13.0's logits for torchvision's MobileNetV2 "
                    "(mobilenet_v2-b0353104.pth) on imagenet.preprocess(image): the top 5 "
                    "classes of each image; written by tools/check_imagenet_graph.py --write",
                    "images": fixture,
                },
                indent=1,
            )
            + "\n"
        )
        print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
