"""Running the model beyond one browser tab, by job: `outputs` (one run's files), `executor`
(the one way to run many: local processes or Dask, with failure handling), `sweeps/`
(parameter sweeps and their analysis), `history/` (episodes, validation, calibration) and
`cli/` (the `minerals` command line, one module a command). Every run is played by
`market.play.play`.
"""
