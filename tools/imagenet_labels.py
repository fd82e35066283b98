"""Generate ``agnosco/vision/data/imagenet_labels.json``: the ImageNet classes' names, aliases,
parents and categories, from WordNet 3.0.

Inputs:

* Debian's WordNet 3.0 noun database (``/usr/share/wordnet/data.noun``, package
  ``wordnet-base``; Princeton's WordNet 3.0 licence, reproduced in the output).
* ``tools/data/imagenet-1k-synsets.txt``: the 1000 ImageNet-1k classes in the classifier's output
  order, as WordNet synset ids (its header says where the list comes from).

The rules, each applied the same way to every class:

* **Name**: the synset's first lemma, underscores as spaces, each word capitalised (after spaces
  and hyphens) unless it already holds a capital (``iPod``, ``CD Player``): ``golden_retriever``
  is ``Golden Retriever``.  A class whose name another class or an ancestor also has takes its
  first other lemma that no label has (``maillot, tank suit`` is ``Tank Suit``), or else the name
  of its nearest parent in brackets (WordNet's two ``crane`` classes are ``Crane (Wading Bird)``
  and ``Crane (Lifting Device)``).  Ancestors with one name are one label (WordNet has two
  ``food`` synsets, nutrient and solid food: one ``Food`` label, over the classes of both).
* **Aliases**: the synset's other lemmas, named the same way, without scientific names (a lemma
  whose first word is a genus WordNet knows, ``Tinca tinca`` for ``genus Tinca``) and without the
  label's own name.
* **Parents**: every hypernym (``@`` and instance ``@i`` pointers) up to WordNet's root, nearest
  first (breadth first; a synset reached twice counts once at its nearest), without the synsets
  of :data:`EXCLUDED` (over-abstract roots such as entity, physical entity, object, whole,
  artifact, living thing, organism, and the abstract middle nodes such as instrumentality,
  commodity, matter, placental, that no one names a thing in a photo by), whose own ancestors
  are still searched, and without the links of :data:`EXCLUDED_LINKS` (wheeled vehicle ->
  container).  :data:`HYPERNYM_OVERRIDES` lists the classes whose WordNet synset is not
  what ImageNet's images of it show, with the synset whose hypernyms stand in for its own.
* **Categories**: the category of the first synset of :data:`CATEGORY_RULES` met in the label's
  own synset and then its ancestors, nearest first (so an orange, an edible fruit before it is a
  plant organ, is Food and Beverage; an acorn, only a fruit, is Plants and Flowers); a label no
  rule reaches is ``Everyday Objects``.  The category names are Rekognition's (the label
  categories its DetectLabels filters take, as the LabelCategoryInclusionFilters of public client
  code name them: the downloadable label list itself is not available offline here); only the
  ones an ImageNet class can fall in are used.

    python tools/imagenet_labels.py            # write the table
    python tools/imagenet_labels.py --check    # exit 1 if the committed table differs
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDNET = Path("/usr/share/wordnet")
SYNSETS = ROOT / "tools" / "data" / "imagenet-1k-synsets.txt"
OUTPUT = ROOT / "agnosco" / "vision" / "data" / "imagenet_labels.json"
CLASS_LIST_SOURCE = (
    "LOC_synset_mapping.txt (the ILSVRC 2012 class list of the ImageNet Object Localization "
    "Challenge) as committed in github.com/PRIYE/Resnet50_ImageNet1k at commit "
    "ee0c8095e902e439b380a8ca3180fa687eb449b6; ids and first lemmas only "
    "(tools/data/imagenet-1k-synsets.txt)"
)
WORDNET_LICENSE = """WordNet Release 3.0. This software and database is being provided to you, the \
LICENSEE, by Princeton University under the following license. By obtaining, using and/or \
copying this software and database, you agree that you have read, understood, and will comply \
with these terms and conditions.: Permission to use, copy, modify and distribute this software \
and database and its documentation for any purpose and without fee or royalty is hereby \
granted, provided that you agree to comply with the following copyright notice and statements, \
including the disclaimer, and that the same appear on ALL copies of the software, database and \
documentation, including modifications that you make for internal use or for distribution. \
WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND \
DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, \
EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO \
REPRESENTATIONS OR WARRANTIES OF MERCHANT- ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR \
THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD \
PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of Princeton University or \
Princeton may not be used in advertising or publicity pertaining to distribution of the \
software and/or database. Title to copyright in this software, database and any associated \
documentation shall at all times remain with Princeton University and LICENSEE agrees to \
preserve same."""

#: Synsets never reported as parents (offset: first lemma, checked against WordNet): WordNet's
#: roots and the abstract nodes between them and the things a photo shows.
EXCLUDED = {
    "00001740": "entity",
    "00001930": "physical_entity",
    "00002137": "abstraction",
    "00002684": "object",
    "00003553": "whole",
    "00004258": "living_thing",
    "00004475": "organism",
    "00007347": "causal_agent",
    "00019128": "natural_object",
    "00019613": "substance",
    "00020090": "substance",
    "00020827": "matter",
    "00021939": "artifact",
    "00022903": "article",
    "00031921": "relation",
    "00024264": "attribute",
    "00027167": "location",
    "00033020": "communication",
    "03129123": "creation",
    "06254669": "medium",
    "03575240": "instrumentality",
    "03076708": "commodity",
    "03093574": "consumer_goods",
    "03257877": "durables",
    "03892891": "part",
    "13809207": "part",
    "14778436": "agent",
    "03247620": "drug",
    "03248958": "drug_of_abuse",
    "14939900": "fluid",
    "14940386": "liquid",
    "15046900": "solid",
    "11675842": "reproductive_structure",
    "13087625": "plant_organ",
    "13086908": "plant_part",
    "01466257": "chordate",
    "01886756": "placental",
    "01661818": "diapsid",
    "01661592": "anapsid",
    "01873982": "metatherian",
}

#: Classes whose WordNet synset is not what ImageNet's images of it show: the synset whose
#: hypernyms (and so parents and categories) stand in for the class's own, and why.
HYPERNYM_OVERRIDES = {
    # n07930864 is "cup: a punch served in a pitcher instead of a punch bowl" (a drink: its
    # parents would be Punch, Mixed Drink, Alcohol); ImageNet's images of it are cups.
    "07930864": ("03147509", "cup: a small open container usually used for drinking"),
}

#: Hypernym links not followed (child offset, parent offset, why): WordNet files wheeled vehicles
#: under container (a wagon holds its load), which would make every car and bicycle a Container.
EXCLUDED_LINKS = {("04576211", "03094503"): "wheeled_vehicle is not shown as a container"}

#: (synset offset, first lemma, category): the first met, nearest first, gives a label's category.
CATEGORY_RULES = [
    ("00007846", "person", "Person Description"),
    ("01317541", "domestic_animal", "Animals and Pets"),
    ("00015388", "animal", "Animals and Pets"),
    ("07881800", "beverage", "Food and Beverage"),
    ("07705931", "edible_fruit", "Food and Beverage"),
    ("07705711", "produce", "Food and Beverage"),
    ("07707451", "vegetable", "Food and Beverage"),
    ("07557434", "dish", "Food and Beverage"),
    ("07555863", "food", "Food and Beverage"),
    ("00021265", "food", "Food and Beverage"),
    ("12992868", "fungus", "Plants and Flowers"),
    ("13134947", "fruit", "Plants and Flowers"),
    ("13086908", "plant_part", "Plants and Flowers"),
    ("00017222", "plant", "Plants and Flowers"),
    ("09287968", "geological_formation", "Nature and Outdoors"),
    ("09366317", "natural_elevation", "Nature and Outdoors"),
    ("03800933", "musical_instrument", "Hobbies and Interests"),
    ("04285146", "sports_equipment", "Sports"),
    ("03414162", "game_equipment", "Toys and Gaming"),
    ("03964744", "plaything", "Toys and Gaming"),
    ("04565375", "weapon", "Weapons and Military"),
    ("02739668", "armor", "Weapons and Military"),
    ("03764276", "military_vehicle", "Weapons and Military"),
    ("04524313", "vehicle", "Vehicles and Automotive"),
    ("03100490", "conveyance", "Vehicles and Automotive"),
    ("04530566", "vessel", "Vehicles and Automotive"),
    ("03125870", "craft", "Vehicles and Automotive"),
    ("03051540", "clothing", "Apparel and Accessories"),
    ("03380867", "footwear", "Apparel and Accessories"),
    ("03502509", "headdress", "Apparel and Accessories"),
    ("03597469", "jewelry", "Apparel and Accessories"),
    ("04447443", "toiletry", "Beauty and Personal Care"),
    ("03082979", "computer", "Technology and Computing"),
    ("03926148", "photographic_equipment", "Technology and Computing"),
    ("03078287", "communication_system", "Technology and Computing"),
    ("06873571", "visual_signal", "Transport and Logistics"),
    ("04105068", "roof", "Buildings and Architecture"),
    ("03241496", "drinking_vessel", "Kitchen and Dining"),
    ("03278248", "electronic_equipment", "Technology and Computing"),
    ("04401088", "telephone", "Technology and Computing"),
    ("03528263", "home_appliance", "Home Appliances"),
    ("03620052", "kitchen_appliance", "Home Appliances"),
    ("03621049", "kitchen_utensil", "Kitchen and Dining"),
    ("03101986", "cooking_utensil", "Kitchen and Dining"),
    ("04381994", "tableware", "Kitchen and Dining"),
    ("03133538", "crockery", "Kitchen and Dining"),
    ("03405725", "furniture", "Furniture and Furnishings"),
    ("03405265", "furnishing", "Furniture and Furnishings"),
    ("03739693", "medical_instrument", "Medical"),
    ("04451818", "tool", "Tools and Machinery"),
    ("03699975", "machine", "Tools and Machinery"),
    ("03563967", "implement", "Tools and Machinery"),
    ("03738472", "mechanism", "Tools and Machinery"),
    ("03183080", "device", "Tools and Machinery"),
    ("02913152", "building", "Buildings and Architecture"),
    ("04341686", "structure", "Buildings and Architecture"),
    ("03309808", "fabric", "Materials"),
    ("06359193", "web_site", "Technology and Computing"),
    ("06793231", "sign", "Symbols and Flags"),
    ("06470073", "document", "Text and Documents"),
    ("06589574", "publication", "Text and Documents"),
]
FALLBACK_CATEGORY = "Everyday Objects"


@dataclass(frozen=True)
class Synset:
    offset: str
    lemmas: tuple[str, ...]
    hypernyms: tuple[str, ...]


def read_wordnet(data_noun: Path) -> dict[str, Synset]:
    """Every noun synset of WordNet's ``data.noun``: lemmas and hypernym pointers."""
    synsets = {}
    with data_noun.open(encoding="utf-8") as file:
        for line in file:
            if line.startswith("  "):  # the licence header
                continue
            fields = line.split(" | ")[0].split()
            offset, count = fields[0], int(fields[3], 16)
            lemmas = tuple(fields[4 + 2 * i] for i in range(count))
            at = 4 + 2 * count
            hypernyms = []
            for k in range(int(fields[at])):
                symbol, target, pos = fields[at + 1 + 4 * k : at + 4 + 4 * k]
                if symbol in ("@", "@i") and pos == "n":
                    hypernyms.append(target)
            synsets[offset] = Synset(offset, lemmas, tuple(hypernyms))
    return synsets


def read_classes(path: Path, wordnet: dict[str, Synset]) -> list[str]:
    """The class list's synset offsets, checked against WordNet."""
    rows = [line.split(" ", 1) for line in path.read_text().splitlines() if line[:1] == "n"]
    offsets = [wnid[1:] for wnid, _ in rows]
    if len(offsets) != 1000 or len(set(offsets)) != 1000 or offsets != sorted(offsets):
        raise SystemExit(f"{path}: not 1000 distinct sorted synset ids")
    for (wnid, lemma), offset in zip(rows, offsets):
        if offset not in wordnet or wordnet[offset].lemmas[0].replace("_", " ") != lemma:
            raise SystemExit(f"{path}: {wnid} {lemma!r} is not that WordNet 3.0 synset")
    return offsets


def label_name(lemma: str) -> str:
    words = lemma.replace("_", " ").split(" ")

    def cap(word: str) -> str:
        if any(ch.isupper() for ch in word):
            return word
        return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))

    return " ".join(cap(w) for w in words)


def ancestors(offset: str, wordnet: dict[str, Synset]) -> list[str]:
    """Every hypernym of ``offset``, nearest first (breadth first, each once)."""
    seen: dict[str, None] = {}
    queue = deque(p for p in wordnet[offset].hypernyms if (offset, p) not in EXCLUDED_LINKS)
    while queue:
        h = queue.popleft()
        if h in seen:
            continue
        seen[h] = None
        queue.extend(p for p in wordnet[h].hypernyms if (h, p) not in EXCLUDED_LINKS)
    return list(seen)


def category(chain: list[str]) -> str:
    rules = {offset: name for offset, _, name in CATEGORY_RULES}
    for offset in chain:
        if offset in rules:
            return rules[offset]
    return FALLBACK_CATEGORY


def generate(data_noun: Path = WORDNET / "data.noun", synsets: Path = SYNSETS) -> dict[str, object]:
    wordnet = read_wordnet(data_noun)
    for table in (EXCLUDED, {o: lemma for o, lemma, _ in CATEGORY_RULES}):
        for offset, lemma in table.items():
            if wordnet[offset].lemmas[0] != lemma:
                raise SystemExit(f"{offset} is {wordnet[offset].lemmas[0]!r}, not {lemma!r}")
    for offset, (stand_in, _) in HYPERNYM_OVERRIDES.items():
        if wordnet[offset].lemmas[0] != wordnet[stand_in].lemmas[0]:
            raise SystemExit(f"override {offset} -> {stand_in}: not the same word")
    classes = read_classes(synsets, wordnet)
    genera = {
        lemma[len("genus_") :]
        for s in wordnet.values()
        for lemma in s.lemmas
        if lemma.startswith("genus_")
    }

    def hierarchy(offset: str) -> list[str]:
        source = HYPERNYM_OVERRIDES.get(offset, (offset, ""))[0]
        return ancestors(source, wordnet)

    chains = {offset: hierarchy(offset) for offset in classes}
    parent_offsets = sorted({a for chain in chains.values() for a in chain if a not in EXCLUDED})
    ancestor_names = {label_name(wordnet[o].lemmas[0]) for o in parent_offsets}

    # class names, disambiguated
    first = {o: label_name(wordnet[o].lemmas[0]) for o in classes}
    taken = sorted(first.values())
    names: dict[str, str] = {}
    for o in classes:
        name = first[o]
        if taken.count(name) > 1 or name in ancestor_names:
            others = [label_name(lemma) for lemma in wordnet[o].lemmas[1:]]
            unique = [n for n in others if n not in taken and n not in ancestor_names]
            if unique:
                name = unique[0]
            else:
                nearest = next(a for a in chains[o] if a not in EXCLUDED)
                name = f"{name} ({label_name(wordnet[nearest].lemmas[0])})"
        names[o] = name
    if len(set(names.values())) != len(classes):
        raise SystemExit("class names are not unique")

    def aliases(synset_offsets: list[str], own: str) -> list[str]:
        out: list[str] = []
        for o in synset_offsets:
            for lemma in wordnet[o].lemmas:
                words = lemma.split("_")
                if len(words) > 1 and words[0] in genera:
                    continue  # a scientific name
                alias = label_name(lemma)
                if alias != own and alias not in out:
                    out.append(alias)
        return out

    def parents(chain: list[str]) -> list[str]:
        out: list[str] = []
        for a in chain:
            if a not in EXCLUDED and label_name(wordnet[a].lemmas[0]) not in out:
                out.append(label_name(wordnet[a].lemmas[0]))
        return out

    labels = [
        {
            "name": names[o],
            "wnids": [f"n{o}"],
            "aliases": aliases([o], names[o]),
            "parents": parents(chains[o]),
            "categories": [category([o, *chains[o]])],
        }
        for o in classes
    ]
    # ancestors, one label per name (in offset order, so the table is stable)
    by_name: dict[str, list[str]] = {}
    for o in parent_offsets:
        by_name.setdefault(label_name(wordnet[o].lemmas[0]), []).append(o)
    for name in sorted(by_name):
        group = by_name[name]
        merged: list[str] = []
        for o in group:
            for a in ancestors(o, wordnet):
                if a not in merged:
                    merged.append(a)
        # nearest first across the group: by the distance from the group's nearest member
        labels.append(
            {
                "name": name,
                "wnids": [f"n{o}" for o in group],
                "aliases": aliases(group, name),
                "parents": [p for p in parents(merged) if p != name],
                "categories": [category([group[0], *merged])],
            }
        )
    return {
        "about": (
            "The ImageNet-1k classes of agnosco/vision/imagenet.py (in the classifier's output "
            "order) and their WordNet 3.0 ancestors as DetectLabels labels: name, aliases, "
            "parents (nearest first), categories. Generated by tools/imagenet_labels.py from "
            "Debian's WordNet 3.0 (wordnet-base, /usr/share/wordnet/data.noun) and the class "
            f"list {CLASS_LIST_SOURCE}; do not edit by hand."
        ),
        "wordnet_license": WORDNET_LICENSE,
        "classes": [f"n{o}" for o in classes],
        "labels": labels,
    }


def render(table: dict[str, object]) -> str:
    """The table as JSON, one label a line (readable diffs when WordNet or a rule changes)."""
    head = {k: v for k, v in table.items() if k != "labels"}
    lines = [json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ","]
    labels = table["labels"]
    assert isinstance(labels, list)
    rows = [json.dumps(label, ensure_ascii=False) for label in labels]
    lines.append(' "labels": [\n  ' + ",\n  ".join(rows) + "\n ]\n}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed table")
    args = parser.parse_args()
    text = render(generate())
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUTPUT.relative_to(ROOT)} is not what {Path(__file__).name} generates")
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
