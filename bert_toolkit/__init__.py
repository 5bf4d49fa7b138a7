"""The toolkit's library, by floor (each imports only from the floors below
it, and from `modeling` and `tokenization`, which keep Google's names):

  errors, settings, class_weights, kinds, hardware
                    user errors, the plain settings of a run, the
                    loss-weighting rules, the table of task kinds and
                    what the CPU can do (no TF)
  runs/             what a run directory holds: run_info.json, atomic
                    writes, curves, progress lines
  data/             readers, tag schemes, encoding, windows, feature files,
                    pre-training data
  engine/           the run skeleton: task interface, runner, training,
                    optimization, distribution, input pipeline, packing
  tasks/            one module per task: classification, tagging (NER),
                    pre-training, distillation, feature extraction
  serving/          SavedModel export, the predictor, the REST server
  studio/           the web studio (never loads TensorFlow)
  cli/              the command lines: shared flags and one module per
                    script (the repository's root scripts call these)
"""
