"""Honest errors: fixed-model validation (LOO, k-fold, splits, stratified accuracy) and nested CV of the search."""
from .fixed import cv_accuracy, mean_predictor_cv, model_cv, validate_classifiers, validate_models
from .folds import stratified_folds, test_sets
from .nested import nested_classification, nested_regression, outer_folds

__all__ = ["cv_accuracy", "mean_predictor_cv", "model_cv", "nested_classification", "nested_regression", "outer_folds",
           "stratified_folds", "test_sets", "validate_classifiers", "validate_models"]
