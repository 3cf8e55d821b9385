"""Synthetic stored results, one module per experiment (named as its folder), for tests in any folder to import:
`from synthetic.eager_vs_graph import evg_runs`. Each writes jobs as that experiment's measure.py stores them, with
values chosen by the test (seeded where they scatter), so report and claim logic is tested on data we control."""
