"""What each lever does in a scenario, kept apart by job as in EMA Workbench: what to run
(`design`: every lever of the catalog in `market/levers.py` at its low and high end, beside the
scenario as it is), how to run it (`runner`, on `experiments.executor`), what the runs say
(`analysis`: each lever's effect on six outcomes, and why a lever had none, from
`market/inert.py`), and where results go (`report`: CSV, Markdown, the tornado chart of
`plots`, and docs/levers.md). The command is `minerals levers`; docs/levers.md is the guide.
"""
