"""Supply: MTIA cadence and ramps, the mix of vendor generations in volume, deal schedules, and
the split of each quarter's purchases between suppliers.

Small pure functions on numpy arrays; a leading ``draw`` axis is carried through, the
``quarter`` axis is always last (quarter index ``t`` from 2022Q1 = 0).

>>> mtia_release_quarter(np.arange(4), first_release=15.0, cadence=2.0, slip=0.0)
array([15., 17., 19., 21.])
>>> production_ramp(np.arange(15, 20), volume_start=16.0, ramp=2.0)
array([0. , 0.5, 1. , 1. , 1. ])
"""

import numpy as np

from .stockflow import capped_ratio

__all__ = ["mtia_release_quarter", "production_ramp", "newest_first_weights", "spend_profile",
           "newest_generation_mask", "generation_mix", "split_purchases"]


# --------------------------------------------------------------------------- cadence


def mtia_release_quarter(order, first_release, cadence, slip):
    """Release quarter of the MTIA generation with roadmap position ``order`` (0 = MTIA 300).

    ``first_release + order * cadence + (order + 1) * slip``: the slip accumulates, so a later
    generation is later by every earlier slip. [quarter index]
    """
    order = np.asarray(order, float)
    return first_release + order * cadence + (order + 1.0) * slip


def production_ramp(quarter_index, volume_start, ramp):
    """Fraction of full supply reached in quarter ``quarter_index`` (linear ramp). [1]

    0 before ``volume_start``; ``1 / ramp`` in the quarter volume starts; 1 after ``ramp`` quarters.
    """
    return np.clip((np.asarray(quarter_index, float) - volume_start + 1.0) / ramp, 0.0, 1.0)


def newest_first_weights(ramps, eligible):
    """Share of a workload's in-house purchases going to each generation. [1]

    A generation takes over from older ones as it ramps: generation ``k`` gets
    ``r_k * prod_{j > k, eligible} (1 - r_j)``. The weights of a workload sum to its MTIA
    availability ``1 - prod_k (1 - r_k)`` (0 before any eligible generation is in volume).

    ramps : (..., K, Q), generations ordered oldest to newest
    eligible : (K, W) bool
    returns : (..., K, W, Q)
    """
    r = ramps[..., :, None, :] * np.asarray(eligible, float)[:, :, None]
    keep = 1.0 - r
    # product over strictly newer generations: reverse cumulative product, shifted by one
    newer = np.cumprod(keep[..., ::-1, :, :], axis=-3)[..., ::-1, :, :]
    newer = np.concatenate([newer[..., 1:, :, :], np.ones_like(newer[..., :1, :, :])], axis=-3)
    return r * newer


def spend_profile(quarter_index, end, duration):
    """Fraction of a spend spread evenly over ``[end - duration, end)`` falling in each quarter. [1]

    Sums to 1 over quarters that cover the whole interval.

    >>> spend_profile(np.arange(4), end=3.0, duration=2.0)
    array([0. , 0.5, 0.5, 0. ])
    """
    t = np.asarray(quarter_index, float)
    overlap = np.minimum(t + 1.0, end) - np.maximum(t, end - duration)
    return np.clip(overlap, 0.0, None) / duration


def newest_generation_mask(first_volume_index, n_quarters):
    """One-hot (G, Q): the generation with the latest volume start at or before each quarter.

    Ties go to the later generation in the given order. Quarters before any volume start fall
    back to the earliest generation. [bool]
    """
    first = np.asarray(first_volume_index, float)
    mask = np.zeros((first.size, n_quarters), dtype=bool)
    for t in range(n_quarters):
        ok = np.flatnonzero(first <= t)
        if ok.size == 0:
            ok = np.array([int(np.argmin(first))])
        best = ok[first[ok] == first[ok].max()][-1]
        mask[best, t] = True
    return mask


# --------------------------------------------------------------------------- procurement


def split_purchases(demand_h100e, target_share, weights, mtia_factor, nvidia_factor, supply_cap_units,
                    nvidia_min_units, demand_share, committed_h100e=None):
    """Split new purchases between MTIA generations and the newest Nvidia generation.

    Policy, per quarter: (1) each workload puts ``target_share x availability`` of its H100e demand
    on MTIA, spread over generations by ``weights``; (2) if the MTIA units exceed
    ``supply_cap_units`` all MTIA purchases are scaled down to the cap; (3) the rest goes to Nvidia;
    (4) if Nvidia units fall below ``nvidia_min_units``, Nvidia displaces MTIA purchases
    proportionally, and if that is not enough Meta buys the surplus Nvidia units anyway (extra
    capability, split over workloads by ``demand_share``). ``committed_h100e`` (D, W, Q): capability
    delivered under other purchase commitments (the AMD deal) that takes its share of each workload
    before Nvidia; what exceeds the workload's demand left after MTIA is extra capability
    (``committed_surplus_h100e``), not a negative Nvidia purchase.

    demand_h100e : (D, W, Q) [H100e per quarter]
    target_share : (D, W) [1]
    weights : (D, K, W, Q) [1] from :func:`newest_first_weights`
    mtia_factor : (D, K, W) [H100e per unit] (any positive value where not eligible)
    nvidia_factor : (D, W, Q) [H100e per unit] of the Nvidia generation bought in each quarter
    supply_cap_units, nvidia_min_units : (D, Q) [units per quarter]
    demand_share : (D, W) [1]

    Returns a dict of arrays: ``mtia_h100e`` (D, K, W, Q), ``mtia_units`` (D, K, Q),
    ``nvidia_h100e`` (D, W, Q), ``nvidia_units`` (D, Q).
    """
    mtia_h100e = demand_h100e[:, None] * target_share[:, None, :, None] * weights
    mtia_units = (mtia_h100e / mtia_factor[..., None]).sum(axis=2)
    total = mtia_units.sum(axis=1)
    scale = capped_ratio(supply_cap_units, total)
    mtia_h100e = mtia_h100e * scale[:, None, None, :]
    mtia_units = mtia_units * scale[:, None, :]

    mtia_w = mtia_h100e.sum(axis=1)
    left = demand_h100e - mtia_w
    if committed_h100e is None:
        committed_h100e = np.zeros(left.shape)
    surplus_committed = np.maximum(committed_h100e - left, 0.0)
    nvidia_h100e = np.maximum(left - committed_h100e, 0.0)
    nvidia_units = (nvidia_h100e / nvidia_factor).sum(axis=1)

    extra = np.maximum(nvidia_min_units - nvidia_units, 0.0)
    replaceable = (mtia_w / nvidia_factor).sum(axis=1)
    phi = np.where(extra > 0, capped_ratio(extra, replaceable), 0.0)
    nvidia_h100e = nvidia_h100e + phi[:, None, :] * mtia_w
    nvidia_units = nvidia_units + phi * replaceable
    mtia_h100e = mtia_h100e * (1.0 - phi)[:, None, None, :]
    mtia_units = mtia_units * (1.0 - phi)[:, None, :]

    surplus = np.maximum(extra - phi * replaceable, 0.0)
    per_unit = (demand_share[:, :, None] * nvidia_factor)  # H100e per surplus unit, by workload
    nvidia_h100e = nvidia_h100e + surplus[:, None, :] * per_unit
    nvidia_units = nvidia_units + surplus
    return {"mtia_h100e": mtia_h100e, "mtia_units": mtia_units,
            "nvidia_h100e": nvidia_h100e, "nvidia_units": nvidia_units,
            "nvidia_floor_units": surplus + phi * replaceable,
            "committed_surplus_h100e": surplus_committed}




def generation_mix(ramps, eligible):
    """Share of a vendor's purchases going to each of its generations in volume. [1]

    Newest-first weights (:func:`newest_first_weights`) normalised to sum to 1 in every
    workload and quarter, so several generations are bought at once while a new one ramps in
    and the older ones ramp out. Where no eligible generation has ramped at all (before the
    first volume quarter), the earliest eligible generation gets everything.

    ramps : (..., G, Q), generations ordered oldest to newest; eligible : (G, W) bool
    returns : (..., G, W, Q)

    >>> m = generation_mix(np.array([[1.0, 1.0], [0.0, 0.5]]), np.array([[True], [True]]))
    >>> m[:, 0, :]
    array([[1. , 0.5],
           [0. , 0.5]])
    """
    weights = newest_first_weights(ramps, eligible)
    total = weights.sum(axis=-3, keepdims=True)
    eligible = np.asarray(eligible, bool)
    first = np.zeros(eligible.shape)
    for w in range(eligible.shape[1]):
        ok = np.flatnonzero(eligible[:, w])
        if ok.size:
            first[ok[0], w] = 1.0
    fallback = np.broadcast_to(first[:, :, None], weights.shape[-3:])
    out = np.divide(weights, total, out=np.zeros(np.broadcast_shapes(weights.shape, total.shape)),
                    where=total > 0)
    return np.where(total > 0, out, fallback)


def deal_units(volume, measure, power_per_unit_w, system_cost_usd):
    """Units per quarter that a deal tranche's volume buys. [units per quarter]

    ``measure`` ``"units"``: the volume itself; ``"power"`` [MW per quarter]: IT power over the
    system power of one accelerator (``power_per_unit_w`` = TDP x system power overhead);
    ``"value"`` [USD per quarter]: spend over the system cost per accelerator.

    >>> deal_units(np.array([10.0]), "power", 2000.0, 60000.0)
    array([5000.])
    """
    volume = np.asarray(volume, float)
    if measure == "units":
        return volume
    if measure == "power":
        return volume * 1e6 / np.asarray(power_per_unit_w, float)
    if measure == "value":
        return volume / np.asarray(system_cost_usd, float)
    raise ValueError(f"deal measure must be units, power or value, not {measure!r}")


def rented_units(spend_usd, price_usd_per_hour, hours_per_quarter):
    """Accelerators rented on average over a quarter from the spend on them. [units]

    >>> float(rented_units(2191.5 * 2.0 * 100, 2.0, 2191.5))
    100.0
    """
    return np.asarray(spend_usd, float) / (np.asarray(price_usd_per_hour, float) * hours_per_quarter)
