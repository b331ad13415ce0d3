"""The demand model: applicants on the rig clock for a municipality or the nation (docs/demand.md).

`params` (YAML files and their checks), `grid` (the fiscal year in 5-minute bins, weights and
open masks), `model` (per-applicant simpy and aggregated evaluators), `figures` (peak and
99th-percentile hours), `costs` (fees, commission, burden, construction, break-even),
`nation` (the tiers pooled), `whatif` (an outage on one day), `uses` (soak arrivals, a day's
trace for load, settlement totals), `report` (plots, page, summary.json), `cli` (`rig demand`).
"""
