"""massage-estimator: price a massage-therapy session before the visit."""
