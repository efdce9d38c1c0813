"""Regenerating the results: which models to train, training them (locally or on Slurm), running the notebooks.

`jobs`: the `ModelJob`s the notebooks of `utils.registry` need under a run's settings
(`utils.settings.RunSettings`). `grid`: local training in parallel processes. `slurm`: the same jobs on a Slurm cluster.
`notebooks`: papermill and the whole `figures` command. `site`: HTML exports and the index page.

Dependencies run one way, so any module imports alone: jobs <- grid <- slurm, grid <- notebooks -> site
(grid reaches slurm only from inside `train_grid`, when it is asked to launch there).
"""
