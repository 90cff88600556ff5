"""Classification: categories, the ONNX model registry and runtime, training, review.

Where each job is: `runtime` predicts from an ONNX file (no database); `training` fits and exports a model
(scikit-learn, training installs only); `corpus` generates labelled texts; `registry` keeps the versions,
the worker's cached snapshot and promotion; `evaluation` holds out and measures; `calibration` fits the
temperature that makes a model's probabilities mean what they say; `memory` remembers reviewed documents
(as `vectors`) and suggests their category for a like one; `retraining` states the policy and runs
trainings; `service` classifies a document and records people's decisions; `queries` is the
review queue; `categories` their rules; `tasks` the queue's entry points. Pages: `views` (categories,
templates/classify), `model_views` (templates/models), `review_views` (templates/review).
"""
