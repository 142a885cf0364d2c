"""DynamoDB helpers shared by the repositories: opaque cursors, typed transactions."""
