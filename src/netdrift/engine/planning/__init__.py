"""Capacity planning: what to upgrade, and by when, so that no failure of a set overloads the network.

1. **Forecast** (:mod:`netdrift.engine.planning.growth`): per-origin growth (a stated rate per
   year, or a robust trend fitted per origin) times each pair's weekly profile of the last weeks;
   with an interval level, the forecast's upper bound.
2. **Worst case**: the demands of the horizon's last week (the busiest: growth is never negative)
   are swept by :func:`netdrift.engine.sweep.sweep` over every failure of the set
   (none, link, node, srlg, link-pairs), every step of that week, plus the no-failure state.
3. **Upgrades** (:mod:`netdrift.engine.planning.upgrade`): capacity does not change IGP routing
   (weights stay), so each link's worst load is fixed by the forecast and the failure set; each
   link whose worst load exceeds U x capacity gets the cheapest set of parallel modules that
   brings it to U or below. Exact per link, hence the cheapest plan under the cost rule, and no
   module can be removed (every module costs more than 0).
4. **When** (:mod:`netdrift.engine.planning.needs`): for each upgrade, the first step of the
   horizon at which the forecast, under a failure state that overloads the link, crosses U on
   the link's current capacity.

Demand that a failure cuts off (no path left) is reported, never "fixed" by capacity.
docs/planning.md is the user's guide.
"""

from netdrift.engine.planning.growth import DemandForecast, fit_forecast, parse_growth
from netdrift.engine.planning.plan import SURVIVE, PlanResult, plan
from netdrift.engine.planning.upgrade import cheapest_modules, parse_costs, parse_modules

__all__ = ["SURVIVE", "DemandForecast", "PlanResult", "cheapest_modules", "fit_forecast", "parse_costs",
           "parse_growth", "parse_modules", "plan"]
