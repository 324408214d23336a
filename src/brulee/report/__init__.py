"""Report renderers: one module per format, all rendering the same typed Report."""
