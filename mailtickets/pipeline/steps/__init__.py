"""One module per pipeline step; `mailtickets.pipeline.runner.STEPS` orders them."""
