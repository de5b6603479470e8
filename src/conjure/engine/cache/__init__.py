"""The output cache: task keys, the local content-addressed store, the remote cache."""
