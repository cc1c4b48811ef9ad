"""Parameter sweeps, kept apart by job as in EMA Workbench: what to run (`spec`, `designs`),
how to run it (`driver`, on `experiments.executor`), where results go (`store`), and what they
say (`analysis`, `plots`). docs/sweeps.md is the user's guide.
"""
