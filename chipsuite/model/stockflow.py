"""Stock-flow: installed stock from deliveries and a service life, and the array helpers it uses.

Small pure functions on numpy arrays; leading axes (``draw`` first) are carried through, the
``quarter`` axis is always last. Quarters are counted by an index ``t = 0, 1, ...`` from the
first model quarter (2022Q1); a quarter ``t`` covers ``[t, t + 1)``.

>>> lagged_level(np.array([1.0, 2.0, 3.0]), 1.0)
array([0., 1., 2.])
"""

import numexpr
import numpy as np

from ..expr import NUMEXPR_OPTIONS

__all__ = ["year_end_timing", "safe_divide", "capped_ratio", "lagged_level", "stock_flow", "survival", "power_limited_deliveries",
           "shifted", "payment_profile"]


def safe_divide(numerator, denominator):
    """``numerator / denominator``, 0 where ``denominator`` is 0 (no warning). [same units]"""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.zeros(numerator.shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def capped_ratio(numerator, denominator):
    """``min(numerator / denominator, 1)`` for non-negative inputs; 1 where ``denominator`` is 0. [1]

    Divides only where the ratio is below 1, so tiny denominators never overflow.

    >>> capped_ratio(np.array([1.0, 3.0, 0.0]), np.array([2.0, 1.0, 0.0]))
    array([0.5, 1. , 1. ])
    """
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.ones(numerator.shape)
    np.divide(numerator, denominator, out=out, where=numerator < denominator)
    return out


def lagged_level(level, lag, before=0.0):
    """``level`` at ``t - lag`` along the last axis, linearly interpolated. [same units]

    ``lag`` (quarters, may be fractional or negative) has the leading shape of ``level`` or
    broadcasts to it. Before the first quarter the value is ``before`` (at ``t = -1``, linear in
    between); after the last quarter the last value is held.

    >>> lagged_level(np.array([1.0, 2.0, 3.0]), 1.0)
    array([0., 1., 2.])
    >>> lagged_level(np.array([1.0, 2.0, 3.0]), 0.5)
    array([0.5, 1.5, 2.5])
    >>> lagged_level(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]), np.array([-1.0, 5.0]))
    array([[2., 3., 3.],
           [0., 0., 0.]])
    """
    level = np.asarray(level, float)
    n = level.shape[-1]
    lead = level.shape[:-1]
    lag = np.broadcast_to(np.asarray(lag, float).reshape(np.shape(lag) + (1,) * (len(lead) - np.ndim(lag))),
                          lead)
    # the lag is constant along the last axis: row r is the padded level shifted by the whole part
    # of 1 - lag, blended with its neighbour by the fractional part; each row's window is picked
    # as one contiguous block (no per-element gather)
    shift = 1.0 - lag
    whole = np.floor(shift)
    if not np.isfinite(whole).all():
        return _lagged_level_gather(level, lag, before)
    frac = (shift - whole).reshape(-1, 1)
    whole = whole.astype(np.intp).reshape(-1)
    rows = level.reshape(-1, n)
    left, right = max(0, -int(whole.min())), max(0, int(whole.max()))
    # extended[:, left + i] = before for i <= 0, level[:, i - 1] for 1 <= i <= n, level[:, n - 1] after
    extended = np.concatenate([np.full((rows.shape[0], left + 1), before, dtype=float), rows,
                               np.repeat(rows[:, -1:], right, axis=1)], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(extended, n + 1, axis=1)  # (rows, positions, n + 1)
    picked = windows[np.arange(rows.shape[0]), left + whole]  # row r: extended[r, left + k_r + (0..n)]
    out = numexpr.evaluate("a * (1.0 - f) + b * f", local_dict={"a": picked[:, :-1], "b": picked[:, 1:], "f": frac},
                           global_dict={}, **NUMEXPR_OPTIONS)
    return out.reshape(level.shape)


#: above this many distinct whole-quarter lags, :func:`lagged_level` gathers element by element
_MAX_SHIFT_GROUPS = 64


def _lagged_level_gather(level, lag, before):
    """:func:`lagged_level` by a per-element gather (any lags, incl. non-finite ones)."""
    n = level.shape[-1]
    lead = level.shape[:-1]
    padded = np.concatenate([np.full(lead + (1,), before, dtype=float), level], axis=-1)
    pos = np.clip(np.arange(n, dtype=float) - lag[..., None] + 1.0, 0.0, float(n))
    i0 = np.floor(pos).astype(np.intp)
    frac = pos - i0
    i1 = np.minimum(i0 + 1, n)
    return (np.take_along_axis(padded, i0, axis=-1) * (1.0 - frac)
            + np.take_along_axis(padded, i1, axis=-1) * frac)


def stock_flow(delivered, initial, initial_quarters, life):
    """Installed stock and retirements from deliveries and a fixed service life.

    ``initial`` units installed at the start were bought evenly over the ``initial_quarters``
    quarters before it (an integer >= 1); every unit retires ``life`` quarters after delivery
    (fractional lives retire proportionally). Installed = initial + cumulative delivered -
    cumulative retired holds exactly.

    delivered : (..., Q) [units per quarter]; initial : (...) [units]; life : broadcastable to (...) [quarters]
    returns : installed (..., Q) [units], retired (..., Q) [units per quarter]
    """
    delivered = np.asarray(delivered, float)
    lead = delivered.shape[:-1]
    k = int(initial_quarters)
    pre = np.broadcast_to(np.asarray(initial, float)[..., None] / k, lead + (k,))
    flow = np.concatenate([pre, delivered], axis=-1)
    cumulative = np.cumsum(flow, axis=-1)
    retired_cumulative = lagged_level(cumulative, life)
    installed = (cumulative - retired_cumulative)[..., k:]
    retired = np.diff(retired_cumulative, axis=-1)[..., k - 1:]
    return installed, retired



def survival(life, nq):
    """Share of a delivery still installed ``age`` quarters later, ``age = 0 .. nq - 1``. [1]

    The impulse response of :func:`stock_flow` (fractional lives retire proportionally), so a stock
    built from it equals :func:`stock_flow`'s. ``life`` : (D,) [quarters]; returns (D, nq).

    >>> survival(np.array([2.0, 1.5]), 4)
    array([[1. , 1. , 0. , 0. ],
           [1. , 0.5, 0. , 0. ]])
    """
    impulse = np.zeros((np.size(life), nq))
    impulse[:, 0] = 1.0
    return stock_flow(impulse, np.zeros(np.size(life)), 1, np.asarray(life, float).reshape(-1))[0]


#: smallest demand of a quarter [H100e] whose mix can carry a backlog in :func:`power_limited_deliveries`
#: (a millionth of an accelerator: below it the quarter has no mix to speak of)
MIN_MIX_H100E = 1e-6


def power_limited_deliveries(h100e, power_mw, surviving, initial_power_mw, capacity_mw, defer):
    """Deliveries that wait for power: the scale of each quarter's deliveries so that the installed fleet's
    IT power never exceeds the IT capacity, and the demand left unmet. [1], [H100e]

    Quarter by quarter (``t = 0, 1, ...``): the power free for new deliveries is the capacity less the
    power of what is still installed (the initial fleet and earlier deliveries, retiring by
    ``surviving``). The quarter's demand, plus what was deferred before when ``defer``, is delivered
    up to that power, at the quarter's own mix (``power_mw / h100e`` MW per H100e); the rest is unmet:
    carried to the next quarter where ``defer``, dropped (to be rented) where not. Where the capacity
    is infinite every scale is exactly 1 and nothing is unmet. A quarter demanding less than
    :data:`MIN_MIX_H100E` has no mix to deliver a backlog with: the backlog waits for the next quarter
    (its own demand is delivered as far as power allows).

    h100e, power_mw : (D, Q) deliveries demanded [H100e per quarter] and their IT power [MW];
    surviving : (D, Q) :func:`survival`; initial_power_mw, capacity_mw : (D, Q) [MW]; defer : (D,) bool.
    Returns ``scale`` (D, Q) (above 1 where a backlog is delivered) and ``unmet`` (D, Q) [H100e], the
    demand (incl. backlog) not delivered in the quarter. Deliveries + unmet = demand + backlog carried in.

    >>> scale, unmet = power_limited_deliveries(np.array([[10.0, 10.0, 0.0]]), np.array([[1.0, 1.0, 0.0]]),
    ...     np.ones((1, 3)), np.zeros((1, 3)), np.array([[0.5, 2.5, 2.5]]), np.array([True]))
    >>> scale, unmet
    (array([[0.5, 1.5, 1. ]]), array([[5., 0., 0.]]))
    """
    h100e, power_mw = np.asarray(h100e, float), np.asarray(power_mw, float)
    nd, nq = h100e.shape
    defer = np.asarray(defer, bool)
    committed = np.array(initial_power_mw, float, copy=True)  # power of the fleet installed so far, by quarter
    scale = np.ones((nd, nq))
    unmet = np.zeros((nd, nq))
    backlog = np.zeros(nd)
    for q in range(nq):
        h, p = h100e[:, q], power_mw[:, q]
        free = np.maximum(capacity_mw[:, q] - committed[:, q], 0.0)
        # a backlog needs a mix to be delivered with: a quarter demanding less than MIN_MIX_H100E has none
        # (a backlog delivered at a vanishing mix would scale it past the float range); the backlog waits
        mix = h >= MIN_MIX_H100E
        want = h + np.where(mix, backlog, 0.0)
        per_h100e = safe_divide(np.where(mix, p, 0.0), np.where(mix, h, 1.0))  # MW per H100e of the mix
        can = np.full(nd, np.inf)
        with np.errstate(over="ignore"):  # a vanishing power per H100e: no limit (inf), as intended
            np.divide(free, per_h100e, out=can, where=per_h100e > 0)
        got = np.where(mix, np.minimum(want, can), 0.0)
        scale[:, q] = np.where(mix, got / np.where(mix, h, 1.0), 1.0)
        # no mix: the quarter's own (vanishing) demand, as far as power allows (never above 1: no overflow)
        tiny = ~mix & (h > 0)
        scale[tiny, q] = capped_ratio(free[tiny], p[tiny])
        got = np.where(tiny, scale[:, q] * h, got)
        unmet[:, q] = want + np.where(mix, 0.0, backlog) - np.where(mix | tiny, got, 0.0)
        backlog = np.where(defer, unmet[:, q], 0.0)
        committed[:, q:] += (scale[:, q] * p)[:, None] * surviving[:, :nq - q]
    return scale, unmet


def shifted(level, quarters):
    """``level`` moved ``quarters`` (an integer) along the last axis, zero-filled. [same units]

    ``quarters > 0`` delays (``out[t] = level[t - quarters]``), ``quarters < 0`` brings forward
    (``out[t] = level[t + |quarters|]``, so amounts beyond the horizon are not seen).

    >>> shifted(np.array([1.0, 2.0, 3.0]), 1)
    array([0., 1., 2.])
    >>> shifted(np.array([1.0, 2.0, 3.0]), -1)
    array([2., 3., 0.])
    """
    level = np.asarray(level, float)
    k = int(quarters)
    out = np.zeros(level.shape)
    if k == 0:
        out[...] = level
    elif k > 0:
        out[..., k:] = level[..., :-k]
    else:
        out[..., :k] = level[..., -k:]
    return out


def payment_profile(amount, share_before, share_after):
    """Cash paid per quarter for amounts delivered per quarter (order-to-cash). [same units]

    A delivery in quarter ``t`` is paid ``share_before`` one quarter earlier (deposits and
    prepayments), ``share_after`` one quarter later (payment terms) and the rest in ``t``::

        paid(t) = share_before * amount(t + 1) + (1 - share_before - share_after) * amount(t)
                  + share_after * amount(t - 1)

    ``share_*`` : [1], broadcastable to the leading shape of ``amount`` (e.g. per draw).
    Conserves the total except for what falls beyond the horizon's ends.

    >>> payment_profile(np.array([0.0, 10.0, 0.0, 0.0]), 0.2, 0.3)
    array([2., 5., 3., 0.])
    """
    amount = np.asarray(amount, float)
    before = np.asarray(share_before, float)[..., None]
    after = np.asarray(share_after, float)[..., None]
    return before * shifted(amount, -1) + (1.0 - before - after) * amount + after * shifted(amount, 1)


def year_end_timing(amount, share, first_quarter):
    """Cash moved by year-end payments: out of each first quarter, into the quarter before. [same units]

    A share ``share`` of what would be paid in a year's first quarter (``first_quarter`` = 1) is
    paid in the previous quarter (the year end) instead::

        timing(t) = share * first_quarter(t + 1) * amount(t + 1) - share * first_quarter(t) * amount(t)

    Adding ``timing`` to ``amount`` keeps each year-end pair's total; over the horizon the sum is
    ``-share * amount`` of its first quarter when that is a first quarter (paid before the horizon).
    ``amount`` : (..., Q); ``share`` : [1], broadcastable to the leading shape (e.g. per draw);
    ``first_quarter`` : (Q,) [1] 0 or 1. Returns (..., Q).

    >>> year_end_timing(np.array([10.0, 20.0, 30.0, 40.0, 50.0]), 0.1, np.array([0.0, 0.0, 0.0, 1.0, 0.0]))
    array([ 0.,  0.,  4., -4.,  0.])
    """
    moved = np.asarray(share, float)[..., None] * np.asarray(first_quarter, float) * np.asarray(amount, float)
    return shifted(moved, -1) - moved


def clip_round_off(stock, rtol=1e-9):
    """``stock`` with round-off below zero set to 0. [same units]

    Stocks from cumulative sums (installed = cumulative delivered - cumulative retired) can end
    a hair below zero where they should be empty. Values in ``[-rtol * scale, 0)`` (``scale``: the
    largest absolute value along the last axis) become 0; anything more negative is left as it is,
    so a real error stays visible.

    >>> clip_round_off(np.array([10.0, -1e-12, -1.0]))
    array([10.,  0., -1.])
    """
    stock = np.asarray(stock, float)
    scale = np.max(np.abs(stock), axis=-1, keepdims=True) if stock.size else 0.0
    return np.where((stock < 0) & (stock >= -rtol * scale), 0.0, stock)
