"""Quota Sentinel's shared package: providers, evaluation, state, notification and configuration."""
