"""A report as versions before ``null`` wrote it, for the tests that read stored reports.

Written by ``agnosco evaluate`` of that time (``metrics.to_jsonable``) on 41 images of different
people in three ``tone`` groups: "medium" has a single image, so no pairs; "dark" impostor pairs
score high and "light" ones never reach 80, so the FMR ratio at 80 is unbounded.  Trimmed to one
or two entries per list.  It has every older form: ``"nan"`` for what could not be measured
(rates without trials, rank-1 and the CMC without mated probes, ratios), ``"inf"`` for the
unbounded ratio, and no ``det``/``eer``/``auc`` or target ``fnmr`` (there are no genuine pairs).
"""

from __future__ import annotations

OLDER_REPORT = """\
{
  "agnosco_version": "0.1.0",
  "created": "2026-12-01T10:00:00+00:00",
  "mode": "in-process",
  "model": {
    "descriptor": "dlib_face_recognition_resnet_model_v1",
    "face_model_version": "1.0",
    "calibration_version": "test-calibration"
  },
  "dataset": {
    "source": "/data/faces/labels.csv",
    "fingerprint": "ca8d93be8d2a5a18",
    "samples": 41,
    "identities": 0,
    "group_columns": ["tone"],
    "pairs_source": "every pair of enrolled images (each unlabelled image a different person)"
  },
  "thresholds": {
    "deployed": 80.0,
    "similarity_points": [80.0, 90.0, 95.0, 99.0],
    "ratio_limit": 2.0
  },
  "enrolment": {
    "overall": {"errors": 0, "trials": 41, "rate": 0.0, "low": 0.0, "high": 0.08566757018443183},
    "reasons": {},
    "failed": [],
    "by_group": {
      "tone": {
        "light": {"errors": 0, "trials": 20, "rate": 0.0, "low": 0.0, "high": 0.16112515805281935},
        "dark": {"errors": 0, "trials": 20, "rate": 0.0, "low": 0.0, "high": 0.16112515805281935},
        "medium": {"errors": 0, "trials": 1, "rate": 0.0, "low": 0.0, "high": 0.7934506856227626}
      }
    }
  },
  "verification": {
    "genuine_pairs": 0,
    "impostor_pairs": 820,
    "pairs_lost_to_enrolment": 0,
    "at_similarity": [
      {
        "threshold": 80.0,
        "fmr": {
          "errors": 55,
          "trials": 820,
          "rate": 0.06707317073170732,
          "low": 0.05189153902330352,
          "high": 0.08629215833960291
        },
        "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0},
        "accuracy": 0.9329268292682927,
        "accuracy_low": 0.9137078416603972,
        "accuracy_high": 0.9481084609766965
      }
    ],
    "at_target_fmr": [
      {
        "target": {
          "target_fmr": 0.01,
          "threshold": 87.36129226115426,
          "achieved_fmr": 0.00975609756097561,
          "impostors": 820,
          "required_impostors": 300,
          "supported": true,
          "note": ""
        }
      },
      {
        "target": {
          "target_fmr": 0.001,
          "threshold": 94.74991048148513,
          "achieved_fmr": 0.0,
          "impostors": 820,
          "required_impostors": 3000,
          "supported": false,
          "note": "820 impostor pairs cannot resolve FMR 0.001: at least 3000 = ceil(3/0.001) are needed (rule of three: n error-free trials bound the rate only below ~3/n)"
        }
      }
    ],
    "folds": {}
  },
  "identification": {
    "gallery_images": 21,
    "result": {
      "probes": 20,
      "mated": 0,
      "non_mated": 20,
      "identities": 21,
      "rank1": "nan",
      "rank1_low": 0.0,
      "rank1_high": 1.0,
      "cmc": ["nan", "nan", "nan"],
      "points": [
        {
          "threshold": 80.0,
          "fnir": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0},
          "fpir": {
            "errors": 5,
            "trials": 20,
            "rate": 0.25,
            "low": 0.11186170140766566,
            "high": 0.46870087761874396
          },
          "false_candidates_per_probe": 1.15
        }
      ],
      "at_fpir": [
        {
          "target_fpir": 0.003,
          "threshold": 87.82073288175293,
          "achieved_fpir": 0.0,
          "fnir": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0},
          "supported": false,
          "note": "20 non-mated probes cannot resolve FPIR 0.003: at least 1000 = ceil(3/0.003) are needed (rule of three: n error-free trials bound the rate only below ~3/n)"
        }
      ]
    },
    "deployed_threshold": 80.0
  },
  "groups": {
    "tone": {
      "at_deployed": {
        "threshold": 80.0,
        "ratio_limit": 2.0,
        "min_trials": 30,
        "groups": {
          "dark": {
            "fmr": {
              "errors": 55,
              "trials": 190,
              "rate": 0.2894736842105263,
              "low": 0.22966572359718762,
              "high": 0.3576258677542733
            },
            "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0}
          },
          "light": {
            "fmr": {"errors": 0, "trials": 190, "rate": 0.0, "low": 0.0, "high": 0.019817529459719575},
            "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0}
          },
          "medium": {
            "fmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0},
            "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0}
          }
        },
        "fmr": {
          "ratio": "inf",
          "worst_group": "dark",
          "best_group": "light",
          "included": ["dark", "light"],
          "excluded": ["medium"],
          "flagged": true,
          "note": "group 'light' has no errors in 190 impostor trials, so the ratio is unbounded; compare the groups' upper bounds instead"
        },
        "fnmr": {
          "ratio": "nan",
          "worst_group": null,
          "best_group": null,
          "included": [],
          "excluded": ["dark", "light", "medium"],
          "flagged": false,
          "note": "fewer than two groups with at least 30 genuine trials"
        }
      },
      "at_99": {
        "threshold": 99.0,
        "ratio_limit": 2.0,
        "min_trials": 30,
        "groups": {
          "dark": {
            "fmr": {"errors": 0, "trials": 190, "rate": 0.0, "low": 0.0, "high": 0.019817529459719575},
            "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0}
          },
          "light": {
            "fmr": {"errors": 0, "trials": 190, "rate": 0.0, "low": 0.0, "high": 0.019817529459719575},
            "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0}
          },
          "medium": {
            "fmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0},
            "fnmr": {"errors": 0, "trials": 0, "rate": "nan", "low": 0.0, "high": 1.0}
          }
        },
        "fmr": {
          "ratio": "nan",
          "worst_group": null,
          "best_group": null,
          "included": ["dark", "light"],
          "excluded": ["medium"],
          "flagged": false,
          "note": "no impostor errors in any compared group"
        },
        "fnmr": {
          "ratio": "nan",
          "worst_group": null,
          "best_group": null,
          "included": [],
          "excluded": ["dark", "light", "medium"],
          "flagged": false,
          "note": "fewer than two groups with at least 30 genuine trials"
        }
      }
    },
    "worst_group_fmr": [
      {"threshold": 80.0, "fmr": 0.2894736842105263, "column": "tone", "group": "dark"},
      {"threshold": 99.0, "fmr": 0.0, "column": "tone", "group": "dark"}
    ]
  },
  "flags": [
    "FMR differs across tone groups by without bound (the best group had no errors) at Similarity 80 (worst: dark, best: light; limit 2x)",
    "820 impostor pairs cannot resolve FMR 0.001: at least 3000 = ceil(3/0.001) are needed (rule of three: n error-free trials bound the rate only below ~3/n)"
  ]
}
"""
