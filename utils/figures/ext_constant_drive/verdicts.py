"""What judges the figure: the check of its claim (data/claims.yaml), on its typed results."""
from __future__ import annotations

import numpy as np

from ...claims import Check, Params, Verdict, fmt
from .models import CONSTANT_DRIVE_MODELS
from .results import ConstantDriveResults


def check_ext_constant_drive(r: ConstantDriveResults, p: Params) -> Verdict:
    default, as_written = list(CONSTANT_DRIVE_MODELS)[:2]
    ok, parts, per_seed = True, [], {}
    for short, by_model in (("SP", r.spatial), ("HD", r.head_direction)):
        def p99_ratio(label):
            m = by_model[label]
            return {s: q / m.steps_active["p99"].per_seed[s] for s, q in m.steps_quiescent["p99"].per_seed.items()}
        homogeneous = by_model[as_written].homogeneity_error["2"].per_seed
        broken = by_model[default].homogeneity_error["2"].per_seed
        smooth, jumpy = p99_ratio(default), p99_ratio(as_written)
        ok &= (all(v <= p["max_error_without_bias"] for v in homogeneous.values())
               and all(v >= p["min_error_with_bias"] for v in broken.values())
               and all(v <= p["max_p99_ratio"] for v in smooth.values()))
        parts.append(f"{short}: homogeneity error without bias {fmt(max(homogeneous.values()))}, with bias "
                     f"{fmt(min(broken.values()))}; p99 step q/a with bias {fmt(np.mean(list(smooth.values())))}, "
                     f"without {fmt(np.mean(list(jumpy.values())))}")
        for s in smooth:
            per_seed[f"{short} {s}"] = (f"error {fmt(homogeneous[s])} / {fmt(broken[s])}, "
                                        f"p99 q/a {fmt(smooth[s])} / {fmt(jumpy[s])}")
    return Verdict(ok, "; ".join(parts), per_seed)


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-constant-drive": check_ext_constant_drive}

__all__ = ["check_ext_constant_drive", "CHECKS"]
