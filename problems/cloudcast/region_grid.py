"""The region grid Cloudcast routes over: a synthetic grid with the structure of the public Skyplane
grid (seeded), or a real grid read from Skyplane's CSV profiles (cost.csv and throughput.csv).

A grid is the `network` dict the candidate receives:
    {"regions": [{"name", "provider", "continent", "egress_gbps", "ingress_gbps",
                  "vm_usd_per_hour"}, ...],
     "edges": [{"src": u, "dst": v, "usd_per_gb": price, "gbps": throughput}, ...]}
"""

from __future__ import annotations

import csv
import math
import os
import random
from pathlib import Path
from typing import Any

DATA_ENV = "ADRS_DATA_DIR"  # a folder holding a real grid to use instead of the synthetic one
# Per-VM network caps in Gbps (the public Cloudcast evaluator's) and an on-demand price for one
# large VM per region (m5.8xlarge, n2-standard-32, D32 v5 class).
VM_EGRESS_GBPS = {"aws": 5.0, "gcp": 7.0, "azure": 16.0}
VM_INGRESS_GBPS = {"aws": 10.0, "gcp": 16.0, "azure": 16.0}
VM_USD_PER_HOUR = {"aws": 1.54, "gcp": 1.55, "azure": 1.52}

# 30 regions of three providers (real names). The synthetic grid's prices follow the rules of the
# public Skyplane price grid (2022): the price depends on the sending region and on whether the
# data stays inside its provider, not on the distance the data travels.
REGIONS: tuple[tuple[str, str, str], ...] = (  # (provider, region, continent)
    ("aws", "us-east-1", "na"), ("aws", "us-east-2", "na"), ("aws", "us-west-1", "na"),
    ("aws", "us-west-2", "na"), ("aws", "ca-central-1", "na"), ("aws", "eu-west-1", "eu"),
    ("aws", "eu-central-1", "eu"), ("aws", "eu-north-1", "eu"), ("aws", "ap-northeast-1", "asia"),
    ("aws", "ap-southeast-1", "asia"), ("aws", "sa-east-1", "sa"),
    ("gcp", "us-central1", "na"), ("gcp", "us-east1", "na"), ("gcp", "us-west1", "na"),
    ("gcp", "northamerica-northeast1", "na"), ("gcp", "europe-west1", "eu"),
    ("gcp", "europe-west4", "eu"), ("gcp", "asia-east1", "asia"),
    ("gcp", "asia-northeast1", "asia"),
    ("gcp", "australia-southeast1", "oc"), ("gcp", "southamerica-east1", "sa"),
    ("azure", "eastus", "na"), ("azure", "westus2", "na"), ("azure", "canadacentral", "na"),
    ("azure", "northeurope", "eu"), ("azure", "westeurope", "eu"), ("azure", "uksouth", "eu"),
    ("azure", "japaneast", "asia"), ("azure", "southeastasia", "asia"),
    ("azure", "australiaeast", "oc"),
)
# AWS charges by the sending region: (to another AWS region, to another provider), $/GB. North
# America and Europe send cheaply inside AWS; Asia and South America do not.
AWS_USD_PER_GB = {"na": (0.02, 0.09), "eu": (0.02, 0.09), "asia": (0.09, 0.114),
                  "oc": (0.098, 0.114), "sa": (0.138, 0.15)}
# GCP: inside GCP by continent ($0.01 in North America, 0.02 in Europe, 0.05 elsewhere), 0.08
# between continents, 0.15 into Oceania; 0.12 to another provider (0.19 into Oceania).
GCP_SAME_CONTINENT_USD_PER_GB = {"na": 0.01, "eu": 0.02}
GCP_USD_PER_GB = {"same_other": 0.05, "other_continent": 0.08, "into_oc": 0.15,
                  "internet": 0.12, "internet_oc": 0.19}
# Azure: inside Azure 0.02 on one continent, 0.05 between; to another provider 0.0875 (0.12 from
# Asia and Oceania).
AZURE_USD_PER_GB = {"same_continent": 0.02, "other_continent": 0.05, "internet": 0.0875,
                    "internet_far": 0.12}
# Throughput is bound by the sender's and the receiver's VM caps and, between continents, by
# distance: measured Skyplane figures are the caps on one continent (AWS ~5, GCP ~7, Azure ~15
# Gbps), about 4-5.5 Gbps between neighbouring continents and 1-3.5 Gbps between far ones.
NEAR_CONTINENTS = {frozenset(pair) for pair in
                   (("na", "eu"), ("na", "sa"), ("na", "asia"), ("asia", "oc"))}
NEAR_GBPS, FAR_GBPS = 5.5, 2.5
GBPS_SIGMA = 0.15  # lognormal spread of a measured throughput below its bound


def synthetic_network(rng: random.Random) -> dict[str, Any]:
    """A complete directed grid over REGIONS with rule-based prices and seeded throughputs."""
    regions = [_region(provider, name, continent) for provider, name, continent in REGIONS]
    edges = [{"src": u, "dst": v, "usd_per_gb": price(a, b), "gbps": round(_gbps(a, b, rng), 3)}
             for u, a in enumerate(regions) for v, b in enumerate(regions) if u != v]
    return {"regions": regions, "edges": edges}


def _region(provider: str, name: str, continent: str) -> dict[str, Any]:
    return {"name": f"{provider}:{name}", "provider": provider, "continent": continent,
            "egress_gbps": VM_EGRESS_GBPS[provider], "ingress_gbps": VM_INGRESS_GBPS[provider],
            "vm_usd_per_hour": VM_USD_PER_HOUR[provider]}


def price(a: dict, b: dict) -> float:
    """Egress $/GB from region a to region b under the public grid's rules."""
    provider, here, there = a["provider"], a["continent"], b["continent"]
    inside = provider == b["provider"]
    if provider == "aws":
        return AWS_USD_PER_GB[here][0 if inside else 1]
    if provider == "gcp":
        if not inside:
            return GCP_USD_PER_GB["internet_oc" if there == "oc" else "internet"]
        if here == there:
            return GCP_SAME_CONTINENT_USD_PER_GB.get(here, GCP_USD_PER_GB["same_other"])
        return GCP_USD_PER_GB["into_oc" if there == "oc" else "other_continent"]
    if inside:
        return AZURE_USD_PER_GB["same_continent" if here == there else "other_continent"]
    return AZURE_USD_PER_GB["internet_far" if here in ("asia", "oc") else "internet"]


def _gbps(a: dict, b: dict, rng: random.Random) -> float:
    bound = min(a["egress_gbps"], b["ingress_gbps"])
    if a["continent"] != b["continent"]:
        near = frozenset((a["continent"], b["continent"])) in NEAR_CONTINENTS
        bound = min(bound, NEAR_GBPS if near else FAR_GBPS)
    return bound * min(1.0, rng.lognormvariate(-GBPS_SIGMA / 2, GBPS_SIGMA))


# --- a real grid in Skyplane's CSV layout -------------------------------------------------------

class GridError(ValueError):
    """A grid file that cannot be used; the message is one line naming it."""


def data_dir() -> Path | None:
    """The folder of a real grid named by $ADRS_DATA_DIR, or None for the synthetic grid."""
    root = os.environ.get(DATA_ENV)
    return Path(root) if root else None


# Continents of real region names: AWS-style prefixes first, then words of GCP and Azure names.
CONTINENT_PREFIXES = (("ap-southeast-2", "oc"), ("ap-southeast-4", "oc"), ("us-", "na"),
                      ("ca-", "na"), ("sa-", "sa"), ("eu-", "eu"), ("ap-", "asia"), ("me-", "me"),
                      ("il-", "me"), ("af-", "af"))
CONTINENT_WORDS = (
    ("australia", "oc"), ("southamerica", "sa"), ("brazil", "sa"), ("africa", "af"),
    ("northamerica", "na"), ("canada", "na"), ("europe", "eu"), ("uk", "eu"), ("france", "eu"),
    ("germany", "eu"), ("norway", "eu"), ("switzerland", "eu"), ("sweden", "eu"),
    ("poland", "eu"), ("italy", "eu"), ("spain", "eu"), ("asia", "asia"), ("japan", "asia"),
    ("korea", "asia"), ("india", "asia"), ("uae", "me"), ("qatar", "me"), ("israel", "me"),
    ("us", "na"),
)


def continent_of(region: str) -> str:
    """Best guess of a real region's continent from its name ("other" when unknown)."""
    name = region.split(":", 1)[-1].lower()
    return next((c for prefix, c in CONTINENT_PREFIXES if name.startswith(prefix)),
                next((c for word, c in CONTINENT_WORDS if word in name), "other"))


def read_grid(folder: Path) -> tuple[dict[str, Any], str]:
    """The grid of Skyplane's profiles in `folder`: cost.csv (columns src, dest, cost in $/GB) and
    throughput.csv (columns src_region, dst_region, throughput_sent in bits per second). An edge
    is a pair of AWS, GCP or Azure regions ("provider:region") present in both files. Returns the
    network and a one-line description (which counts the rows left out)."""
    prices = _read_csv(folder / "cost.csv", ("src", "dest", "cost"))
    speeds = _read_csv(folder / "throughput.csv", ("src_region", "dst_region", "throughput_sent"))
    known = {pair: gbps for pair, gbps in speeds.items() if pair[0] != pair[1]
             and all(name.split(":", 1)[0] in VM_EGRESS_GBPS for name in pair)}
    pairs = sorted(pair for pair in known if pair in prices)
    names = sorted({name for pair in pairs for name in pair})
    if len(names) < 2:
        raise GridError(f"{folder}: no pair of aws:, gcp: or azure: regions has both a price in "
                        "cost.csv and a throughput in throughput.csv")
    index = {name: i for i, name in enumerate(names)}
    regions = [_region(n.split(":", 1)[0], n.split(":", 1)[1], continent_of(n)) for n in names]
    edges = [{"src": index[u], "dst": index[v], "usd_per_gb": prices[(u, v)],
              "gbps": round(known[(u, v)] / 1e9, 3)} for u, v in pairs]
    loops = sum(1 for u, v in speeds if u == v)
    skipped = [(len(speeds) - loops - len(known), "of other providers"),
               (len(known) - len(pairs), "without a price")]
    note = "".join(f", {n} throughput rows {why} ignored" for n, why in skipped if n)
    return {"regions": regions, "edges": edges}, \
        f"{folder}: {len(regions)} regions, {len(edges)} edges{note}"


def _read_csv(path: Path, columns: tuple[str, str, str]) -> dict[tuple[str, str], float]:
    """(first column, second column) -> the third, a finite number >= 0 (> 0 for throughput)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise GridError(f"{path}: missing columns {missing} (Skyplane layout: "
                                f"{', '.join(columns)}, ...)")
            out = {}
            for line, row in enumerate(reader, start=2):
                value = _number(row[columns[2]])
                if value is None or value < 0 or (value == 0 and columns[2] != "cost"):
                    raise GridError(f"{path}: line {line}: {columns[2]} is "
                                    f"{row[columns[2]]!r:.30}; expected a positive number")
                out[(row[columns[0]], row[columns[1]])] = value
            return out
    except OSError as exc:
        raise GridError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GridError(f"{path}: not a CSV file ({str(exc).splitlines()[0][:120]})") from None


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None
