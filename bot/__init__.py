"""The edge and the composition root: web app, adapter, activity handler, identity, CLI."""
