"""Tests of scan history: store, diffs, suppressions and alerts."""
