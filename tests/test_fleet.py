"""Fleet: cadence, ramps, procurement split, stock-flow (hand-computed values)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from chipsuite.model import demand, sites, stockflow, supply


def test_release_quarter_cadence_and_accumulating_slip():
    got = supply.mtia_release_quarter(np.arange(4), first_release=15.0, cadence=2.0, slip=0.5)
    # 15 + k*2 + (k+1)*0.5
    assert_allclose(got, [15.5, 18.0, 20.5, 23.0])


def test_production_ramp():
    assert_allclose(supply.production_ramp(np.arange(14, 20), volume_start=16.0, ramp=3.0),
                    [0, 0, 1 / 3, 2 / 3, 1, 1])
    # fractional start: 0.5 quarter into the ramp at t = 16
    assert_allclose(supply.production_ramp(16, volume_start=16.5, ramp=1.0), 0.5)


def test_newest_first_weights_by_hand():
    ramps = np.array([[0.5, 1.0], [0.0, 0.5]])  # K=2 generations, Q=2 quarters
    eligible = np.array([[True, True], [True, False]])  # K x W: generation 1 only serves workload 0
    w = supply.newest_first_weights(ramps, eligible)
    assert w.shape == (2, 2, 2)
    # workload 0: q0 -> gen0 0.5*(1-0)=0.5, gen1 0; q1 -> gen0 1*(1-0.5)=0.5, gen1 0.5
    assert_allclose(w[:, 0, :], [[0.5, 0.5], [0.0, 0.5]])
    # workload 1: only gen0
    assert_allclose(w[:, 1, :], [[0.5, 1.0], [0.0, 0.0]])
    # availability = 1 - prod(1 - r)
    assert_allclose(w[:, 0, :].sum(0), [0.5, 1.0])


def test_spend_profile_sums_to_one():
    p = supply.spend_profile(np.arange(10), end=6.5, duration=4.0)
    assert_allclose(p, [0, 0, 0.125, 0.25, 0.25, 0.25, 0.125, 0, 0, 0])
    assert_allclose(p.sum(), 1.0)


def test_newest_generation_mask():
    m = supply.newest_generation_mask([-7, 4, 9, 9], 12)
    assert m.sum(0).tolist() == [1] * 12
    assert np.argmax(m, axis=0).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 3, 3, 3]  # tie -> later


def _lagged_level_by_definition(level, lag, before):
    """Reference: for each element, interpolate the padded series at t - lag (clipped), by hand."""
    level = np.atleast_2d(level)
    lag = np.broadcast_to(lag, level.shape[:1])
    n = level.shape[1]
    out = np.empty_like(level)
    for r in range(level.shape[0]):
        padded = np.concatenate([[before], level[r]])
        for t in range(n):
            pos = min(max(t - lag[r] + 1.0, 0.0), float(n))
            i0 = int(np.floor(pos))
            frac = pos - i0
            out[r, t] = padded[i0] * (1 - frac) + padded[min(i0 + 1, n)] * frac
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 12), st.data())
def test_lagged_level_matches_the_definition(rows, n, data):
    """The block-shift implementation equals the per-element definition for any finite lags."""
    level = np.array(data.draw(st.lists(st.floats(-1e6, 1e6), min_size=rows * n, max_size=rows * n))).reshape(rows, n)
    lag = np.array(data.draw(st.lists(st.floats(-n - 3, n + 3), min_size=rows, max_size=rows)))
    before = data.draw(st.sampled_from([0.0, 2.5]))
    got = stockflow.lagged_level(level, lag, before)
    assert_allclose(got, _lagged_level_by_definition(level, lag, before), rtol=1e-12, atol=1e-9)
    assert_allclose(stockflow.lagged_level(level, lag[0], before), _lagged_level_by_definition(level, lag[0], before),
                    rtol=1e-12, atol=1e-9)


def test_lagged_level_non_finite_lag_takes_the_gather_path():
    level = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    got = stockflow.lagged_level(level, np.array([1.0, np.inf]))
    assert_allclose(got[0], [0, 1, 2])
    assert_allclose(got[1], [0, 0, 0])  # an infinite lag: everything lies before the first quarter


def test_lagged_level():
    assert_allclose(stockflow.lagged_level(np.array([1.0, 2.0, 3.0]), 1.0), [0, 1, 2])
    assert_allclose(stockflow.lagged_level(np.array([1.0, 2.0, 3.0]), 0.5), [0.5, 1.5, 2.5])
    assert_allclose(stockflow.lagged_level(np.array([1.0, 2.0, 3.0]), -1.0), [2, 3, 3])  # lead, hold last
    # one lag per draw
    got = stockflow.lagged_level(np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([0.0, 1.0]))
    assert_allclose(got, [[1, 2], [0, 1]])


def test_stock_flow_by_hand():
    # 10 initial units bought over the 2 quarters before t=0 (5 at t=-2, 5 at t=-1); life 3 quarters
    delivered = np.array([4.0, 0.0, 0.0, 0.0, 0.0])
    installed, retired = stockflow.stock_flow(delivered, np.array(10.0), 2, 3.0)
    # retirements: t=1 (bought -2), t=2 (bought -1), t=3 (bought 0)
    assert_allclose(retired, [0, 5, 5, 4, 0])
    assert_allclose(installed, [14, 9, 4, 0, 0])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=3, max_size=20), st.floats(0, 1e6),
       st.integers(1, 8), st.floats(0.5, 30))
def test_stock_flow_conserves_units(flow, initial, k, life):
    delivered = np.array(flow)
    installed, retired = stockflow.stock_flow(delivered, np.array(initial), k, life)
    start = installed[0] - delivered[0] + retired[0]
    assert_allclose(installed, start + np.cumsum(delivered) - np.cumsum(retired), rtol=1e-9, atol=1e-3)
    assert (installed >= -1e-6).all() and (retired >= -1e-6).all()
    assert start <= initial * (1 + 1e-12) + 1e-9


def _split(**kw):
    d = dict(
        demand_h100e=np.array([[[100.0]], ]),  # D=1, W=1, Q=1
        target_share=np.array([[0.5]]),
        weights=np.array([[[[1.0]]]]),  # D, K=1, W, Q
        mtia_factor=np.array([[[2.0]]]),
        nvidia_factor=np.array([[[4.0]]]),
        supply_cap_units=np.array([[1000.0]]),
        nvidia_min_units=np.array([[0.0]]),
        demand_share=np.array([[1.0]]),
    )
    d.update(kw)
    return supply.split_purchases(**d)


def test_split_unconstrained():
    s = _split()
    assert_allclose(s["mtia_h100e"].sum(), 50)
    assert_allclose(s["mtia_units"].sum(), 25)  # 50 H100e / 2
    assert_allclose(s["nvidia_units"].sum(), 12.5)  # 50 H100e / 4


def test_split_supply_cap_binds():
    s = _split(supply_cap_units=np.array([[10.0]]))
    assert_allclose(s["mtia_units"].sum(), 10)
    assert_allclose(s["mtia_h100e"].sum(), 20)
    assert_allclose(s["nvidia_h100e"].sum(), 80)
    assert_allclose(s["nvidia_units"].sum(), 20)


def test_split_nvidia_minimum_displaces_mtia_then_adds_surplus():
    s = _split(nvidia_min_units=np.array([[15.0]]))
    # 2.5 extra Nvidia units replace 10 H100e of MTIA (5 units)
    assert_allclose(s["nvidia_units"].sum(), 15)
    assert_allclose(s["mtia_h100e"].sum(), 40)
    assert_allclose(s["mtia_units"].sum(), 20)
    s = _split(nvidia_min_units=np.array([[30.0]]))
    # all 50 H100e of MTIA replaced (12.5 units), then 5 surplus units (20 H100e extra)
    assert_allclose(s["mtia_units"].sum(), 0)
    assert_allclose(s["nvidia_units"].sum(), 30)
    assert_allclose(s["nvidia_h100e"].sum(), 120)


def test_safe_divide():
    assert_allclose(stockflow.safe_divide([1.0, 2.0], [0.0, 4.0]), [0.0, 0.5])


@pytest.mark.parametrize("slip", [0.0, 1.0])
def test_more_slip_never_more_availability(slip):
    t = np.arange(40)
    a = supply.production_ramp(t, supply.mtia_release_quarter(1, 15, 2, slip), 3)
    b = supply.production_ramp(t, supply.mtia_release_quarter(1, 15, 2, slip + 0.5), 3)
    assert (b <= a).all() and (b < a).any()


# ----------------------------------------------------------------------- facilities: leases and construction spend


def test_owned_capacity_by_hand():
    capacity = np.array([[100.0, 150.0, 350.0, 500.0],   # leasing site
                         [50.0, 50.0, 90.0, 90.0]])      # owned site
    got = sites.owned_capacity_mw(capacity, np.array([True, False]), 0.6, base_quarter_index=1)
    # leasing site: 150 + 0.4 x (350 - 150) = 230; 150 + 0.4 x 350 = 290; the owned site is unchanged
    assert_allclose(got, [[100, 150, 230, 290], [50, 50, 90, 90]])
    # per-draw shares: (D, S) broadcasting
    got = sites.owned_capacity_mw(capacity[None].repeat(2, 0), np.array([True, False]),
                                  np.array([[0.0], [1.0]]), 1)
    assert_allclose(got[0], capacity)
    assert_allclose(got[1, 0], [100, 150, 150, 150])


def test_construction_spend_by_hand():
    capacity = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 70.0, 70.0, 70.0])
    # +60 MW online in quarter 5, paid over the 3 quarters before it: 2, 3, 4
    assert_allclose(sites.construction_spend_mw(capacity, 3.0), [0, 0, 20, 20, 20, 0, 0, 0])
    # a lead of 0 pays in the quarter it comes online; 0.5 pays half a quarter earlier (interpolated)
    assert_allclose(sites.construction_spend_mw(capacity, 0.0), [0, 0, 0, 0, 0, 60, 0, 0])
    assert_allclose(sites.construction_spend_mw(capacity, 0.5), [0, 0, 0, 0, 30, 30, 0, 0])
    # a fractional lead of 1.5: 60/1.5 = 40 per quarter over the 1.5 quarters before quarter 5
    assert_allclose(sites.construction_spend_mw(capacity, 1.5), [0, 0, 0, 20, 40, 0, 0, 0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 500), min_size=3, max_size=12), st.floats(0, 6))
def test_construction_spend_conserves_the_additions(steps, lead):
    """Everything added after the first ceil(lead)+1 quarters is paid exactly once, never negatively."""
    k = int(np.ceil(lead)) + 1
    capacity = np.concatenate([np.full(k, 100.0), 100.0 + np.cumsum(steps), np.full(int(np.ceil(lead)) + 1, 0.0)])
    capacity[-(int(np.ceil(lead)) + 1):] = capacity[-(int(np.ceil(lead)) + 2)]  # held after the last addition
    spend = sites.construction_spend_mw(capacity, lead)
    assert (spend >= 0).all()
    assert_allclose(spend.sum(), capacity[-1] - capacity[0], rtol=1e-9, atol=1e-6)


def _geometric(total, r):
    """Hand formula: ``total`` split over four quarters growing by ``r``."""
    return total * r ** np.arange(4) / (1 + r + r**2 + r**3)


def test_within_year_profile_by_hand():
    # 15 then 240 (x16): each year has one neighbour, r = 16 ** (1/4) = 2; 15 / (1 + 2 + 4 + 8) = 1
    assert_allclose(demand.within_year_profile(np.array([15.0, 240.0])), [[1, 2, 4, 8], [16, 32, 64, 128]])
    # 4, 64, 128 (x16 then x2): MC gives the middle year sigma = min(2 ln 2, (ln 16 + ln 2) / 2) = 2 ln 2,
    # r = 2 ** (1/2), but then its Q4 (25.0) would exceed the last year's Q1 (24.2): the slope is the steepest
    # between minmod (r = 2 ** (1/4)) and MC that keeps the year end monotone, so Q4 of year 2 = Q1 of year 3
    mc = _geometric(64.0, 2 ** 0.5)[3], _geometric(128.0, 2 ** 0.25)[0]
    assert mc[0] > mc[1]  # the backstep that the limit avoids
    got = demand.within_year_profile(np.array([4.0, 64.0, 128.0]))
    assert_allclose(got[0], [4 / 15, 8 / 15, 16 / 15, 32 / 15])  # first year: x16 -> r = 2
    r = demand.within_year_growth_factor(np.array([4.0, 64.0, 128.0]))[1]
    assert 2 ** 0.25 < r < 2 ** 0.5
    assert_allclose(got[1], _geometric(64.0, r))
    assert_allclose(got[1][3], got[2][0], rtol=1e-9)  # flat across the year end: as steep as monotone allows
    # 10, 20, 80 (x2 then x4): the mean slope, (ln 2 + ln 4) / 2 = 1.5 ln 2 < 2 ln 2, r = 2 ** (3/8)
    assert_allclose(demand.within_year_profile(np.array([10.0, 20.0, 80.0]))[1], _geometric(20.0, 2 ** 0.375))
    assert_allclose(got[2], _geometric(128.0, 2 ** 0.25))  # last year: its one neighbour (x2)
    # peak year flat; falling year falls
    got = demand.within_year_profile(np.array([10.0, 20.0, 10.0]))
    assert_allclose(got[1], [5, 5, 5, 5])
    assert_allclose(got[0], _geometric(10.0, 2 ** 0.25))
    assert_allclose(got[2], _geometric(10.0, 0.5 ** 0.25))
    # zero years and a single year are flat
    assert_allclose(demand.within_year_profile(np.array([0.0, 8.0])), [[0, 0, 0, 0], [2, 2, 2, 2]])
    assert_allclose(demand.within_year_profile(np.array([8.0])), [[2, 2, 2, 2]])
    # leading (draw) axes are carried through
    two = demand.within_year_profile(np.array([[15.0, 240.0], [10.0, 20.0]]))
    assert_allclose(two[0], [[1, 2, 4, 8], [16, 32, 64, 128]])
    assert_allclose(two[1], [_geometric(10.0, 2 ** 0.25), _geometric(20.0, 2 ** 0.25)])


def test_within_year_profile_constant_growth_is_exactly_geometric():
    # 10 %/yr: every quarter-on-quarter ratio, across year ends too, is 1.1 ** (1/4)
    q = demand.within_year_profile(100.0 * 1.1 ** np.arange(5)).reshape(-1)
    assert_allclose(q[1:] / q[:-1], np.full(19, 1.1 ** 0.25), rtol=1e-12)


def test_within_year_profile_extreme_ratios_stay_finite():
    # growth of ~1e308 within a year: computed in logs, no overflow warning (warnings are errors)
    a = np.array([0.0, 2.2250738585072014e-308, 4.0, 1e300])
    q = demand.within_year_profile(a)
    assert np.isfinite(q).all() and (q >= 0).all()
    assert_allclose(q[2:].sum(axis=-1), a[2:], rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1e6)), min_size=1, max_size=10))
def test_within_year_profile_preserves_annual_sums(annual):
    q = demand.within_year_profile(np.array(annual))
    assert (q >= 0).all()
    assert_allclose(q.sum(axis=-1), annual, rtol=1e-12, atol=0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(1e-3, 1e6), min_size=1, max_size=10))
def test_within_year_profile_is_monotone_when_annual_demand_is(annual):
    grow = demand.within_year_profile(np.sort(annual)).reshape(-1)
    assert (np.diff(grow) >= -1e-12 * grow[1:]).all()
    fall = demand.within_year_profile(np.sort(annual)[::-1]).reshape(-1)
    assert (np.diff(fall) <= 1e-12 * fall[:-1]).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(1e-3, 1e6), min_size=2, max_size=10))
def test_within_year_profile_year_end_step_between_quarterly_and_annual_growth(annual):
    """The MC limiter's bounds: within-year growth at most twice either neighbour's quarterly rate and at most
    their mean; so the Q4 -> Q1 step of a monotone stretch is positive and at most the annual growth squared."""
    a = np.array(annual)
    r = demand.within_year_growth_factor(a)
    log_g = np.log(a[1:] / a[:-1])
    inner = np.abs(np.log(r[1:-1]))
    assert (inner <= 2 * np.abs(log_g[:-1]) / 4 + 1e-12).all() and (inner <= 2 * np.abs(log_g[1:]) / 4 + 1e-12).all()
    assert (inner <= np.abs(log_g[:-1] + log_g[1:]) / 8 + 1e-12).all()
    q = demand.within_year_profile(a)
    step = q[1:, 0] / q[:-1, 3]
    rising = np.diff(a) > 0
    assert (step[rising] > 0).all()
    assert (step[rising] <= (a[1:] / a[:-1])[rising] ** 2 * (1 + 1e-9)).all()


def test_doctests():
    import doctest

    for module in (demand, sites, stockflow, supply):
        assert doctest.testmod(module).failed == 0


# --------------------------------------------------------------------------- deliveries that wait for power


def test_survival_is_the_impulse_response_of_stock_flow():
    life = np.array([8.0, 10.5])
    flow = np.random.default_rng(1).uniform(0, 5, (2, 20))
    installed, _ = stockflow.stock_flow(flow, np.zeros(2), 1, life)
    s = stockflow.survival(life, 20)
    by_hand = np.array([[sum(flow[d, j] * s[d, q - j] for j in range(q + 1)) for q in range(20)] for d in range(2)])
    assert_allclose(installed, by_hand, rtol=1e-12, atol=1e-12)


def _limited(capacity, defer, h=None, life=4.0, nq=8):
    h = np.full((1, nq), 10.0) if h is None else h
    power = h * 0.1  # 0.1 MW per H100e
    surviving = stockflow.survival(np.array([life]), nq)
    scale, unmet = stockflow.power_limited_deliveries(h, power, surviving, np.zeros((1, nq)), capacity,
                                                      np.array([defer]))
    installed_power = np.array([[sum(scale[0, j] * power[0, j] * surviving[0, q - j] for j in range(q + 1))
                                 for q in range(nq)]])
    return scale, unmet, installed_power, h


def test_power_limited_deliveries_unbounded_capacity_changes_nothing():
    scale, unmet, _, _ = _limited(np.full((1, 8), np.inf), True)
    assert (scale == 1.0).all() and (unmet == 0.0).all()


@pytest.mark.parametrize("defer", [False, True])
def test_power_limited_deliveries_never_exceed_capacity_and_conserve_demand(defer):
    capacity = np.array([[0.5, 1.0, 1.0, 1.5, 4.0, 8.0, 8.0, 8.0]])
    scale, unmet, installed_power, h = _limited(capacity, defer)
    assert (installed_power <= capacity + 1e-12).all()
    got = scale * h
    carried = np.concatenate([[0.0], unmet[0, :-1]]) if defer else np.zeros(8)
    assert_allclose(got[0] + unmet[0], h[0] + carried)  # delivered + unmet = demand + backlog
    if defer:  # the backlog is bought once power arrives: in all, all demand but the last backlog
        assert_allclose(got.sum() + unmet[0, -1], h.sum())
        assert scale.max() > 1
    else:
        assert scale.max() <= 1
    # the first quarter: 0.5 MW free for 1 MW of demand
    assert scale[0, 0] == pytest.approx(0.5)


def test_power_limited_deliveries_keep_a_backlog_for_a_quarter_with_a_vanishing_mix():
    """Regression (issue 12): a backlog delivered at a subnormal quarter's mix scaled it past the float range
    (``inf`` scale, then ``inf * 0 = nan`` power). Such a quarter now leaves the backlog waiting."""
    h = np.array([[10.0, 1e-310, 10.0, 10.0]])
    power = np.array([[1.0, 1e-313, 1.0, 1.0]])
    surviving = stockflow.survival(np.array([8.0]), 4)
    capacity = np.array([[0.5, 2.5, 2.5, 2.5]])
    scale, unmet = stockflow.power_limited_deliveries(h, power, surviving, np.zeros((1, 4)), capacity,
                                                      np.array([True]))
    assert np.isfinite(scale).all() and np.isfinite(unmet).all()
    assert scale[0, 1] == 1.0  # its own vanishing demand fits
    assert unmet[0, 0] == pytest.approx(5.0) and unmet[0, 1] == pytest.approx(5.0)  # the backlog waited
    assert scale[0, 2] == pytest.approx(1.5) and unmet[0, 2] == pytest.approx(0.0)  # and went with the next mix


@settings(max_examples=60, deadline=None)
@given(h=st.lists(st.one_of(st.just(0.0), st.floats(0.0, 1e-300), st.floats(1e-9, 1e6)), min_size=6, max_size=6),
       per=st.floats(1e-6, 10.0), capacity=st.lists(st.floats(0.0, 1e6), min_size=6, max_size=6),
       defer=st.booleans())
@example(h=[10.0, 5e-324, 10.0, 0.0, 2e-310, 10.0], per=0.1, capacity=[0.5, 2.5, 2.5, 2.5, 2.5, 2.5], defer=True)
def test_property_power_limited_deliveries_finite_within_capacity_and_conserving(h, per, capacity, defer):
    """Any demand (zeros and subnormals included): finite results, installed power within capacity,
    delivered + unmet = demand + backlog carried in, no warning (warnings are errors in this suite)."""
    h = np.array([h])
    power = h * per
    nq = h.shape[1]
    surviving = stockflow.survival(np.array([4.0]), nq)
    cap = np.maximum.accumulate(np.array([capacity]), axis=1)
    scale, unmet = stockflow.power_limited_deliveries(h, power, surviving, np.zeros((1, nq)), cap, np.array([defer]))
    assert np.isfinite(scale).all() and np.isfinite(unmet).all() and (scale >= 0).all() and (unmet >= -1e-9).all()
    installed = np.array([sum(scale[0, j] * power[0, j] * surviving[0, q - j] for j in range(q + 1))
                          for q in range(nq)])
    assert (installed <= cap[0] * (1 + 1e-12) + 1e-9).all()
    carried = np.concatenate([[0.0], unmet[0, :-1]]) if defer else np.zeros(nq)
    assert_allclose(scale[0] * h[0] + unmet[0], h[0] + carried, rtol=1e-9, atol=1e-9)


def test_power_limited_deliveries_retirements_free_power():
    """With a one-quarter life the fleet turns over: each quarter the whole capacity is free again."""
    capacity = np.full((1, 6), 0.5)
    scale, unmet, installed_power, _ = _limited(capacity, False, life=1.0, nq=6)
    assert_allclose(scale, 0.5)
    assert_allclose(installed_power, 0.5)
