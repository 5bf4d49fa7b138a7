"""The training engine: the task interface and its model_fn, the run
skeleton (runner), the training loop's pieces, optimisation, distribution,
the input pipeline and sequence packing. It knows tasks only through
`engine.task.Task`."""
