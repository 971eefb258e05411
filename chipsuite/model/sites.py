"""Sites: facility capacity paths, what Meta owns, leases or holds through joint ventures, and
the construction spend that capacity implies.

Small pure functions on numpy arrays (``quarter`` last).
"""

import numpy as np

from .stockflow import lagged_level

__all__ = ["owned_capacity_mw", "construction_spend_mw", "capacity_from_position"]


# --------------------------------------------------------------------------- facilities


def owned_capacity_mw(capacity_mw, leasing_site, leased_share, base_quarter_index):
    """Facility capacity Meta builds itself (and pays facility capex for). [MW]

    At a leasing site, the share ``leased_share`` of the capacity added after quarter
    ``base_quarter_index`` (the level then counts as owned) is leased: built and financed by a
    developer or a joint venture and paid through lease costs rather than capex.

    capacity_mw : (..., S, Q) [MW]; leasing_site : (S,) bool; leased_share : [1], broadcastable to (..., S)
    returns : (..., S, Q) [MW]

    >>> owned_capacity_mw(np.array([[100.0, 100.0, 300.0], [50.0, 50.0, 90.0]]), np.array([True, False]), 0.5, 1)
    array([[100., 100., 200.],
           [ 50.,  50.,  90.]])
    """
    capacity_mw = np.asarray(capacity_mw, float)
    base = capacity_mw[..., int(base_quarter_index)][..., None]
    leased = np.maximum(capacity_mw - base, 0.0) * np.asarray(leased_share, float)[..., None]
    return capacity_mw - np.where(np.asarray(leasing_site, bool)[:, None], leased, 0.0)


def construction_spend_mw(capacity_mw, lead):
    """Capacity whose construction is paid in each quarter. [MW per quarter]

    Each addition to ``capacity_mw`` is paid evenly over the ``lead`` quarters before it comes
    online (a lead below one quarter pays it in the quarter ``lead`` before). The capacity of the
    first quarter exists already; additions after the last quarter are not known (held level),
    so spending tails off towards the end of the horizon.

    capacity_mw : (..., Q) [MW]; lead : [quarters], with the leading shape of ``capacity_mw``
    or broadcasting to it.

    >>> construction_spend_mw(np.array([0.0, 0.0, 0.0, 0.0, 40.0, 40.0]), 2.0)
    array([ 0.,  0., 20., 20.,  0.,  0.])
    """
    capacity_mw = np.asarray(capacity_mw, float)
    lead = np.asarray(lead, float)
    window = np.maximum(lead, 1.0)
    ahead = lagged_level(capacity_mw, -lead, before=np.nan)
    behind = lagged_level(capacity_mw, window - lead, before=np.nan)
    behind = np.where(np.isnan(behind), capacity_mw[..., :1], behind)
    return np.maximum(ahead - behind, 0.0) / window[..., None]



def capacity_from_position(low, base, high, position):
    """A path between the low, base and high milestone paths, picked by ``position`` in [0, 1]. [MW]

    0 = low, 0.5 = base, 1 = high, linear in between, so a sampled path stays a plausible
    build-out rather than independent noise per quarter. ``low``/``base``/``high`` : (S, Q);
    ``position`` : (D, S); returns (D, S, Q).

    >>> capacity_from_position(np.array([[0.0]]), np.array([[10.0]]), np.array([[30.0]]), np.array([[0.75]]))
    array([[[20.]]])
    """
    position = np.asarray(position, float)[..., None]
    lower = low + (base - low) * np.clip(2 * position, 0, 1)
    upper = base + (high - base) * np.clip(2 * position - 1, 0, 1)
    return np.where(position <= 0.5, lower, upper)
