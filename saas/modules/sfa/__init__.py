"""Sales force automation: leads and conversion, pipelines and deals, tasks, forecast."""
